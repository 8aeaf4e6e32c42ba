// CPU load on one service: the catalog (no dependency, no auth) at a constant arrival rate, so
// the pods' CPU, and nothing else, grows with RATE. tests/cluster/test_autoscaling.py aims it at
// one color's preview Service to make that color's HPA scale out.
//
//   -e ORDERS_URL=http://<orders-preview ClusterIP>:8000 -e RATE=40 -e DURATION=90s
// Gate: no failed request (a scale-out must not drop any).

import http from 'k6/http';
import { check } from 'k6';
import { duration, rate, serviceUrl } from '../lib/config.js';
import { baseOptions } from '../lib/options.js';

export const options = baseOptions({
  scenarios: {
    catalog: {
      executor: 'constant-arrival-rate',
      rate: rate('RATE', 40),
      timeUnit: '1s',
      duration: duration('DURATION', '90s'),
      preAllocatedVUs: 20,
      maxVUs: 100,
    },
  },
  thresholds: { http_req_failed: ['rate==0'] },
});

const CATALOG = `${serviceUrl('orders')}/v1/catalog`;

export default function () {
  check(http.get(CATALOG, { tags: { name: 'GET /v1/catalog' } }), {
    'catalog 200': (r) => r.status === 200,
  });
}
