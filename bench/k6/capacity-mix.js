// The platform's traffic mix at a constant arrival rate, for measuring CPU per request.
// Each iteration is one `shop` step of k6/lib/journeys.js (browse 3 : order 2, every 5th order
// retried with its Idempotency-Key, every 20th declined), plus sign-ins at their own low rate.
//
//   -e RATE=30 -e DURATION=40s -e PASSWORD=... -e ORDERS_URL=... -e AUTH_URL=...
//   -e SUMMARY_FILE=out.json

import { shop } from '../../k6/lib/journeys.js';
import { TREND_STATS, signInScenario } from '../../k6/lib/options.js';
import { openSession } from '../../k6/lib/session.js';

const RATE = Number(__ENV.RATE || 30);
const DURATION = __ENV.DURATION || '40s';

export const options = {
  scenarios: {
    mix: {
      executor: 'constant-arrival-rate',
      exec: 'mix',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: Math.min(RATE, 50),
      maxVUs: Number(__ENV.MAX_VUS || 200),
    },
    signIn: signInScenario(DURATION),
  },
  // Sub-metrics of the mix only (setup's login left out).
  thresholds: {
    'http_reqs{scenario:mix}': ['count>=0'],
    'http_req_duration{scenario:mix}': ['max>=0'],
    'http_req_failed{scenario:mix}': ['rate<0.01'],
    checks: ['rate>0.99'],
  },
  summaryTrendStats: TREND_STATS,
  setupTimeout: '30s',
};

export function setup() {
  return openSession();
}

export function mix(shared) {
  shop(shared);
}

export { signIn } from '../../k6/lib/journeys.js';

export function handleSummary(data) {
  return { [__ENV.SUMMARY_FILE]: JSON.stringify(data) };
}
