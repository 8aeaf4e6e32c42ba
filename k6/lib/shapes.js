// Load shapes from the k6 docs, with every number overridable by `-e`.

import { duration, parseDuration, rate } from './config.js';

// Ramp users up, hold, ramp down: average-load, stress, soak; spike holds for 0 s.
// Overrides: -e VUS, RAMP_UP, HOLD, RAMP_DOWN.
export function rampingUsers({ vus, rampUp, hold, rampDown }) {
  const target = rate('VUS', vus);
  const stages = [
    { duration: duration('RAMP_UP', rampUp), target },
    { duration: duration('HOLD', hold), target },
    { duration: duration('RAMP_DOWN', rampDown), target: 0 },
  ].filter((stage) => parseDuration(stage.duration) > 0.001);
  return {
    scenario: { executor: 'ramping-vus', exec: 'shopper', startVUs: 0, stages },
    total: totalDuration(stages),
  };
}

export function totalDuration(stages) {
  const seconds = stages.reduce((sum, stage) => sum + parseDuration(stage.duration), 0);
  return `${Math.max(1, Math.round(seconds * 1000))}ms`;
}
