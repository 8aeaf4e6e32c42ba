"""Render docs/performance.md and its plots from the benchmark results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.cpu_per_order import DATA_FILE
from bench.plan import LOADGEN_CPU, SERVER_CPU

OVERHEAD_GOAL = 0.85
CLEAN_RATE_GOAL = 250  # orders/s, the order-path issue
CPU_PER_ORDER_GOAL_MS = 3.0
IMAGES = "images"


def write(results: dict[str, Any], docs: Path) -> Path:
    images = docs / IMAGES
    images.mkdir(parents=True, exist_ok=True)
    sections = [_header(results), _summary(results)]
    for name, render in (
        ("overhead", _overhead),
        ("orders", _orders),
        ("startup", _startup),
        ("drain", _drain),
        ("switch", _switch),
    ):
        if name in results:
            sections.append(render(results[name], images))
        else:
            sections.append(f"## {name}\n\nNot measured in the last run.\n")
    sections.append(cpu_per_order_section(docs / DATA_FILE))
    if "outbound" in results:
        sections.append(_outbound(results["outbound"]))
    else:
        sections.append("## 6b. Calls between services\n\nNot measured in the last run.\n")
    if "overload" in results:
        sections.append(_overload(results["overload"], results.get("orders")))
    else:
        sections.append("## 7. Overload\n\nNot measured in the last run.\n")
    sections.append(_profiles())
    sections.append(_limits())
    page = docs / "performance.md"
    page.write_text("\n".join(sections))
    return page


# -- text -----------------------------------------------------------------------------------------


def _header(results: dict[str, Any]) -> str:
    m = results["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    plan = results.get("plan", {}).get("name", "full")
    return f"""# Performance

Measured by `make bench` (`.venv/bin/python -m bench`), which starts the real services as
uvicorn processes on loopback, drives them with k6 and writes this page and its plots. Every
figure is a ratio against a baseline measured in the same run, or an absolute time with its
goal. Raw results: `.local/bench/results.json` (not committed).

| | |
|---|---|
| command | `make bench` ({plan} plan{_wall(results)}) |
| date | {m["date"]} |
| machine | {m["cpu"]}, {m["cores"]} cores, {m["memory_gib"]} GiB, Linux {m["kernel"]} |
| software | Python {m["python"]}, {packages}, k6 {m["k6"]} |
| uvicorn | one process per service, `--factory --no-access-log \\
  --timeout-graceful-shutdown 10`, uvloop + httptools |
| load average at start | {" / ".join(str(x) for x in m["load_average"])} (1 / 5 / 15 min) |

The machine is shared: other test suites may run at the same time, which each section's
*conditions* line records (when, and the load average before and after; a section can be
rerun alone with `python -m bench --only NAME`). Ratios are robust to that (both
sides are measured alternately under the same conditions); absolute figures are not, and are
best read as what this 2-core box did at that moment.
"""


def _wall(results: dict[str, Any]) -> str:
    wall = results.get("wall_seconds")
    return f", {wall / 60:.1f} min" if wall else ""


def _conditions(section: dict[str, Any]) -> str:
    c = section["conditions"]
    before = " / ".join(str(x) for x in c["load_average_before"])
    after = " / ".join(str(x) for x in c["load_average_after"])
    at = f"measured {c['at']}, " if "at" in c else ""
    return f"*Conditions: {at}{c['seconds']:.0f} s; load average {before} before, {after} after.*\n"


def _summary(results: dict[str, Any]) -> str:
    rows = ["| benchmark | result | goal | met |", "|---|---|---|---|"]
    if "overhead" in results:
        full = _variant(results["overhead"], "servicekit")
        ratio = full["throughput_ratio"]
        rows.append(
            f"| 1. servicekit overhead, `GET /v1/catalog` | {ratio:.3f}x bare throughput per "
            f"CPU-second ({full['rps_ratio']:.2f}x in req/s); p99 {full['p99_ms']:.1f} ms "
            f"({full['p99_ratio']:.2f}x bare) "
            f"| >= {OVERHEAD_GOAL}x | {_yes(ratio >= OVERHEAD_GOAL)} |"
        )
    if "orders" in results:
        o = results["orders"]
        clean = o["highest_clean_rate"]
        knee = o["knee_rate"]
        rows.append(
            f"| 2. `POST /v1/orders` end to end | {_clean_rate(o)} orders/s with p99 < 100 ms and "
            f"0 errors; knee at {knee or 'beyond the sweep'}"
            f"{' orders/s' if knee else ''} | >= {CLEAN_RATE_GOAL} orders/s "
            f"| {_yes((clean or 0) >= CLEAN_RATE_GOAL)} |"
        )
    if "startup" in results:
        s = results["startup"]
        worst = max(v["median_s"] for v in s["services"].values())
        cpu = [v["cpu_median_s"] for v in s["services"].values() if "cpu_median_s" in v]
        cpu_note = f" ({max(cpu):.2f} CPU-s)" if cpu else ""
        rows.append(
            f"| 3. start to first `/readyz` 200 | slowest service median {worst:.2f} s{cpu_note} "
            f"| < {s['goal_s']:.0f} s | {_yes(worst < s['goal_s'])} |"
        )
    if "drain" in results:
        d = results["drain"]
        rows.append(
            f"| 4. drain: SIGTERM under load | {d['failed_requests']:.0f} failed of "
            f"{d['requests']:.0f}; exit after {d['time_to_exit_s']:.2f} s "
            f"| 0 failed | {_yes(d['failed_requests'] == 0)} |"
        )
    if "switch" in results:
        w = results["switch"]
        rows.append(
            f"| 5. promote + rollback under load | {w['failed_requests']:.0f} failed of "
            f"{w['requests']:.0f}; promote {w['promote_s']:.2f} s, rollback "
            f"{w['rollback_s']:.2f} s | 0 failed | {_yes(w['failed_requests'] == 0)} |"
        )
    if "cpu_per_order" in results:
        chain = results["cpu_per_order"]["medians"]["verified-token cache"]["chain"]
        rows.append(
            f"| 6. CPU per order, whole chain, 40 orders/s | {chain:.2f} ms "
            f"| <= {CPU_PER_ORDER_GOAL_MS} ms | {_yes(chain <= CPU_PER_ORDER_GOAL_MS)} |"
        )
    if "overload" in results and "orders" in results:
        clean = results["orders"]["highest_clean_rate"] or 0
        variants = results["overload"]["variants"]

        def meets(v: dict[str, Any]) -> bool:
            return (
                v["goodput_per_second"] >= 0.9 * clean
                and v["placed_p99_ms"] < 250
                and v["refused_p99_ms"] < 20
            )

        # A variant that meets every goal if one does; else, of those that keep the goodput,
        # the fastest.
        enough = (
            [v for v in variants if meets(v)]
            or [v for v in variants if v["goodput_per_second"] >= 0.9 * clean]
            or variants
        )
        best = min(enough, key=lambda v: v["placed_p99_ms"])
        met = meets(best)
        rows.append(
            f"| 7. overload, {results['overload']['rate']} orders/s | best: {best['name']}, "
            f"goodput {best['goodput_per_second']:.0f}/s, placed p99 {best['placed_p99_ms']:.0f} "
            f"ms, refusals p99 {best['refused_p99_ms']:.0f} ms | >= 90 % of clean, p99 < 250 ms, "
            f"refusals < 20 ms | {_yes(met)} |"
        )
    return "## Summary\n\n" + "\n".join(rows) + "\n"


def _table(headers: list[str], rows: list[list[str]], align: str = "---:") -> str:
    lines = [f"| {' | '.join(headers)} |", f"|{'|'.join([align] * len(headers))}|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def _gates(section: dict[str, Any]) -> str:
    crossed = section.get("crossed_thresholds")
    if crossed is None:
        return ""
    if not crossed:
        return "Every zero-downtime gate of the k6 scenario held.\n"
    listed = ", ".join(f"`{gate}`" for gate in crossed)
    return f"k6 gates crossed (hence its exit code): {listed}.\n"


def _outcome(section: dict[str, Any]) -> list[str]:
    """The k6 side of a zero-downtime run, as table cells."""
    return [
        f"{section['requests']:.0f}",
        f"{section['failed_requests']:.0f}",
        f"{section['dropped_iterations']:.0f}",
        f"{100 * section['checks_rate']:.2f} %",
        f"{section['p99_ms']:.0f}",
        str(section["k6_exit_code"]),
    ]


OUTCOME_HEADERS = ["requests", "failed", "dropped iterations", "checks passed", "p99 ms", "k6 exit"]


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _variant(section: dict[str, Any], name: str) -> dict[str, Any]:
    return next(v for v in section["variants"] if v["name"] == name)


def _overhead(section: dict[str, Any], images: Path) -> str:
    _plot_overhead(section, images / "perf-overhead.png")
    rows = [
        "| app | req/CPU-s | vs bare | range | req/s | vs bare | p50 ms | p99 ms | p99 vs bare "
        "| server CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for v in section["variants"]:
        low, high = v["throughput_ratio_range"]
        rows.append(
            f"| {v['label']} | {v['req_per_cpu_s']:.0f} | {v['throughput_ratio']:.2f}x "
            f"| {low:.2f}-{high:.2f} | {v['rps']:.0f} | {v['rps_ratio']:.2f}x "
            f"| {v['p50_ms']:.2f} | {v['p99_ms']:.2f} | {v['p99_ratio']:.2f}x "
            f"| {100 * v['server_cpu']:.0f} % |"
        )
    bare = _variant(section, "bare")
    costs = [_cost_line(section, "configured", "bare", "servicekit's FastAPI configuration")]
    costs += [
        _cost_line(section, name, "configured", piece)
        for name, piece in (
            ("request-id", "the request id"),
            ("request-log", "the request id and its JSON access-log line"),
            ("metrics", "the Prometheus metrics"),
            ("all-three", "all three"),
            ("servicekit", "the whole orders app (admission and limits too)"),
        )
    ]
    in_process = _where_the_cpu_goes(section) if "in_process_us" in bare else ""
    return f"""## 1. Service overhead

`GET /v1/catalog` served by the orders app (the full servicekit stack) against a bare FastAPI app
returning the same bytes. Between the two, `bench/apps.py` builds the bare app configured as
servicekit configures FastAPI (its OpenTelemetry hooks off, the service's routes tried before
FastAPI's documentation routes), and that app with servicekit's request observation added one
piece at a time. Each app runs alone in one uvicorn process pinned to CPU 0; k6 drives it from
CPU 1 with {section["vus"]} closed-loop users for {section["seconds"]} s after a warm-up, in
{len(section["rounds"])} rounds. Variants
alternate within each round, and the ratio is taken per round against the bare app of that
round (median shown, with its range). The access log goes to a file, as a container's stdout
would.

Throughput is given two ways. *req/s* is what k6 got. *req/CPU-s* is requests per CPU-second
of the server process (from `/proc`): the throughput one core sustains when the service is
the bottleneck. They agree when the server has its core to itself ("server CPU" near 100 %).
On a shared machine other processes steal the server's core at random, which moves req/s but
hardly the CPU cost of a request, so the headline ratio is the one per CPU-second.

![throughput relative to bare FastAPI](images/perf-overhead.png)

{chr(10).join(rows)}

bare FastAPI: {bare["req_per_cpu_s"]:.0f} requests per CPU-second
({1e6 / bare["req_per_cpu_s"]:.0f} µs of CPU per request). What each piece changes, against the
app it is added to (requests per CPU-second, the ratio of the medians; CPU per request in
process):

{chr(10).join(costs)}

{in_process}

"server CPU" is the server's busy share of its core during the measured run.

{_conditions(section)}"""


BASES = {"bare": "bare FastAPI", "configured": "the configured app"}


def _cost_line(section: dict[str, Any], name: str, base: str, piece: str) -> str:
    """One piece's price against the app it is added to."""
    v, under = _variant(section, name), _variant(section, base)
    change = v["req_per_cpu_s"] / under["req_per_cpu_s"] - 1
    line = f"- {piece}: {100 * change:+.0f} % throughput against {BASES[base]}"
    if "in_process_us" in v:
        line += f", {v['in_process_us'] - under['in_process_us']:+.0f} µs in process"
    return line


def _where_the_cpu_goes(section: dict[str, Any]) -> str:
    """Split a request's CPU into uvicorn's, FastAPI's and servicekit's, end to end and in
    process, and say what the goal leaves servicekit."""
    variants = {v["name"]: v for v in section["variants"]}
    end_to_end = {name: 1e6 / v["req_per_cpu_s"] for name, v in variants.items()}
    in_process = {name: v["in_process_us"] for name, v in variants.items()}

    def row(part: str, name: str, base: str | None) -> str:
        if base is None:
            return f"| {part} | {end_to_end[name]:.0f} | - |"
        return (
            f"| {part} | {end_to_end[name] - end_to_end[base]:+.0f} "
            f"| {in_process[name] - in_process[base]:+.0f} |"
        )

    lines = [
        "Where a request's CPU goes, in µs per request: end to end (1 / req/CPU-s above), and in"
        " process (`bench/asgi_cost.py`: the ASGI app called directly, no socket, the fastest of"
        " 40 batches of CPU time, so nearly immune to other processes).",
        "",
        "| part | end to end | in process |",
        "|---|---:|---:|",
    ]
    if "raw-asgi" in variants:
        lines.append(row("uvicorn (HTTP, event loop, socket)", "raw-asgi", None))
        lines.append(row("FastAPI (routing, the endpoint)", "bare", "raw-asgi"))
    lines += [
        row("servicekit's FastAPI configuration", "configured", "bare"),
        row("servicekit's middleware (orders app less configured)", "servicekit", "configured"),
        row("servicekit in all (orders app less bare)", "servicekit", "bare"),
    ]
    budget = (1 / OVERHEAD_GOAL - 1) * end_to_end["bare"]
    middleware = end_to_end["servicekit"] - end_to_end["configured"]
    amplification = middleware / (in_process["servicekit"] - in_process["configured"])
    lines += [
        "",
        f"servicekit's middleware costs {amplification:.1f}x more per request under load than in"
        " a tight in-process loop (cold caches and branch predictors between requests, the load"
        f" generator on the sibling core, the access log's writes). The {OVERHEAD_GOAL}x goal"
        f" leaves servicekit {budget:.0f} µs end to end over bare FastAPI.",
    ]
    return "\n".join(lines)


def _orders(section: dict[str, Any], images: Path) -> str:
    _plot_orders(section, images / "perf-orders-latency.png")
    rows = [
        "| offered/s | achieved/s | p50 ms | p90 ms | p99 ms | max ms | errors | dropped |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in section["steps"]:
        rows.append(
            f"| {s['rate']} | {s['achieved_rps']:.1f} | {s['p50_ms']:.1f} | {s['p90_ms']:.1f} "
            f"| {s['p99_ms']:.1f} | {s['max_ms']:.0f} | {s['errors']:.0f} | {s['dropped']:.0f} |"
        )
    knee = section["knee_rate"]
    return f"""## 2. End-to-end order path

`POST /v1/orders` with a new `Idempotency-Key` each time: orders verifies the user's JWT
(JWKS cached), gets its client-credentials token (cached), charges through payments and
notifies through notifications. One uvicorn process per service, not pinned; k6 runs on the
same two cores (open-loop constant arrival rate, `bench/k6/orders-rate.js`, one step per rate).

- **Highest rate with p99 < 100 ms and 0 errors: {_clean_rate(section)} orders/s** (the highest
  clean step below the first overloaded one, where the offered rate is no longer achieved; at the
  top of the sweep, a lower bound).
- **Knee: {f"{knee} orders/s" if knee else "not reached in the sweep"}** (the last rate before
  p99 first exceeds twice the lowest p99 at the rates below it; lowest p99 of the sweep
  {section["low_load_p99_ms"]:.1f} ms).

![latency percentiles against arrival rate](images/perf-orders-latency.png)

{chr(10).join(rows)}

Each order costs four service hops of Python on two shared cores (orders, payments,
notifications, plus k6 itself), so the knee is where the cores saturate, not a limit of any
single service; see docs/autoscaling.md for the CPU cost per request.

{_conditions(section)}"""


def _startup(section: dict[str, Any], images: Path) -> str:
    _plot_startup(section, images / "perf-startup.png")
    rows = [
        "| service | median s | min s | max s | CPU s to ready (median) | runs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in section["services"].items():
        cpu = s.get("cpu_median_s")
        rows.append(
            f"| {name} | {s['median_s']:.2f} | {s['min_s']:.2f} | {s['max_s']:.2f} "
            f"| {'-' if cpu is None else f'{cpu:.2f}'} | {len(s['samples_s'])} |"
        )
    return f"""## 3. Startup to ready

From just before `Popen` of a fresh uvicorn process to its first `/readyz` 200 (polled every
5 ms): interpreter start, imports, settings and secrets, the lifespan and, for every service
but auth, the first JWKS fetch from auth (already running). Goal: < {section["goal_s"]:.0f} s.
The CPU seconds the process used until ready approximate the wall time on an idle core: on a
shared machine the wall time grows with every process competing for the cores, the CPU time
hardly (imports are CPU-bound). Each service starts from a virtualenv built the way
`apps/Dockerfile` builds its image (`uv sync --no-dev --no-editable --package <service>
--compile-bytecode`): the image's start, not the dev workspace's, whose extra tools change
what gets imported (httpx loads its command line, with click and rich, when they are
installed). One unmeasured start per service warms the page cache.

![start to ready per service](images/perf-startup.png)

{chr(10).join(rows)}

{_conditions(section)}"""


def _drain(section: dict[str, Any], images: Path) -> str:
    del images
    cells = [f"{section['time_to_exit_s']:.2f} s", str(section["replica_exit_code"])]
    headers = [*OUTCOME_HEADERS, "SIGTERM to exit", "exit code"]
    table = _table(headers, [[*_outcome(section), *cells]])
    return f"""## 4. Drain

Two orders replicas behind a real caddy (active `/readyz` checks every 250 ms, the role of the
endpoints controller), the `zero-downtime` k6 scenario through it at {section["rate"]}
iterations/s for {section["seconds"]} s. Every API request is held
{section["in_flight_latency_ms"]} ms by the service's own latency switch so there is always
work in flight. A third of the way in, replica A gets SIGTERM: `/readyz` turns 503 at once, it
keeps serving for `SERVICE_SHUTDOWN_DELAY_SECONDS={section["shutdown_delay_s"]:g}` (the preStop
sleep's part) while the proxy takes it out, then uvicorn drains and exits.

{table}

{_gates(section)}
The time to exit is the shutdown delay plus the drain of in-flight requests plus the lifespan's
shutdown. An exit code of -15 is uvicorn re-raising SIGTERM once its graceful shutdown is done,
so the supervisor sees the process ended by the signal it sent. In Kubernetes,
`terminationGracePeriodSeconds` must exceed preStop + drain + margin.

{_conditions(section)}"""


def _switch(section: dict[str, Any], images: Path) -> str:
    del images
    cells = [f"{section['promote_s']:.2f} s", f"{section['rollback_s']:.2f} s"]
    table = _table([*OUTCOME_HEADERS, "promote", "rollback"], [[*_outcome(section), *cells]])
    return f"""## 5. Switch: promote and rollback under load

`platformctl up --ephemeral-ports --scale-down-delay -1` in a throwaway home, `platformctl deploy
all --version bench-green`, then the `zero-downtime` k6 scenario through the live ports at
{section["rate"]} iterations/s for {section["seconds"]} s while `platformctl promote all
--skip-analysis` and then `platformctl rollback all` run. Durations are the commands' wall time
(all four services each); the pre- and post-promotion analysis is left out of the promote time
because its length is the configured watch window, not the switch.

{table}

{_gates(section)}
Live color per service before, after the promote and after the rollback (from
`platformctl status --json`): {_colors(section)}.

{_conditions(section)}"""


def _colors(section: dict[str, Any]) -> str:
    colors = section.get("live_colors", {})
    steps = []
    for step in ("before", "promoted", "rolled_back"):
        seen = sorted(set(colors.get(step, {}).values()))
        steps.append(f"{step.replace('_', ' ')}: {'/'.join(seen) or '?'}")
    return "; ".join(steps)


def cpu_per_order_section(data: Path) -> str:
    """From the data file `python -m bench.cpu_per_order` (or `make bench`) writes."""
    if not data.exists():
        return "## 6. CPU per order\n\nNot measured: `.venv/bin/python -m bench.cpu_per_order`.\n"
    result = json.loads(data.read_text())
    medians = result["medians"]
    services = ("orders", "payments", "notifications", "auth")
    rows = []
    for name, figures in medians.items():
        per_service = " | ".join(f"{figures[s]:.2f}" for s in services)
        ratio, failed = figures["ratio_to_baseline"], figures["failed"]
        chain = f"**{figures['chain']:.2f}**"
        shown = f"{ratio:.2f}x" if ratio is not None else "n/a"
        rows.append(f"| {name} | {per_service} | {chain} | {shown} | {failed} |")
    return f"""## 6. CPU per order

`POST /v1/orders` at a constant {result["rate"]} orders/s ({result["seconds"]} s per variant,
{result["rounds"]} alternating rounds, medians), one uvicorn process per service. CPU is read
from `/proc` over the steady part of the load (from 5 s in to 1 s before the end), less each
process's idle rate, and divided by the orders placed in that window by orders' own
`http_requests_total` counter. Goal: 3.0 ms for the whole chain (the order-path issue; 8.3 ms
measured with `make up` before it). Earlier runs of this section counted from the first second
of load, k6's login and the first connections included, and came out about 1.5 times higher
than a steady-state profile; the window fixes that.

| variant | orders | payments | notifications | auth | chain, ms/order | vs baseline | failed |
|---|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

**The verified-token cache** (`servicekit/security.py`, `SERVICE_JWT_CACHE_ENTRIES`, default
4096). The profile, from the order-path issue: py-spy under the same load put about 16 % of
payments' CPU in Ed25519 verification of the same token, again and again (a client sends its
token with every request; orders and payments each verify the user's or the service's). A
token that passed full verification is kept until `exp` plus the leeway, and served only while
its `kid` still maps to the very key object that verified it; a retired, removed or replaced
key, or expiry, sends it back through full verification, and refused tokens are never kept
(`apps/servicekit/tests/test_verified_token_cache.py`, and the JWT attack suites unchanged).

{_loopback_floor(result)}
Reproduce: `make bench`, or this section alone: `.venv/bin/python -m bench.cpu_per_order`
(both write `docs/data/cpu-per-order.json`).
"""


# What a placed order costs the services in exchanges over loopback: orders with payments and
# with notifications, both sides paid; k6 with orders, only orders' side.
EXCHANGES_PER_ORDER = 2.5


def _loopback_floor(result: dict[str, Any]) -> str:
    floor = result.get("loopback")
    if floor is None:
        return ""
    chain = result["medians"]["verified-token cache"]["chain"]
    per_order_ms = EXCHANGES_PER_ORDER * floor["apart_us"] / 1000
    python_ms = chain - per_order_ms
    if chain <= CPU_PER_ORDER_GOAL_MS:
        verdict = "The chain is within the goal."
    elif per_order_ms >= CPU_PER_ORDER_GOAL_MS:
        verdict = "The kernel's share alone is over the goal."
    else:
        cut = 1 - (CPU_PER_ORDER_GOAL_MS - per_order_ms) / python_ms
        verdict = (
            f"A {CPU_PER_ORDER_GOAL_MS} ms chain would need that Python work cut by"
            f" {100 * cut:.0f} %."
        )
    return f"""**The floor under it** (`bench/loopback.py`, same run). One 400-byte request and its
300-byte answer between two processes over loopback TCP, with no Python framework at all, cost
**{floor["apart_us"]:.0f} µs** of CPU (both sides) with {floor["gap_seconds"] * 1000:.3g} ms between
exchanges, as between the orders here, and {floor["back_to_back_us"]:.0f} µs back to back: far
apart, each wake-up finds a cold CPU. A placed order is {EXCHANGES_PER_ORDER:g} such exchanges
for the services (orders with payments and with notifications, both sides; k6 with orders,
orders' side), so at most {per_order_ms:.2f} ms of the chain's {chain:.2f} ms is the kernel's
(at most: an order's exchanges follow each other within milliseconds, so not every wake-up is as
cold). The rest, {python_ms:.2f} ms, is Python, run cold in the same way. {verdict}
{_framework_free_floor(result, chain)}"""


def _framework_free_floor(result: dict[str, Any], chain: float) -> str:
    free = result.get("framework_free")
    if free is None:
        return ""
    floor, hops = free["chain_cpu_ms_per_order"], free["cpu_ms_per_order"]
    per_hop = ", ".join(f"{hop} {ms:.2f}" for hop, ms in hops.items())
    room, spent = CPU_PER_ORDER_GOAL_MS - floor, chain - floor
    verdict = (
        "The goal is met."
        if spent <= room
        else f"Within the goal, all of that would have to fit in {room:.2f} ms: "
        f"{100 * (1 - room / spent):.0f} % less than now."
    )
    return f"""
**The floor with no framework** (`bench/asgi_chain.py`, same run, the same load). The chain as
three raw ASGI apps on uvicorn, uvloop and httptools, aiohttp between them, each hop reading and
writing JSON and nothing else, costs **{floor:.2f} ms** per order ({per_hop}). That much of the
platform's {chain:.2f} ms is the servers, the client and the loop; the other {spent:.2f} ms is
FastAPI's routing and middleware, the body and token checks, idempotency, the access lines and
the metrics. {verdict}
"""


def _outbound(section: dict[str, Any]) -> str:
    medians, ratios = section["median_us_per_call"], section["ratio_to_baseline"]
    rows = [
        [name, f"{medians[name]:.0f}", f"{ratios[name]:.2f}x",
         ", ".join(f"{v:.0f}" for v in section["runs_us_per_call"][name])]
        for name in medians
    ]  # fmt: skip
    return f"""## 6b. Calls between services

What one call costs the caller, in CPU: a fresh process on CPU {LOADGEN_CPU} makes
{section["calls"]:,} sequential `POST` calls with a JSON body and a bearer token, as orders
charges through payments, to a raw ASGI app on CPU {SERVER_CPU}, and reads each answer's JSON
({section["rounds"]} rounds, the clients alternating; median). The baseline is
`httpx.AsyncClient`, servicekit's client until the order-path issue; servicekit now calls
through one `aiohttp.ClientSession` per process (`servicekit/client.py`).

{_table(["client", "CPU per call, µs", "vs httpx", "rounds, µs"], rows)}

**The profile behind it.** py-spy on orders at 40 orders/s (15 s at 200 Hz) put 53 % of its CPU
under `httpx.AsyncClient.request`: request building, cookies, the auth and redirect layers,
then httpcore's h11 state machine on anyio streams, twice per order. aiohttp parses with its C
extension and writes the request in one call. With it the same profile shows orders at 3.6 ms
of CPU per order instead of 6.2 ms.

Reproduce: `.venv/bin/python -m bench.outbound_client`, or `make bench`.
"""


def _clean_rate(section: dict[str, Any]) -> str:
    """The highest clean rate, or "at least" it when the sweep ended clean at its top rate."""
    clean = section["highest_clean_rate"]
    if not clean:
        return "none"
    return f"at least {clean}" if clean == section["steps"][-1]["rate"] else str(clean)


OVERLOAD_HEADER = (
    "| variant | goodput, orders/s (of clean {clean}/s) | placed p99, ms | refused (503) "
    "| refused p99, ms | other failures | dropped iterations "
    "| cores: orders / payments / notifications / k6 |\n|---|---:|---:|---:|---:|---:|---:|---:|"
)
CORE_USERS = ("orders", "payments", "notifications", "k6")


def _cores(cores: dict[str, float] | None) -> str:
    return " / ".join(f"{cores[who]:.2f}" for who in CORE_USERS) if cores else "n/a"


def _overload(section: dict[str, Any], orders: dict[str, Any] | None) -> str:
    clean = (orders or {}).get("highest_clean_rate")
    rows = []
    for v in section["variants"]:
        share = f"{100 * v['goodput_per_second'] / clean:.0f} %" if clean else "n/a"
        rows.append(
            f"| {v['name']} | {v['goodput_per_second']:.1f} ({share}) | {v['placed_p99_ms']:.0f} "
            f"| {v['refused_503']} | {v['refused_p99_ms']:.0f} | {v['other_failures']} "
            f"| {v['dropped_iterations']} | {_cores(v.get('cores'))} |"
        )
    return f"""## 7. Overload: {section["rate"]} orders/s for {section["seconds"]} s

Three times the highest clean rate of section 2, offered open-loop to `POST /v1/orders`, with
and without admission control (`SERVICE_MAX_IN_FLIGHT`, `servicekit/admission.py`): past that
many requests in progress a process answers 503 with `Retry-After: 1` at once, before reading
the request. Goals (the order-path issue): goodput at least 90 % of the clean rate, placed orders
p99 < 250 ms, the excess refused in < 20 ms.

{OVERLOAD_HEADER.format(clean=clean or "n/a")}
{chr(10).join(rows)}

Without a limit the process queues: every order waits behind all the others, k6 runs out of
its 1,000 VUs (dropped iterations) and what is placed takes seconds. A limit bounds the queue:
past it a request is refused before it is read, so the orders let in keep their latency. The
default of 64 is set for a dependency that slows down (orders waits on payments: at 40 orders/s
a 1.5 s payments holds 60 in progress, and those are not overload); a limit of 6 to 8 (a few
times what Little's law gives at the clean rate: {clean or "n/a"} orders/s times a few ms) is what
orders needs to keep the placed p99 low and the refusals fast (8 was enough on the faster of
these machines; on the slower, 6 held the refusals under 20 ms more often than 8: "Profiles
behind fixes" below). A static limit cannot be right for both
cases, which is what adaptive limits (Envoy's adaptive concurrency filter, Netflix's
concurrency-limits) address; that is the next step. Shedding is in the service, not the proxy:
only the process knows how much it has in progress, and a Kubernetes Service has no proxy of
its own to shed at. A refusal is only as fast as the event loop that answers it: until
2026-11-30 the refusals' p99 was 41-45 ms, because an oldest-generation garbage collection in
orders walked every object start-up had made and stopped the loop for up to 46 ms, five times
in 15 s. Each service now freezes its start-up heap once started (`servicekit/heap.py`; see
"Profiles behind fixes" below).

The bar moves with section 2: three times its clean rate is what k6 offers, from the same two
cores the services run on, so a higher clean rate also means more of the machine spent offering
and refusing load (the last column: the cores each process used during the variant's load). On
2026-11-30 the clean rate went from 400 to 700 orders/s, and limit 8's goodput at 2,100 orders/s
stayed near what 1,200 orders/s had given (435-557/s against 472/s).

Reproduce: `.venv/bin/python -m bench --only overload`.
"""


def _profiles() -> str:
    return """## Profiles behind fixes outside the benchmarks

**Email validation in notifications (2026-12-01).** py-spy on notifications under section 6's
load (40 orders/s, 25 s at 200 Hz, 456 samples) put **3.1 %** of its samples in checking the
recipient's address (`email_validator`, about 30 µs a call in process), and orders sends the
same customers' addresses again and again. With no DNS lookup the check is a pure function of
the string, so its verdict is now kept per address (`functools.lru_cache`, 4,096 entries).
Section 6's `measure_variant`, the old package first on `PYTHONPATH` against the new, 4
alternating pairs of 20 s at 40 orders/s on an AMD EPYC machine, the slower of the two in
"What limits these numbers" (the chain was about 6 ms there that day): notifications
**1.50 → 1.44 ms** per order (medians; 1.44-1.63 against 1.34-1.54), a small gain within the
spread of one run.

**The retry loop on the success path (2026-12-01).** py-spy on orders under section 6's load
(40 orders/s, 30 s at 500 Hz, 1,809 samples) put **7.7 %** of its samples in stamina and
tenacity outside the HTTP exchange itself: `ServiceClient.request` entered a retry loop for
every call, and a loop costs **39 µs** of CPU to set up and leave (a tenacity retrier per call;
20,000 loops with no retry in process, against 0.1 µs for the bare call), twice per order.
Nearly every call succeeds at once. Now the first attempt runs outside the loop; a first attempt
that fails is replayed into stamina's loop as its attempt 1, so retries keep their backoff,
their log lines and the retry budget's say (`apps/servicekit/tests/test_retry_budget.py`
unchanged). Section 6's `measure_variant`, the old `servicekit` first on `PYTHONPATH` against
the new, 4 alternating pairs of 30 s at 40 orders/s on the Intel Xeon machine: orders
**1.89 → 1.56 ms** per order
(medians; 1.78-1.94 against 1.48-1.63), the chain 3.39 → 3.16 ms.

**servicekit's cost per request, second pass (2026-11-30).** cProfile on the orders app serving
`GET /v1/catalog` in process (20,000 calls), then `python -m bench.asgi_cost servicekit` (µs of
CPU per request) after each change:
- FastAPI 0.165's own OpenTelemetry hooks are on by default, and on every request ask
  OpenTelemetry for its global providers: 60,001 `os.environ` reads in 20,000 requests, with no
  SDK installed to use them. servicekit passes FastAPI's `telemetry=` setting with its four
  switches off (`servicekit/app.py`; `test_app_factory.py` counts the lookups): **6 µs**.
- 100,000 `Route.matches` in 20,000 requests: FastAPI adds `/openapi.json`, `/docs`,
  `/docs/oauth2-redirect` and `/redoc` before any route of the app, so every request failed
  four matches first. The service's routes now go ahead of them: **5 µs**.
- The request id and access log, and the metrics, were two layers, each wrapping `send`, timing
  the request and looking up its route: one observation layer now (`servicekit/observation.py`),
  **1.5 µs**. A request id from `random.getrandbits` rather than a `getrandom` system call:
  **1 µs**.
- The header limits summed the headers' sizes, then searched them again: one pass, **1 µs**.
- The access line is rendered from a template (identity once, method and route escaped once
  each), and lines wait up to 20 ms to share a `write`, as nginx's `flush=` and Envoy's flush
  interval do. In process this changes little (that loop never yields, so it never paid the
  write); end to end, section 1's harness run on bare FastAPI, the orders app as it was, and the
  orders app with the 20 ms flush (5 rounds, medians) gave 0.841x and **0.886x** of bare per
  CPU-second. The 20 ms then proved a cost at low rates: every line woke its loop again 20 ms
  later to write it, and at 40 orders/s (25 ms apart) nearly every line did. Now a line that
  finds the last write older than 20 ms goes out at the end of that turn of the loop, and only
  lines that follow a write by less wait for the rest of the interval: a busy service still
  writes at most once per 20 ms. Section 6's load run in alternation (`bench.cpu_per_order`'s
  `measure_variant`, 15 s at 40 orders/s, 4 pairs, a throwaway switch between the two rules):
  chain **6.27 → 5.99 ms** per order (medians), lower in all 4 pairs (payments and
  notifications 0.05-0.3 ms each). The machine was slower that hour than for section 6's figure.

- A write's dependencies. cProfile on payments serving `POST /v1/charges` in process (a real
  token from a real auth, 5,000 calls) put half the CPU in FastAPI's `solve_dependencies`: the
  route's tree held five dependencies (the endpoint, `idempotent_write`, `require_scopes`,
  `HTTPBearer` and the key's header check), and FastAPI 0.165 solves each on its own, its
  parameters looked up group by group (12 `request_params_to_args` calls per request). Now
  `require_scopes` returns a `ScopedBearer`, an `HTTPBearer` that also verifies the token and
  its scopes, and `idempotent_write` one that also checks the `Idempotency-Key`: two
  dependencies, the OpenAPI documents byte for byte the same. A charge in process: **204 →
  172 µs** of CPU (fastest of 20 batches of 200, twice each). At 40 orders/s end to end the
  change is within the noise (chain medians 5.18 and 5.16 ms over 4 alternating pairs): a
  cold wake-up costs far more than these 32 µs.

In process, the orders app went from 70.5 to 56.0 µs per request (bare FastAPI 48.1); end to
end, section 1 went from 0.78x (the `make bench` of 15:52 that day) to the figure it shows now.

**Tried past the knee and not kept (2026-12-01).** Section 7's load (2,100 orders/s, open loop),
with CPU read from `/proc` of each process:
- The admission limit is not what holds goodput under 90 %. Limits 8, 10, 12 and 16, 30 s each,
  two rounds in turn, gave 603/543, 597/583, 577/605 and 582/553 orders/s; the same limit moved
  by up to 60/s from one round to the next, more than any limit moved it. The refusals' p99 grew
  with the limit: 12-15 ms at 8, 16-20 ms at 12, 29-34 ms at 16. The two cores were full: orders
  0.78-0.80 of a core, payments 0.25, notifications 0.29, and k6 0.42 to offer and count the
  load.
- py-spy on orders in that run (limit 8, 25 s at 100 Hz, 1,512 samples): the refusals, 503 and
  all, 7.2 % of its samples. The two writes uvicorn makes per response (headers, then body)
  8 % of self time, aiohttp's request writes 7.7 %, the event loop itself 9.6 %. One write per
  response (a transport that joins the writes of one loop turn, given to uvicorn as its protocol
  class) gained nothing end to end: 3.05 against 3.17 ms and 3.32 against 3.32 ms of CPU per
  order at 300 orders/s, two alternating pairs. The loop turn it adds costs what the write saves.
- k6 discarding the response bodies (`responseType: 'none'`) used 0.39 of a core either way, two
  pairs.
- Where the cores go past the knee, against a load the platform places in full (limit 8, 30 s
  each, two rounds of each, CPU from `/proc`). Offered 550 orders/s: 543-547 placed, orders
  0.69-0.72 of a core, payments 0.28-0.29, notifications 0.32-0.33, k6 0.25-0.26. Offered 2,100:
  532-549 placed and about 1,550 a second refused, orders 0.77, payments 0.24, notifications
  0.28, k6 0.45-0.46. So a refusal costs orders about 40 µs, 0.06 of a core in all, while
  offering and counting the excess costs k6 0.2 of a core: on two shared cores the load
  generator, not the refusals, takes most of what the placed orders lose.
- k6 with `GOGC=400` (less of its time in Go's collector), alternating with the default: k6
  0.40-0.43 of a core against 0.45-0.46, goodput 591 and 505 against 549 and 532 orders/s,
  within the noise. Not kept.

**The limit on the slower machine, and a limit by the event loop's lag (2026-12-01, AMD
EPYC).** Here section 2's clean rate was 350 orders/s, so section 7 offers 1,050; the goals are
315 placed a second, placed p99 < 250 ms and refusals p99 < 20 ms. Each variant 30 s, in four
runs of four or five variants (`bench.overload.measure`, the build of the cluster tools paused):

| variant | goodput, orders/s | placed p99, ms | refused p99, ms |
|---|---|---|---|
| limit 4 | 233, 328 | 40-42 | 18.4, 20.4 |
| limit 6 | 364, 387, 284 | 39-51 | 15.6, 16.9, 21.1 |
| limit 8 | 330, 291, 321, 303 | 57-74 | 21.4-27.5 |
| limit 12 | 379 | 73 | 26.9 |
| limit 16 | 362 | 100 | 35.9 |
| default limit (64) | 387 | 329 | 105 |
| loop lag 10 ms (and 64) | 440 | 160 | 45 |
| loop lag 5 ms / 3 ms (and 64) | 365 / 409, 319 | 124-169 | 41.7 / 32.0, 37.6 |

- A tight limit is what holds the refusals under 20 ms; here that is 6, not 8. Limit 6 met all
  three goals in two runs of three. Even limit 4 took 18-20 ms to refuse, with orders at 0.63
  of a core, so it is not orders' own queue but the two shared cores: orders, payments,
  notifications and k6 want about 1.7 of them, and a refusal waits its turn for one.
- The same limit moved goodput by up to 100 orders/s from one run to the next (limit 6: 284 to
  387), more than the limits moved it. The full `make bench` of 2026-12-02 00:20 on the same
  machine, with nothing else running, found a clean rate of 400 and placed about twice as much
  at 1,200 offered (limit 8: 736/s, refusals p99 11 ms; limit 6: 722/s, 10 ms): both limits met
  every goal there. What the earlier runs shared the cores with is not known; the machine's
  spread from one hour to the next is wider than the limits' differences, so 6 stays the
  variant to watch and 8 the one the reliability profile runs.
- **A limit by the loop's lag, tried and not kept.** Past 8 requests in progress, a prototype
  refused while a timer sampled every 5 ms fired later than a bound. A request that waits on
  a slow dependency holds no CPU and leaves the loop punctual, so it would not be refused, where
  a count of 6 or 8 refuses it. Against the default of 64 it helped: more placed (440 against
  387 a second), placed p99 160 against 329 ms, refusals 45 against 105 ms. But it never
  brought the refusals under 20 ms: the lag is seen only after the loop has fallen behind, and
  by then the requests that came meanwhile have waited. A count limit stops the backlog before
  it forms.

**Garbage-collector pauses (2026-11-30).** Past the admission limit, refusals took longer than
the orders let in (limit 2 at 1,200 orders/s for 15 s: refused p99 24.6 ms, placed p99 13.1 ms),
so it was not the work of a refusal but the loop not answering. `gc.callbacks` timing every
collection in orders over that run: 821 young collections (at most 4.3 ms), 74 middle ones (at
most 2.9 ms) and 5 of the oldest generation, **up to 45.8 ms each**: they walk the whole heap,
and start-up leaves tens of thousands of objects (86,000 in notifications) that live as long as
the process. Now each service,
once started, collects start-up's garbage and freezes the rest (`gc.freeze`,
`servicekit/heap.py`; `apps/servicekit/tests/test_process_behaviour.py` reads the count from
the `started` log line). The same run after it: 7 oldest-generation collections of at most
1.3 ms, refused p99 **6.0 ms**, placed p99 11.7 ms, goodput 372 → 379 orders/s; with a limit of
8 the refusals' p99 went from 45 to 12 ms. Reproduce the timings with a `gc.callbacks` hook in
`create_service_app`'s lifespan and `python -m bench --only overload`.

**The request metrics and the access line (2026-11-30).** py-spy on the orders app under
section 1's load (8 s at 250 Hz, 1,915 samples) put a fifth of the process in servicekit's
layers, most of it in two places: prometheus_client's `inc` and `observe` (a lock each, and a
histogram scans its 20 buckets one by one, twice per request) and structlog's chain for the
access line (a context copy, five processors, a bound-logger dispatch, then a `write` and a
`flush` per line). Now the request metrics are plain Python numbers counted on the event
loop's thread, a bucket found by bisection, and exposed under the same names at scrape time
(`servicekit/metrics.py`, `apps/servicekit/tests/test_request_metrics.py`); the access line is
rendered straight to bytes, the very line structlog wrote (`test_access_log.py` compares
them), and the lines of one turn of the event loop shared one `write` (since the second pass,
above, the lines of up to 20 ms). In process
(`python -m bench.asgi_cost VARIANT`, µs of CPU per request, same machine, same hour):

| variant | before | after |
|---|---:|---:|
| bare FastAPI | 48.5 | 48.1 |
| + metrics | 58.9 | 53.4 |
| + request id + access log | 66.4 | 60.6 |
| orders app (full servicekit) | 80.4 | 70.3 |

End to end (section 1, the same day): 0.66x bare before, 0.74-0.76x after.

**Readiness probes built a client each (2026-11-29).** `tests/platformctl/test_zero_downtime.py`
(k6 at 100/s + 10/s through the live ports during `deploy all`, `promote all`, `rollback all`)
began failing: p95 6-15 s, up to 105 dropped iterations, new colors ready after 18-25 s. With
the same load and no deploy, p95 was 25 ms. `py-spy record` on the `deploy` CLI and on the
supervisor during `deploy all` (10 s each, 718 and 746 samples) put 92 % and 86 % of their
samples in `ssl.create_default_context`, under `httpx.Client.__init__`: every readiness probe
built a new client, and each one loads the CA bundle (46 ms of CPU for this machine's 144
certificates, `python -c 'import ssl; ssl.create_default_context()'`, ten runs), so the two
processes took most of a core from the live colors. The same code had passed on earlier boots
of these machines; the bundle is rebuilt at boot, so its size (and this cost) varies. Now every
loopback call in the local runtime goes through one client per process
(`platformctl/local/loopback.py`). Same test, same machine:

| | p95 / p99 (100/s) | dropped | new colors ready after | runbook |
|---|---:|---:|---:|---:|
| a new client per probe | 6044 / 11656 ms | 0-105 | 18.3-25.6 s | 47-56 s |
| one client per process | 28.7 / 76.7 ms | 0 | 6.0 s | 34.2 s |

Reproduce: `.venv/bin/pytest -s tests/platformctl/test_zero_downtime.py` (prints the figures).
"""


def _limits() -> str:
    return """## What limits these numbers

- **Two cores, shared.** k6, the four services and, during `make test`, other suites compete for
  the same two cores. The end-to-end figures are a floor for one replica per service, not a
  capacity of the design; the HPA adds replicas (docs/autoscaling.md).
- **One uvicorn process per service**, as in the pods (one process per pod, scaled by replicas).
- **Loopback only.** No network latency or TLS between services.
- **k6 on the same machine.** In benchmark 1 it is pinned to the other core; the "server CPU"
  column shows how much of its core the server actually got, which is why the ratios are per
  CPU-second and cross-checked in process.
- **Two machines, twice apart.** These sessions run on 2-core VMs that are not always the same
  machine. On an Intel Xeon (`make bench` sections of 2026-12-01 04:16) the same code gave: the
  chain **3.10 ms** per order (orders 1.61, payments 0.72, notifications 0.77), the
  framework-free chain 1.17 ms, the loopback exchange 96 µs, a clean rate of at least 800
  orders/s, and at 2,400 offered limit 8 placed 707/s (88 % of 800) with refusals in 10.7 ms.
  On the AMD EPYC of the figures above each of those costs about twice as much CPU (chain 4.85
  to 6 ms, framework-free 2.21 ms, loopback 224 µs), Python or not; so CPU per order is read
  against the framework-free floor measured in the same run, not against the other machine.
- **Noise.** Re-running a section moves the absolute figures by tens of percent on this shared
  box (the order path's highest clean rate came out at 30, 40 and 80 orders/s in three runs
  the same evening, as other suites came and went);
  the conclusions above (overhead well under the goal, zero failed requests through drain and
  switch) held in every run.
"""


# -- plots ----------------------------------------------------------------------------------------


def _plot_overhead(section: dict[str, Any], path: Path) -> None:
    variants = section["variants"]
    labels = [v["label"] for v in variants]
    ratios = [v["throughput_ratio"] for v in variants]
    errors = [
        [r - v["throughput_ratio_range"][0] for r, v in zip(ratios, variants, strict=True)],
        [v["throughput_ratio_range"][1] - r for r, v in zip(ratios, variants, strict=True)],
    ]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    y = range(len(labels))
    ax.barh(y, ratios, xerr=errors, color="#4c72b0", capsize=3)
    ax.axvline(OVERHEAD_GOAL, color="#c44e52", linestyle="--", label=f"goal {OVERHEAD_GOAL}x")
    ax.set_yticks(list(y), labels)
    ax.invert_yaxis()
    ax.set_xlabel("requests per CPU-second, relative to bare FastAPI (same round)")
    ax.set_xlim(0, max(1.25, max(v["throughput_ratio_range"][1] for v in variants) + 0.15))
    for i, (ratio, v) in enumerate(zip(ratios, variants, strict=True)):
        right = max(ratio, v["throughput_ratio_range"][1])
        ax.text(right + 0.02, i, f"{ratio:.2f}x", va="center")
    ax.legend(loc="lower right")
    ax.set_title("GET /v1/catalog: servicekit pieces against bare FastAPI")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_orders(section: dict[str, Any], path: Path) -> None:
    steps = section["steps"]
    rates = [s["rate"] for s in steps]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for key, label in (("p50_ms", "p50"), ("p90_ms", "p90"), ("p99_ms", "p99")):
        ax.plot(rates, [s[key] for s in steps], marker="o", label=label)
    ax.axhline(100, color="#c44e52", linestyle="--", label="100 ms")
    if section["knee_rate"]:
        ax.axvline(section["knee_rate"], color="grey", linestyle=":", label="knee")
    ax.set_yscale("log")
    ax.set_xlabel("offered rate (orders/s)")
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_title("POST /v1/orders end to end: latency against arrival rate")
    errors = [(s["rate"], s["errors"]) for s in steps if s["errors"]]
    for rate, count in errors:
        ax.annotate(f"{count:.0f} err", (rate, ax.get_ylim()[1]), ha="center", va="top")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_startup(section: dict[str, Any], path: Path) -> None:
    names = list(section["services"])
    medians = [section["services"][n]["median_s"] for n in names]
    low = [m - section["services"][n]["min_s"] for m, n in zip(medians, names, strict=True)]
    high = [section["services"][n]["max_s"] - m for m, n in zip(medians, names, strict=True)]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(names, medians, yerr=[low, high], capsize=4, color="#55a868")
    ax.axhline(section["goal_s"], color="#c44e52", linestyle="--", label="goal")
    ax.set_ylabel("seconds to first /readyz 200")
    ax.set_title("Startup to ready (median, min-max)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
