// Thresholds shared by the scenarios. A crossed threshold makes `k6 run` exit with 99.

import { envNumber } from './config.js';
import { ROUTES } from './api.js';

// Per-route latency lines; `max>=0` never fails, it only makes k6 keep the route's
// sub-metric so the summary can show it.
export function perRoute() {
  const lines = {};
  for (const route of Object.values(ROUTES)) {
    lines[`http_req_duration{name:${route}}`] = ['max>=0'];
  }
  return lines;
}

// Load shapes: a small error budget and latency bounds, each overridable.
export function loadThresholds({ errorRate = 0.01, p95 = 300, p99 = 800 } = {}) {
  return {
    ...perRoute(),
    http_req_failed: [`rate<${envNumber('MAX_ERROR_RATE', errorRate)}`],
    http_req_duration: [`p(95)<${envNumber('P95_MS', p95)}`, `p(99)<${envNumber('P99_MS', p99)}`],
    checks: [`rate>${envNumber('MIN_CHECK_RATE', 0.99)}`],
  };
}

// Zero downtime: not one failed request, dropped iteration or failed check.
export function zeroDowntimeThresholds({ p99 = 500 } = {}) {
  return {
    ...perRoute(),
    http_req_failed: ['rate==0'],
    dropped_iterations: ['count==0'],
    checks: ['rate==1'],
    http_req_duration: [`p(99)<${envNumber('P99_MS', p99)}`],
  };
}

// Breakpoint: stop the ramp as soon as the system breaks; the rate reached is the answer.
export function breakpointThresholds({ errorRate = 0.01, p99 = 1000 } = {}) {
  const abort = { abortOnFail: true, delayAbortEval: '10s' };
  return {
    ...perRoute(),
    http_req_failed: [{ threshold: `rate<${envNumber('MAX_ERROR_RATE', errorRate)}`, ...abort }],
    http_req_duration: [{ threshold: `p(99)<${envNumber('P99_MS', p99)}`, ...abort }],
  };
}
