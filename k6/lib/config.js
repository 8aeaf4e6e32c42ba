// Settings read from `k6 run -e NAME=value` (or the environment), with documented defaults.
//
// Every duration and rate a scenario uses goes through `duration()` and `rate()`, so one
// script runs for seconds in a test (`-e TIME_SCALE=0.01`) and for hours on a cluster.

const STABLE_PORTS = { auth: 8001, orders: 8002, payments: 8003, notifications: 8004 };
const PREVIEW_PORTS = { auth: 9001, orders: 9002, payments: 9003, notifications: 9004 };

export function envString(name, fallback) {
  const value = __ENV[name];
  return value === undefined || value === '' ? fallback : value;
}

export function envNumber(name, fallback) {
  const raw = envString(name, undefined);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`-e ${name}=${raw} is not a number`);
  return value;
}

export function envBool(name, fallback) {
  const raw = envString(name, undefined);
  if (raw === undefined) return fallback;
  return ['1', 'true', 'yes', 'on'].includes(raw.toLowerCase());
}

const UNIT_SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600 };

// "1h30m", "90s", "500ms" -> seconds.
export function parseDuration(text) {
  const parts = String(text).match(/(\d+(?:\.\d+)?)(ms|s|m|h)/g);
  if (!parts || parts.join('') !== String(text)) throw new Error(`bad duration: ${text}`);
  return parts.reduce((total, part) => {
    const [, amount, unit] = part.match(/(\d+(?:\.\d+)?)(ms|s|m|h)/);
    return total + Number(amount) * UNIT_SECONDS[unit];
  }, 0);
}

function formatSeconds(seconds) {
  return `${Math.max(1, Math.round(seconds * 1000))}ms`;
}

// A duration from `-e NAME` (or the default), multiplied by TIME_SCALE.
export function duration(name, fallback) {
  const scale = envNumber('TIME_SCALE', 1);
  return formatSeconds(parseDuration(envString(name, fallback)) * scale);
}

// A rate or VU count from `-e NAME` (or the default), multiplied by LOAD_SCALE; at least 1.
export function rate(name, fallback) {
  const scale = envNumber('LOAD_SCALE', 1);
  return Math.max(1, Math.round(envNumber(name, fallback) * scale));
}

// Base URL of a service: AUTH_URL/ORDERS_URL/... win; else BASE_URL, where "{service}" is
// replaced by the service name (one gateway without it); else the local stable ports
// (the preview ports with -e PREVIEW=true).
export function serviceUrl(service) {
  const explicit = envString(`${service.toUpperCase()}_URL`, undefined);
  if (explicit) return explicit.replace(/\/+$/, '');
  const base = envString('BASE_URL', undefined);
  if (base) return base.replace('{service}', service).replace(/\/+$/, '');
  const ports = envBool('PREVIEW', false) ? PREVIEW_PORTS : STABLE_PORTS;
  return `http://127.0.0.1:${ports[service]}`;
}

// The user the load logs in as; PASSWORD_FILE keeps the secret off the command line and is
// read at init (the only place k6 can open files). `make load` points it at the local
// platform's generated dev password. Missing credentials fail at setup, not at parse, so
// `k6 inspect` works without them.
export function credentials() {
  const username = envString('USERNAME', 'alice');
  const file = envString('PASSWORD_FILE', undefined);
  const password = envString('PASSWORD', file === undefined ? undefined : open(file).trim());
  return { username, password };
}
