"""CPU per order, per service and for the whole chain, at a constant order rate (from /proc).

    .venv/bin/python -m bench.cpu_per_order                       # 40 orders/s, 30 s, 2 rounds
    .venv/bin/python -m bench.cpu_per_order --seconds 10 --rounds 1
    .venv/bin/python -m bench --only cpu_per_order                # the same, as part of make bench

Each variant starts the four services (``bench.stack``, one uvicorn process each) with its own
settings, measures each process's idle CPU, then offers ``bench/k6/orders-rate.js`` (one login,
then a new order per request, each one orders -> payments -> notifications). A service's CPU per
order is its CPU over the steady part of the load (after a warm-up), less its idle rate, divided
by the orders orders' own counter saw placed in that window. The
variants alternate round by round, so drift on the machine hits both; the report gives each
figure's median over the rounds and the ratio to the first variant, the baseline. Two floors
follow: loopback TCP alone (``bench.loopback``) and the same chain with no framework
(``bench.asgi_chain``), at the same load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench import asgi_chain, loopback
from bench.cpu import MIN_SECONDS, WARMUP_SECONDS, busy_in_steady_window
from bench.cpu_per_request import ORDER_ROUTE, ORDERS_SCRIPT, k6_env
from bench.k6run import K6Process
from bench.plan import Plan
from bench.stack import REPO_ROOT, SERVICES, Stack, running_stack

DATA_FILE = Path("data") / "cpu-per-order.json"  # under the docs folder
RESULTS = REPO_ROOT / "docs" / DATA_FILE
# The baseline first: what every request cost before the verified-token cache.
VARIANTS: dict[str, dict[str, str]] = {
    "every token verified": {"SERVICE_JWT_CACHE_ENTRIES": "0"},
    "verified-token cache": {},
}
ORDER_HANDLER = "/v1/orders"


def placed_orders(orders_url: str) -> float:
    """Orders answered 2xx so far, from the orders process's own request counter."""
    text = httpx.get(orders_url + "/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name == "http_requests_total"
                and labels.get("handler") == ORDER_HANDLER
                and labels.get("method") == "POST"
                and labels.get("status") == "2xx"
            ):
                return sample.value
    return 0.0


def measure_variant(
    settings: Mapping[str, str], workdir: Path, *, rate: int, seconds: int
) -> dict[str, Any]:
    """The steady state: CPU and placed orders are read once the load has run WARMUP_SECONDS
    (k6's login, first connections, lazy imports) and again a second before it ends."""
    with running_stack(workdir, env=settings) as stack:
        pids = {name: stack.services[name].process.pid for name in SERVICES}
        env = k6_env(stack) | {"RATE": rate, "DURATION": f"{seconds}s"}
        busy, placed, elapsed, k6 = busy_in_steady_window(
            pids,
            lambda: placed_orders(stack.url("orders")),
            lambda: K6Process(ORDERS_SCRIPT, env, workdir / "k6-orders.json"),
            seconds,
        )
        result = k6.wait(timeout=seconds + 120)
    failed = result.summary["metrics"][f"http_req_failed{{name:{ORDER_ROUTE}}}"]["values"]
    orders = int(placed)
    if not orders:
        raise RuntimeError(f"no order succeeded (k6 exit {result.exit_code}):\n{result.output}")
    per_order = {name: 1000 * busy[name] / orders for name in SERVICES}
    return {
        "orders": orders,
        "window_seconds": round(elapsed, 2),
        "failed": int(failed["passes"]),
        "k6_exit_code": result.exit_code,
        "p99_ms": result.metric(f"http_req_duration{{name:{ORDER_ROUTE}}}", "p(99)"),
        "cpu_ms_per_order": {name: round(ms, 3) for name, ms in per_order.items()},
        "chain_cpu_ms_per_order": round(sum(per_order.values()), 3),
    }


def measure(
    rate: int, seconds: int, rounds: int, workdir: Path, *, floor_seconds: float = 5.0
) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
    load = f"{rate} orders/s for {seconds} s"
    for round_number in range(1, rounds + 1):
        for name, settings in VARIANTS.items():
            print(f"round {round_number}/{rounds}: {name} ({load})", flush=True)
            run = measure_variant(
                settings, workdir / f"{round_number}-{len(runs[name])}", rate=rate, seconds=seconds
            )
            runs[name].append(run)
            chain = run["chain_cpu_ms_per_order"]
            print(f"  chain {chain:.2f} ms/order, {run['cpu_ms_per_order']}", flush=True)
    baseline = next(iter(VARIANTS))
    medians = {name: _medians(variant_runs) for name, variant_runs in runs.items()}
    for name in VARIANTS:
        base, this = medians[baseline]["chain"], medians[name]["chain"]
        medians[name]["ratio_to_baseline"] = round(this / base, 3) if base else None
    # The floors under these figures: loopback TCP alone, exchanges as far apart as the orders;
    # then the same chain on uvicorn and aiohttp with no framework, at the same load.
    floor = loopback.measure(1 / rate, max(10, round(floor_seconds * rate)))
    print(f"the chain with no framework ({load})", flush=True)
    framework_free = asgi_chain.measure(rate, seconds, workdir / "asgi-chain")
    return {
        "rate": rate,
        "seconds": seconds,
        "rounds": rounds,
        "medians": medians,
        "runs": runs,
        "loopback": floor,
        "framework_free": framework_free,
    }


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "chain": round(statistics.median(r["chain_cpu_ms_per_order"] for r in runs), 3),
        **{
            name: round(statistics.median(r["cpu_ms_per_order"][name] for r in runs), 3)
            for name in SERVICES
        },
        "failed": sum(r["failed"] for r in runs),
    }


def run(plan: Plan, _stack: Stack, workdir: Path) -> dict[str, Any]:
    """`make bench`'s entry, at the plan's load; each variant starts services of its own (with
    its own settings). `python -m bench` writes the result to the docs' data file."""
    return measure(
        plan.cpu_per_order_rate, plan.cpu_per_order_seconds, plan.cpu_per_order_rounds, workdir
    )


def save(result: dict[str, Any], path: Path = RESULTS) -> None:
    """The data file docs/performance.md's section reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=40, help="orders per second")
    parser.add_argument("--seconds", type=int, default=30, help="load per variant and round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.rate < 1 or args.rounds < 1:
        parser.error("--rate and --rounds must be at least 1")
    if args.seconds < MIN_SECONDS:
        parser.error(
            f"--seconds must be at least {MIN_SECONDS} (a {WARMUP_SECONDS} s warm-up first)"
        )
    with tempfile.TemporaryDirectory(prefix="cpu-per-order-") as workdir:
        result = measure(args.rate, args.seconds, args.rounds, Path(workdir))
    save(result)
    for name, figures in result["medians"].items():
        print(f"{name}: {json.dumps(figures)}")
    print(f"wrote {RESULTS.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
