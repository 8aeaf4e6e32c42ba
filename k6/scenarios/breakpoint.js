// Breakpoint: raise the arrival rate until the system breaks. abortOnFail thresholds stop the
// run at the first sustained breach (after a 10 s grace), so the rate reached is the capacity.
//
//   -e START_RATE=10 -e MAX_RATE=1000 -e DURATION=20m (iterations/s, linear ramp)
//   -e PRE_VUS=20 -e MAX_VUS=1000 -e P99_MS=1000 -e MAX_ERROR_RATE=0.01
// Not for shared or production clusters without a plan: it is meant to overload.

import { duration, rate } from '../lib/config.js';
import { shop } from '../lib/journeys.js';
import { baseOptions } from '../lib/options.js';
import { openSession } from '../lib/session.js';
import { summaryWriter } from '../lib/summary.js';
import { breakpointThresholds } from '../lib/thresholds.js';

export const options = baseOptions({
  scenarios: {
    shoppers: {
      executor: 'ramping-arrival-rate',
      exec: 'shopper',
      startRate: rate('START_RATE', 10),
      timeUnit: '1s',
      preAllocatedVUs: rate('PRE_VUS', 20),
      maxVUs: rate('MAX_VUS', 1000),
      stages: [{ duration: duration('DURATION', '20m'), target: rate('MAX_RATE', 1000) }],
    },
  },
  thresholds: breakpointThresholds({ errorRate: 0.01, p99: 1000 }),
});

export function setup() {
  return openSession();
}

// No think time: the executor sets the pace.
export function shopper(session) {
  shop(session);
}

export const handleSummary = summaryWriter('breakpoint');
