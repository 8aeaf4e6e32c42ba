// Smoke: a couple of users for about a minute. Does the whole journey work at all?
//
//   -e VUS=2 -e DURATION=1m -e THINK_TIME=1 -e P99_MS=1000 -e LOGINS_PER_MINUTE=6
// Gates: no failed request, every check passes, p99 under P99_MS.

import { duration, envNumber, rate } from '../lib/config.js';
import { baseOptions, signInScenario } from '../lib/options.js';
import { summaryWriter } from '../lib/summary.js';
import { perRoute } from '../lib/thresholds.js';

const DURATION = duration('DURATION', '1m');

export const options = baseOptions({
  scenarios: {
    shoppers: { executor: 'constant-vus', exec: 'shopper', vus: rate('VUS', 2), duration: DURATION },
    signIns: signInScenario(DURATION),
  },
  thresholds: {
    ...perRoute(),
    http_req_failed: ['rate==0'],
    checks: ['rate==1'],
    http_req_duration: [`p(99)<${envNumber('P99_MS', 1000)}`],
  },
});

export { setup, shopper, signIn } from '../lib/entrypoints.js';

export const handleSummary = summaryWriter('smoke');
