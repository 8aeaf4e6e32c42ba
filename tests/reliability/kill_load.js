// Load while instances are killed: a constant arrival rate of catalog reads and order
// placements through the proxy's stable orders port. Self-contained (no remote imports).
// -e ORDERS_URL -e AUTH_URL -e USERNAME -e PASSWORD -e RATE -e DURATION -e RUN_ID -e SUMMARY
// Every failed request is logged with its time, so the test can place failures around a kill.
import exec from 'k6/execution';
import { browse, order, signIn } from '../support/k6/shopper.js';

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

export const setup = signIn;

function report(res, name) {
  if (res.status < 200 || res.status >= 300) {
    console.log(JSON.stringify({ failed_at_ms: Date.now(), status: res.status, name }));
  }
}

export default function (shopper) {
  const n = exec.scenario.iterationInTest;
  if (n % 2 === 0) {
    report(browse(), 'catalog');
    return;
  }
  report(order(shopper, `kill-${__ENV.RUN_ID}-${n}`), 'order');
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY]: JSON.stringify(data) };
}
