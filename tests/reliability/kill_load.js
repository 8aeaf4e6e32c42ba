// Load while instances are killed: a constant arrival rate of catalog reads and order
// placements through the proxy's stable orders port. Self-contained (no remote imports).
// -e ORDERS_URL -e AUTH_URL -e USERNAME -e PASSWORD -e RATE -e DURATION -e RUN_ID -e SUMMARY
// Every failed request is logged with its time, so the test can place failures around a kill.
import http from 'k6/http';
import { fail } from 'k6';
import exec from 'k6/execution';

const ORDERS = __ENV.ORDERS_URL;
const RATE = Number(__ENV.RATE || 40);

export const options = {
  scenarios: {
    shoppers: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: __ENV.DURATION || '15s',
      preAllocatedVUs: Math.max(10, RATE),
      // Room for slow answers on a loaded machine: RATE x 6 s in flight before dropping.
      maxVUs: Math.max(100, RATE * 6),
    },
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

export function setup() {
  const login = http.post(`${__ENV.AUTH_URL}/v1/token`, {
    grant_type: 'password',
    username: __ENV.USERNAME,
    password: __ENV.PASSWORD,
  });
  if (login.status !== 200) fail(`login failed: ${login.status}`);
  const catalog = http.get(`${ORDERS}/v1/catalog`);
  if (catalog.status !== 200) fail(`catalog failed: ${catalog.status}`);
  return { token: login.json('access_token'), sku: catalog.json('items')[0].sku };
}

function report(res, name) {
  if (res.status < 200 || res.status >= 300) {
    console.log(JSON.stringify({ failed_at_ms: Date.now(), status: res.status, name }));
  }
}

export default function (data) {
  const n = exec.scenario.iterationInTest;
  if (n % 2 === 0) {
    report(http.get(`${ORDERS}/v1/catalog`, { tags: { name: 'catalog' } }), 'catalog');
    return;
  }
  const res = http.post(
    `${ORDERS}/v1/orders`,
    JSON.stringify({ items: [{ sku: data.sku, quantity: 1 }], card_token: 'tok_visa' }),
    {
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${data.token}`,
        'Idempotency-Key': `kill-${__ENV.RUN_ID}-${n}`,
      },
      tags: { name: 'order' },
    },
  );
  report(res, 'order');
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY]: JSON.stringify(data) };
}
