// What the tests' own load scripts share (zero downtime through a switch, load while
// instances are killed): one sign-in in setup, and the two requests a shopper makes.
// -e ORDERS_URL -e AUTH_URL -e USERNAME -e PASSWORD
import http from 'k6/http';
import { fail } from 'k6';

const ORDERS = __ENV.ORDERS_URL;

// A user token and a SKU to order, for every VU (k6 passes setup's result to each).
export function signIn() {
  const login = http.post(`${__ENV.AUTH_URL}/v1/token`, {
    grant_type: 'password',
    username: __ENV.USERNAME,
    password: __ENV.PASSWORD,
  });
  if (login.status !== 200) fail(`login failed: ${login.status} ${login.body}`);
  const catalog = http.get(`${ORDERS}/v1/catalog`);
  if (catalog.status !== 200) fail(`catalog failed: ${catalog.status}`);
  return { token: login.json('access_token'), sku: catalog.json('items')[0].sku };
}

export function browse() {
  return http.get(`${ORDERS}/v1/catalog`, { tags: { name: 'catalog' } });
}

export function order(shopper, idempotencyKey) {
  return http.post(
    `${ORDERS}/v1/orders`,
    JSON.stringify({ items: [{ sku: shopper.sku, quantity: 1 }], card_token: 'tok_visa' }),
    {
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${shopper.token}`,
        'Idempotency-Key': idempotencyKey,
      },
      tags: { name: 'order' },
    },
  );
}
