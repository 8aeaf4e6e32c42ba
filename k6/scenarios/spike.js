// Spike: a sudden surge with no plateau, then gone. Does it survive and recover?
//
//   -e VUS=400 -e RAMP_UP=2m -e HOLD=0s -e RAMP_DOWN=1m -e THINK_TIME=1
//   -e P95_MS=1000 -e P99_MS=3000 -e MAX_ERROR_RATE=0.05
//   TIME_SCALE multiplies every duration, LOAD_SCALE every user count.

import { baseOptions, signInScenario } from '../lib/options.js';
import { rampingUsers } from '../lib/shapes.js';
import { summaryWriter } from '../lib/summary.js';
import { loadThresholds } from '../lib/thresholds.js';

const SHAPE = rampingUsers({ vus: 400, rampUp: '2m', hold: '0s', rampDown: '1m' });

export const options = baseOptions({
  scenarios: { shoppers: SHAPE.scenario, signIns: signInScenario(SHAPE.total) },
  thresholds: loadThresholds({ errorRate: 0.05, p95: 1000, p99: 3000 }),
});

export { setup, shopper, signIn } from '../lib/entrypoints.js';

export const handleSummary = summaryWriter('spike');
