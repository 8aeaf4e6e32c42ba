// Closed-loop throughput of one GET endpoint: VUS users, no think time, for DURATION.
// The bench driver compares the servicekit stack with a bare app under the same settings.
//
//   -e URL=http://127.0.0.1:P/v1/catalog -e VUS=16 -e DURATION=10s -e SUMMARY_FILE=out.json

import http from 'k6/http';
import { check } from 'k6';

export const options = {
  scenarios: {
    load: {
      executor: 'constant-vus',
      vus: Number(__ENV.VUS || 16),
      duration: __ENV.DURATION || '10s',
    },
  },
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(99)', 'max', 'count'],
};

export default function () {
  const response = http.get(__ENV.URL, { tags: { name: 'target' } });
  check(response, { 'status 200': (r) => r.status === 200 });
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_FILE]: JSON.stringify(data) };
}
