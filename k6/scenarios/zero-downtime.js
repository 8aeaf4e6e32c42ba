// Zero downtime: a constant arrival rate through a deploy, promote or rollback. Not one request
// may fail, not one iteration may be dropped, every check must pass, and p99 stays bounded.
//
//   -e RATE=20 (iterations/s) -e DURATION=2m -e PRE_VUS=10 -e MAX_VUS=100 -e P99_MS=500
//   -e LOGINS_PER_MINUTE=6 -e NO_CONNECTION_REUSE=false
// Start it, then run the switch (`platformctl promote`, `helm rollback`...) while it runs.

import { duration, rate } from '../lib/config.js';
import { shop, signIn } from '../lib/journeys.js';
import { baseOptions, signInScenario } from '../lib/options.js';
import { openSession } from '../lib/session.js';
import { summaryWriter } from '../lib/summary.js';
import { zeroDowntimeThresholds } from '../lib/thresholds.js';

const DURATION = duration('DURATION', '2m');

export function zeroDowntimeOptions({ noConnectionReuse }) {
  return baseOptions({
    noConnectionReuse,
    scenarios: {
      shoppers: {
        executor: 'constant-arrival-rate',
        exec: 'shopper',
        rate: rate('RATE', 20),
        timeUnit: '1s',
        duration: DURATION,
        preAllocatedVUs: rate('PRE_VUS', 10),
        maxVUs: rate('MAX_VUS', 100),
      },
      signIns: signInScenario(DURATION),
    },
    thresholds: zeroDowntimeThresholds({ p99: 500 }),
  });
}

export const options = zeroDowntimeOptions({ noConnectionReuse: false });

export function setup() {
  return openSession();
}

export function shopper(session) {
  shop(session);
}

export { signIn };

export const handleSummary = summaryWriter('zero-downtime');
