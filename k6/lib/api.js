// One function per API call. Each request carries a `name` tag (method + route template),
// so metrics group by route instead of by URL, and thresholds can target a route.

import http from 'k6/http';
import { serviceUrl } from './config.js';

export const ROUTES = {
  token: 'POST /v1/token',
  me: 'GET /v1/me',
  catalog: 'GET /v1/catalog',
  order: 'POST /v1/orders',
  orderRetry: 'POST /v1/orders (retry)',
  orderDeclined: 'POST /v1/orders (declined)',
};

// A declined card is a correct answer (402), not a failed request.
const DECLINE_IS_EXPECTED = http.expectedStatuses({ min: 200, max: 399 }, 402);
// A throttled login (429) is the auth service doing its job; the caller backs off.
const THROTTLE_IS_EXPECTED = http.expectedStatuses({ min: 200, max: 399 }, 429);

const AUTH = serviceUrl('auth');
const ORDERS = serviceUrl('orders');

export function requestToken(username, password) {
  return http.post(
    `${AUTH}/v1/token`,
    { grant_type: 'password', username, password },
    { tags: { name: ROUTES.token }, responseCallback: THROTTLE_IS_EXPECTED },
  );
}

export function me(token) {
  return http.get(`${AUTH}/v1/me`, { headers: bearer(token), tags: { name: ROUTES.me } });
}

export function catalog() {
  return http.get(`${ORDERS}/v1/catalog`, { tags: { name: ROUTES.catalog } });
}

// kind: 'order' (first attempt), 'orderRetry' (same key again) or 'orderDeclined'.
export function placeOrder(token, idempotencyKey, items, cardToken, kind = 'order') {
  const params = {
    headers: {
      ...bearer(token),
      'Content-Type': 'application/json',
      'Idempotency-Key': idempotencyKey,
    },
    tags: { name: ROUTES[kind] },
  };
  if (kind === 'orderDeclined') params.responseCallback = DECLINE_IS_EXPECTED;
  return http.post(`${ORDERS}/v1/orders`, JSON.stringify({ items, card_token: cardToken }), params);
}

function bearer(token) {
  return { Authorization: `Bearer ${token}` };
}

export function jsonBody(response) {
  try {
    return response.json();
  } catch (_) {
    return null;
  }
}
