// Zero downtime with a new TCP connection for every request (noConnectionReuse). Kept-alive
// connections can hide a backend that stopped accepting; fresh ones cannot.
//
// Same variables as zero-downtime.js.

import { summaryWriter } from '../lib/summary.js';
import { zeroDowntimeOptions } from './zero-downtime.js';

export { setup, shopper, signIn } from './zero-downtime.js';

export const options = zeroDowntimeOptions({ noConnectionReuse: true });

export const handleSummary = summaryWriter('zero-downtime-no-reuse');
