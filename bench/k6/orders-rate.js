// Open-loop POST /v1/orders at a constant arrival rate: every request a new order with its own
// Idempotency-Key, so each one goes orders -> payments (and notifications) for real.
//
//   -e RATE=20 -e DURATION=10s -e MAX_VUS=200 -e PASSWORD=... -e ORDERS_URL=... -e AUTH_URL=...
//   -e SUMMARY_FILE=out.json

import { check } from 'k6';
import { ROUTES, catalog, jsonBody, placeOrder } from '../../k6/lib/api.js';
import { openSession } from '../../k6/lib/session.js';
import { TREND_STATS, constantArrival } from '../../k6/lib/options.js';

const RATE = Number(__ENV.RATE || 20);

export const options = {
  scenarios: { orders: constantArrival(RATE, { maxVUs: Number(__ENV.MAX_VUS || 200) }) },
  // Sub-metrics of the order route only (setup's login and catalog calls left out), and by
  // answer: orders placed (201) and orders refused for overload (503), as bench/overload.py reads.
  thresholds: {
    [`http_req_duration{name:${ROUTES.order}}`]: ['max>=0'],
    [`http_req_failed{name:${ROUTES.order}}`]: ['rate>=0'],
    [`http_req_duration{name:${ROUTES.order},status:201}`]: ['max>=0'],
    [`http_req_duration{name:${ROUTES.order},status:503}`]: ['max>=0'],
  },
  summaryTrendStats: TREND_STATS,
};

export function setup() {
  const session = openSession();
  const items = jsonBody(catalog()).items;
  return { token: session.token, sku: items[0].sku };
}

export default function (data) {
  const lines = [{ sku: data.sku, quantity: 1 }];
  const response = placeOrder(data.token, crypto.randomUUID(), lines, 'tok_visa');
  check(response, { 'order: 201 created': (r) => r.status === 201 });
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_FILE]: JSON.stringify(data) };
}
