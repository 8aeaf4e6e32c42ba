// Open-loop POST of an order-sized JSON body at a constant arrival rate, for bench/asgi_chain.py's
// framework-free chain: the same request shape k6/lib/api.js placeOrder sends (a bearer token,
// its own Idempotency-Key), to an app that reads none of it but the body.
//
//   -e URL=http://127.0.0.1:PORT/ -e RATE=40 -e DURATION=30s -e SUMMARY_FILE=out.json

import http from 'k6/http';
import { check } from 'k6';
import { constantArrival } from '../../k6/lib/options.js';

const RATE = Number(__ENV.RATE || 40);
const HEADERS = {
  Authorization: `Bearer ${'t'.repeat(400)}`, // about the size of a platform access token
  'Content-Type': 'application/json',
};

export const options = { scenarios: { orders: constantArrival(RATE) } };

export default function () {
  const body = JSON.stringify({ items: [{ sku: 'sku-0001', quantity: 1 }], card_token: 'tok_visa' });
  const headers = { ...HEADERS, 'Idempotency-Key': crypto.randomUUID() };
  check(http.post(__ENV.URL, body, { headers }), { 'order: 201': (r) => r.status === 201 });
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_FILE]: JSON.stringify(data) };
}
