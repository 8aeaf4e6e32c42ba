// Bounded mixed traffic against both colors of every service, for the dashboard tests:
// successes, 401s (calls without a token) and whatever 5xx the fault switch injects.
//
//   k6 run -e TARGETS='{"blue":{"auth":"http://127.0.0.1:P",...},"green":{...}}' \
//          -e USERNAME=alice -e PASSWORD=... -e DURATION=6s -e VUS=4 mixed_traffic.js
import http from 'k6/http';

const TARGETS = JSON.parse(__ENV.TARGETS || '{}');
const COLORS = Object.keys(TARGETS);

export const options = {
  discardResponseBodies: true,
  scenarios: {
    mixed: {
      executor: 'constant-vus',
      vus: Number(__ENV.VUS || 4),
      duration: __ENV.DURATION || '6s',
      gracefulStop: '2s',
    },
  },
  // Errors are the point of this load: nothing here may fail the run.
  thresholds: {},
};

// Unique per request: a retried key would replay the first answer instead of new work.
function idempotencyKey(color) {
  return `obs-${color}-${__VU}-${__ITER}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

export function setup() {
  const tokens = {};
  for (const color of COLORS) {
    const response = http.post(
      `${TARGETS[color].auth}/v1/token`,
      { grant_type: 'password', username: __ENV.USERNAME, password: __ENV.PASSWORD },
      { responseType: 'text' },
    );
    if (response.status !== 200) throw new Error(`token from ${color} auth: ${response.status}`);
    tokens[color] = response.json('access_token');
  }
  return tokens;
}

export default function (tokens) {
  for (const color of COLORS) {
    const urls = TARGETS[color];
    const auth = { headers: { Authorization: `Bearer ${tokens[color]}` } };
    const json = { 'Content-Type': 'application/json' };
    const order = JSON.stringify({ items: [{ sku: 'sku-mug', quantity: 1 }], card_token: 'tok_visa' });
    http.get(`${urls.auth}/.well-known/jwks.json`);
    http.get(`${urls.auth}/v1/me`, auth);
    http.get(`${urls.auth}/v1/me`); // 401
    http.get(`${urls.orders}/v1/catalog`);
    http.post(`${urls.orders}/v1/orders`, order, {
      headers: { ...auth.headers, ...json, 'Idempotency-Key': idempotencyKey(color) },
    });
    http.post(`${urls.orders}/v1/orders`, order, { headers: { ...json, 'Idempotency-Key': idempotencyKey(color) } }); // 401
    http.post(`${urls.payments}/v1/charges`, '{}', { headers: json }); // 401
    http.post(`${urls.notifications}/v1/notifications`, '{}', { headers: json }); // 401
  }
}
