// End-of-test summary without remote jslib: a JSON file with k6's full summary data (plus a
// verdict), and a one-page text summary, also printed to stdout.
//
// Files go to SUMMARY_DIR (default .local/k6, relative to where k6 runs; it must exist) as
// <SUMMARY_NAME>.json and .txt; SUMMARY_NAME defaults to the scenario's name.

import { envString, serviceUrl } from './config.js';
import { ROUTES } from './api.js';

const COUNTERS = ['orders_placed', 'orders_replayed', 'orders_declined', 'logins_throttled'];

export function summaryWriter(scenario) {
  return function handleSummary(data) {
    const dir = envString('SUMMARY_DIR', '.local/k6').replace(/\/+$/, '');
    const name = envString('SUMMARY_NAME', scenario);
    const report = { scenario, ...verdict(data), targets: targets() };
    const text = render(report, data);
    return {
      [`${dir}/${name}.json`]: JSON.stringify({ platform: report, ...data }, null, 2),
      [`${dir}/${name}.txt`]: text,
      stdout: text,
    };
  };
}

function targets() {
  return { auth: serviceUrl('auth'), orders: serviceUrl('orders') };
}

function verdict(data) {
  const failed = [];
  for (const [metric, body] of Object.entries(data.metrics)) {
    for (const [expression, result] of Object.entries(body.thresholds || {})) {
      if (!result.ok) failed.push(`${metric}: ${expression}`);
    }
  }
  return { passed: failed.length === 0, failedThresholds: failed };
}

export function allChecks(group) {
  const own = group.checks || [];
  return own.concat(...(group.groups || []).map(allChecks));
}

function render(report, data) {
  const m = data.metrics;
  const seconds = data.state.testRunDurationMs / 1000;
  const lines = [
    `k6 ${report.scenario}: ${report.passed ? 'PASSED' : 'FAILED'} in ${seconds.toFixed(1)} s`,
    `targets: auth ${report.targets.auth}, orders ${report.targets.orders}`,
    `iterations ${value(m.iterations, 'count')} (${fixed(value(m.iterations, 'rate'), 1)}/s), ` +
      `dropped ${value(m.dropped_iterations, 'count')}, max VUs ${value(m.vus_max, 'max')}, ` +
      `requests ${value(m.http_reqs, 'count')} (${fixed(value(m.http_reqs, 'rate'), 1)}/s), ` +
      `failed ${percent(value(m.http_req_failed, 'rate'))}`,
    '',
    'thresholds',
  ];
  for (const [metric, body] of Object.entries(m)) {
    for (const [expression, result] of Object.entries(body.thresholds || {})) {
      if (expression === 'max>=0') continue; // route display lines, not gates
      lines.push(`  ${result.ok ? 'ok  ' : 'FAIL'} ${metric} ${expression}`);
    }
  }
  const checks = allChecks(data.root_group);
  const passes = checks.reduce((sum, c) => sum + c.passes, 0);
  const fails = checks.reduce((sum, c) => sum + c.fails, 0);
  lines.push('', `checks: ${passes} passed, ${fails} failed`);
  for (const c of checks) {
    const label = c.path.replace(/^::/, '').replace(/::/g, ' > ');
    lines.push(`  ${c.fails === 0 ? 'ok  ' : 'FAIL'} ${pad(label, 44)} ${c.passes} / ${c.fails}`);
  }
  lines.push('', `${pad('latency by route (ms)', 32)} ${cols(['count', 'p50', 'p95', 'p99', 'max'])}`);
  for (const route of Object.values(ROUTES)) {
    const trend = m[`http_req_duration{name:${route}}`];
    if (!trend || !trend.values.count) continue;
    const v = trend.values;
    lines.push(`  ${pad(route, 30)} ${cols([v.count, v.med, v['p(95)'], v['p(99)'], v.max])}`);
  }
  const counted = COUNTERS.filter((name) => m[name]).map((name) => `${name} ${m[name].values.count}`);
  if (counted.length) lines.push('', counted.join(', '));
  return `${lines.join('\n')}\n`;
}

function value(metric, stat) {
  return metric ? metric.values[stat] : 0;
}

function fixed(number, digits) {
  return Number(number || 0).toFixed(digits);
}

function percent(rate) {
  return `${(100 * (rate || 0)).toFixed(2)}%`;
}

function pad(text, width) {
  return String(text).padEnd(width);
}

function cols(values) {
  return values
    .map((v) => (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : String(v)))
    .map((v) => v.padStart(8))
    .join('');
}
