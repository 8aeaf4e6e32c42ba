// The traffic mix: what one simulated user does per iteration.
//
// `shop` browses the catalog or places an order, in the ratio BROWSE_WEIGHT:ORDER_WEIGHT.
// Every RETRY_EVERY-th order is sent again with the same Idempotency-Key (a client retrying
// after a lost response) and must return the same order. Every DECLINE_EVERY-th order uses a
// declined card and must get a 402 problem. The choice is by counter, not by chance, so even a
// few-second test run exercises every branch; the counter is the scenario's iteration number
// across all VUs, so the ratios hold however an arrival-rate executor spreads the iterations.
// `signIn` is the rarer log-in, run by its own scenario at its own rate.

import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { catalog, jsonBody, me, placeOrder } from './api.js';
import { envNumber } from './config.js';
import { login, sessionToken } from './session.js';

const BROWSE_WEIGHT = envNumber('BROWSE_WEIGHT', 3);
const ORDER_WEIGHT = envNumber('ORDER_WEIGHT', 2);
const RETRY_EVERY = envNumber('RETRY_EVERY', 5);
const DECLINE_EVERY = envNumber('DECLINE_EVERY', 20);
const THINK_TIME = envNumber('THINK_TIME', 1);

const ordersPlaced = new Counter('orders_placed');
const ordersReplayed = new Counter('orders_replayed');
const ordersDeclined = new Counter('orders_declined');
const loginsThrottled = new Counter('logins_throttled');

const CYCLE = BROWSE_WEIGHT + ORDER_WEIGHT;
let items = null;

export function shop(shared) {
  const iteration = exec.scenario.iterationInTest;
  const slot = iteration % CYCLE;
  if (items === null || slot < BROWSE_WEIGHT) browse();
  if (slot < BROWSE_WEIGHT || items === null || items.length === 0) return;
  // 1-based number of this order among all the scenario's orders.
  const number = Math.floor(iteration / CYCLE) * ORDER_WEIGHT + (slot - BROWSE_WEIGHT) + 1;
  order(sessionToken(shared), number);
}

// For VU-based shapes (average-load, stress, spike, soak): a user pauses between actions.
export function thinkTime() {
  sleep(THINK_TIME * (0.5 + Math.random()));
}

export function signIn() {
  const session = login();
  if (session === null) {
    loginsThrottled.add(1);
    return;
  }
  const response = me(session.token);
  check(response, { 'me: 200 for a fresh token': (r) => r.status === 200 });
}

function browse() {
  const response = catalog();
  const body = jsonBody(response);
  const listed = body && Array.isArray(body.items) ? body.items : [];
  const ok = check(response, {
    'catalog: 200': (r) => r.status === 200,
    'catalog: items with sku and price': () =>
      listed.length > 0 && listed.every((item) => item.sku && item.price !== undefined),
  });
  if (ok) items = listed;
}

function order(token, number) {
  const lines = pickLines();
  const key = crypto.randomUUID();
  if (number % DECLINE_EVERY === 0) {
    declined(token, key, lines);
    return;
  }
  const response = placeOrder(token, key, lines, 'tok_visa');
  const body = jsonBody(response);
  const created = check(response, {
    'order: 201 created': (r) => r.status === 201,
    'order: has an id and the catalog total': () =>
      Boolean(body && body.id) && sameAmount(body.total, expectedTotal(lines)),
  });
  if (!created) return;
  ordersPlaced.add(1);
  if (number % RETRY_EVERY === 0) replay(token, key, lines, body.id);
}

// The same request again, as a client would after a timeout: same key, same order.
function replay(token, key, lines, orderId) {
  const response = placeOrder(token, key, lines, 'tok_visa', 'orderRetry');
  const body = jsonBody(response);
  const ok = check(response, {
    'order retry: 2xx': (r) => r.status === 200 || r.status === 201,
    'order retry: same order id': () => Boolean(body) && body.id === orderId,
  });
  if (ok) ordersReplayed.add(1);
}

function declined(token, key, lines) {
  const response = placeOrder(token, key, lines, 'tok_declined', 'orderDeclined');
  const ok = check(response, {
    'declined card: 402 problem': (r) =>
      r.status === 402 && String(r.headers['Content-Type']).includes('problem+json'),
  });
  if (ok) ordersDeclined.add(1);
}

function pickLines() {
  const count = 1 + Math.floor(Math.random() * Math.min(3, items.length));
  const start = Math.floor(Math.random() * items.length);
  const lines = [];
  for (let i = 0; i < count; i += 1) {
    const item = items[(start + i) % items.length];
    lines.push({ sku: item.sku, quantity: 1 + Math.floor(Math.random() * 2) });
  }
  return lines;
}

function expectedTotal(lines) {
  const prices = Object.fromEntries(items.map((item) => [item.sku, Number(item.price)]));
  return lines.reduce((sum, line) => sum + prices[line.sku] * line.quantity, 0);
}

function sameAmount(actual, expected) {
  return Math.abs(Number(actual) - expected) < 0.005;
}
