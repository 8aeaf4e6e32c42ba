// The entry points every load-shaped scenario shares: one session for the run, shoppers that
// browse and buy with a think time, and the periodic sign-ins. A scenario re-exports them and
// adds only its shape, thresholds and summary name.

import { shop, signIn, thinkTime } from './journeys.js';
import { openSession } from './session.js';

export function setup() {
  return openSession();
}

export function shopper(session) {
  shop(session);
  thinkTime();
}

export { signIn };
