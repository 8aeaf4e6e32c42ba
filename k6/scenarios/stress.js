// Stress: well above the average, held long enough to see it degrade (or not).
//
//   -e VUS=200 -e RAMP_UP=10m -e HOLD=30m -e RAMP_DOWN=5m -e THINK_TIME=1
//   -e P95_MS=500 -e P99_MS=1500 -e MAX_ERROR_RATE=0.01
//   TIME_SCALE multiplies every duration, LOAD_SCALE every user count.

import { baseOptions, signInScenario } from '../lib/options.js';
import { rampingUsers } from '../lib/shapes.js';
import { summaryWriter } from '../lib/summary.js';
import { loadThresholds } from '../lib/thresholds.js';

const SHAPE = rampingUsers({ vus: 200, rampUp: '10m', hold: '30m', rampDown: '5m' });

export const options = baseOptions({
  scenarios: { shoppers: SHAPE.scenario, signIns: signInScenario(SHAPE.total) },
  thresholds: loadThresholds({ p95: 500, p99: 1500 }),
});

export { setup, shopper, signIn } from '../lib/entrypoints.js';

export const handleSummary = summaryWriter('stress');
