"""Past the knee: orders offered at several times the highest clean rate, with and without
admission control (``SERVICE_MAX_IN_FLIGHT``, servicekit/admission.py).

    .venv/bin/python -m bench --only overload

Each variant starts the four services with its own settings and offers ``POST /v1/orders`` at
``plan.overload_rate`` (open loop, so a slow server cannot slow the offered load down). It reports
the goodput (orders placed per second), the p99 of placed orders, how many were refused with 503
and how fast, everything else that failed (timeouts, resets, dropped iterations), and the cores
each service and k6 used meanwhile (from /proc): on two shared cores, what the load generator
takes to offer the excess is taken from the services.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.cpu import cpu_seconds
from bench.cpu_per_request import k6_env
from bench.k6run import K6Result, run_k6
from bench.orders_curve import ROUTE, SCRIPT
from bench.plan import Plan
from bench.stack import Stack, running_stack

# The baseline first. The default limit is set for traffic that waits on a slow dependency too;
# the tighter ones are what orders needs to hold its p99 past the knee: 8 on the faster of these
# machines, 6 on the slower (docs/performance.md, section 7).
VARIANTS: dict[str, dict[str, str]] = {
    "no admission limit": {"SERVICE_MAX_IN_FLIGHT": "0"},
    "default limit (64)": {},
    "limit 8": {"SERVICE_MAX_IN_FLIGHT": "8"},
    "limit 6": {"SERVICE_MAX_IN_FLIGHT": "6"},
}


def run(plan: Plan, _stack: Stack, workdir: Path) -> dict[str, Any]:
    """`make bench`'s entry: every variant at the plan's rate and duration."""
    return measure(plan.overload_rate, plan.overload_seconds, VARIANTS, workdir)


def measure(
    rate: int, seconds: int, variants: Mapping[str, Mapping[str, str]], workdir: Path
) -> dict[str, Any]:
    measured = []
    for name, settings in variants.items():
        print(f"  {name}: {rate} orders/s for {seconds} s", flush=True)
        folder = workdir / "".join(c if c.isalnum() else "-" for c in name)
        folder.mkdir(parents=True, exist_ok=True)
        with running_stack(folder / "stack", env=dict(settings)) as stack:
            pids = {service: running.process.pid for service, running in stack.services.items()}
            before = _cpu(pids)
            started = time.monotonic()
            result = run_k6(
                SCRIPT,
                k6_env(stack) | {"RATE": rate, "DURATION": f"{seconds}s", "MAX_VUS": 1000},
                folder / "k6.json",
                timeout=seconds + 180,
            )
            elapsed = time.monotonic() - started
            after = _cpu(pids)
        cores = {who: round((after[who] - before[who]) / elapsed, 2) for who in after}
        row = {
            "name": name,
            "settings": dict(settings),
            **figures(result, rate, seconds),
            "cores": cores,
        }
        measured.append(row)
        print(f"    {row}", flush=True)
    return {"rate": rate, "seconds": seconds, "variants": measured}


def _cpu(pids: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds so far of each service, and of k6 (this process's finished children)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {name: cpu_seconds(pid) for name, pid in pids.items()} | {
        "k6": children.ru_utime + children.ru_stime
    }


def figures(result: K6Result, rate: int, seconds: int) -> dict[str, Any]:
    def stat(metric: str, name: str) -> float:
        values = result.summary["metrics"].get(metric, {}).get("values", {})
        return float(values.get(name, 0.0))

    placed = f"http_req_duration{{name:{ROUTE},status:201}}"
    refused = f"http_req_duration{{name:{ROUTE},status:503}}"
    answered = stat(f"http_req_duration{{name:{ROUTE}}}", "count")
    offered = rate * seconds
    placed_count, refused_count = stat(placed, "count"), stat(refused, "count")
    return {
        "offered": offered,
        "placed": int(placed_count),
        "goodput_per_second": round(placed_count / seconds, 1),
        "placed_p99_ms": round(stat(placed, "p(99)"), 1),
        "refused_503": int(refused_count),
        "refused_p99_ms": round(stat(refused, "p(99)"), 1),
        # Timeouts, resets, other statuses, and iterations k6 could not even start.
        "other_failures": int(answered - placed_count - refused_count),
        "dropped_iterations": int(stat("dropped_iterations", "count")),
    }
