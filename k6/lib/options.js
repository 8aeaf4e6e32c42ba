// Options every scenario shares, and the sign-in side scenario.

import { envBool, rate } from './config.js';

export const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];

export function baseOptions({ scenarios, thresholds, noConnectionReuse = false }) {
  return {
    scenarios,
    thresholds,
    // A fresh TCP connection per request: proves new connections land on a ready backend
    // while the live color switches, not just the kept-alive ones.
    noConnectionReuse: envBool('NO_CONNECTION_REUSE', noConnectionReuse),
    summaryTrendStats: TREND_STATS,
    setupTimeout: '30s',
  };
}

// One open-loop scenario at a constant arrival rate (per second): new requests start on time
// however slowly the earlier ones are answered, so a slow server cannot slow the load down.
export function constantArrival(perSecond, { duration = __ENV.DURATION || '10s', maxVUs = 200 } = {}) {
  return {
    executor: 'constant-arrival-rate',
    rate: perSecond,
    timeUnit: '1s',
    duration,
    preAllocatedVUs: Math.min(perSecond, 50),
    maxVUs,
  };
}

// Sign-ins run beside the shopping at their own low rate (LOGINS_PER_MINUTE, default 6), as in
// real traffic; auth throttles password grants per client, and this stays under its limit.
export function signInScenario(duration) {
  return {
    executor: 'constant-arrival-rate',
    exec: 'signIn',
    rate: rate('LOGINS_PER_MINUTE', 6),
    timeUnit: '1m',
    duration,
    preAllocatedVUs: 1,
    maxVUs: 2,
  };
}
