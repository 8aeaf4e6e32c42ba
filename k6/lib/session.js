// User sessions: setup() logs in once and hands the token to every VU; a VU logs in again by
// itself only when that token is getting old (soak and stress outlive the token TTL).
// Refreshes start at a random point in the token's second half so VUs do not log in all at
// once, and a throttled login (429) keeps the still-valid token and tries again later.

import { check } from 'k6';
import { credentials } from './config.js';
import { jsonBody, requestToken } from './api.js';

const CREDENTIALS = credentials();
const RETRY_THROTTLED_AFTER_MS = 5000;

// Called from setup(): the shared session, or an error that stops the run before any load.
export function openSession() {
  if (!CREDENTIALS.password) {
    throw new Error('no password: pass -e PASSWORD=... or -e PASSWORD_FILE=<file>');
  }
  const session = login();
  if (!session) throw new Error(`login as ${CREDENTIALS.username} failed; is auth up?`);
  return session;
}

// Logs in; returns { token, issuedAt, expiresAt } (epoch ms), or null if refused.
export function login() {
  const response = requestToken(CREDENTIALS.username, CREDENTIALS.password);
  const body = jsonBody(response);
  if (response.status === 429) return null;
  const ok = check(response, {
    'login: 200 with an access token': (r) =>
      r.status === 200 && Boolean(body && body.access_token),
  });
  if (!ok) return null;
  const now = Date.now();
  const ttlMs = (body.expires_in || 300) * 1000;
  return { token: body.access_token, issuedAt: now, expiresAt: now + ttlMs };
}

let current = null;
let nextLoginAt = 0;
// Where in the token's life this VU refreshes: between 50 % and 80 %.
const refreshPoint = 0.5 + 0.3 * Math.random();

// The token this VU should use now.
export function sessionToken(shared) {
  if (current === null) current = shared;
  const now = Date.now();
  const refreshAt = current.issuedAt + refreshPoint * (current.expiresAt - current.issuedAt);
  if (now >= refreshAt && now >= nextLoginAt) {
    const renewed = login();
    if (renewed) current = renewed;
    else nextLoginAt = now + RETRY_THROTTLED_AFTER_MS * (1 + Math.random());
  }
  return current.token;
}
