// Zero downtime through the stable ports: a constant arrival rate of catalog reads and order
// placements while the test deploys, promotes and rolls back every service.
// Self-contained (no remote jslib): -e ORDERS_URL -e AUTH_URL -e USERNAME -e PASSWORD
// -e RATE (iterations/s) -e DURATION -e NO_CONNECTION_REUSE=true|false -e SUMMARY=<file.json>
// -e ORDER_EVERY=4: one iteration in 4 places an order, the others read the catalog (shoppers
// browse more than they buy; an order costs a payment and a notification behind it).
import { check } from 'k6';
import exec from 'k6/execution';
import { browse, order, signIn } from '../support/k6/shopper.js';

const RATE = Number(__ENV.RATE || 100);
const ORDER_EVERY = Number(__ENV.ORDER_EVERY || 4);

export const options = {
  noConnectionReuse: __ENV.NO_CONNECTION_REUSE === 'true',
  scenarios: {
    shoppers: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: __ENV.DURATION || '40s',
      // Enough VUs up front to ride out a few seconds of latency (a deploy's CPU spike):
      // initializing VUs mid-test is what drops iterations, not the platform.
      preAllocatedVUs: Math.max(100, RATE * 3),
      maxVUs: Math.max(300, RATE * 10),
    },
  },
  thresholds: {
    http_req_failed: ['rate==0'],
    dropped_iterations: ['count==0'],
    checks: ['rate==1'],
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

export const setup = signIn;

export default function (shopper) {
  const n = exec.scenario.iterationInTest;
  if (n % ORDER_EVERY !== ORDER_EVERY - 1) {
    check(browse(), { 'catalog 200': (r) => r.status === 200 });
    return;
  }
  check(order(shopper, `zd-${__ENV.RUN_ID}-${n}`), { 'order 201': (r) => r.status === 201 });
}

export function handleSummary(data) {
  const m = data.metrics;
  const line = [
    `requests=${m.http_reqs.values.count}`,
    `failed=${m.http_req_failed.values.passes}`,
    `dropped=${m.dropped_iterations ? m.dropped_iterations.values.count : 0}`,
    `p95=${m.http_req_duration.values['p(95)'].toFixed(1)}ms`,
    `p99=${m.http_req_duration.values['p(99)'].toFixed(1)}ms`,
  ].join(' ');
  return { stdout: `k6 summary: ${line}\n`, [__ENV.SUMMARY]: JSON.stringify(data, null, 1) };
}
