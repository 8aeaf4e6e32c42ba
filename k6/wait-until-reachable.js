// Waits until each target service answers /readyz with 200 from where this runs, then exits 0;
// exits non-zero if one has not after WAIT_TIMEOUT (default 60s).
//
// The in-cluster k6 Job runs it as its init container. A NetworkPolicy agent admits a new pod's
// address a moment after the pod starts: kube-router refused the first 1.6 s here
// (docs/local-cluster.md). The load starts only once its own pod gets through, so that moment
// never shows up as failed requests. These attempts are this run's, not the load's.
import http from 'k6/http';
import { sleep } from 'k6';
import exec from 'k6/execution';
import { envString, parseDuration, serviceUrl } from './lib/config.js';

const TARGETS = envString('WAIT_FOR', 'auth,orders').split(',');
const TIMEOUT_SECONDS = parseDuration(envString('WAIT_TIMEOUT', '60s'));

export const options = { vus: 1, iterations: 1, discardResponseBodies: true };

export default function () {
  const started = Date.now();
  for (const service of TARGETS) {
    const url = `${serviceUrl(service)}/readyz`;
    let attempts = 0;
    for (;;) {
      attempts += 1;
      if (http.get(url, { timeout: '1s' }).status === 200) break;
      if (Date.now() - started > TIMEOUT_SECONDS * 1000) {
        exec.test.abort(`${url} did not answer 200 within ${TIMEOUT_SECONDS} s`);
      }
      sleep(0.1);
    }
    console.log(`${service} reachable after ${attempts} attempt(s), ${Date.now() - started} ms`);
  }
}
