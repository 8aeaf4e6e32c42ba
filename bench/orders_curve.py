"""Benchmark 2: ``POST /v1/orders`` end to end at rising arrival rates.

Each order goes orders -> payments (with orders' cached client-credentials token) ->
notifications, all real uvicorn processes, one per service, sharing the machine's two cores with
k6. Each step is an open-loop constant arrival rate, so a slow server cannot slow the offered
load down (no coordinated omission). The sweep stops two steps after the system breaks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.k6run import run_k6
from bench.plan import Plan
from bench.stack import REPO_ROOT, Stack

SCRIPT = REPO_ROOT / "bench" / "k6" / "orders-rate.js"
ROUTE = "POST /v1/orders"
P99_GOAL_MS = 100.0
BROKEN_P99_MS = 1000.0


def run(plan: Plan, stack: Stack, workdir: Path) -> dict[str, Any]:
    # Warm-up, not recorded: first connections, orders' first service token, first JWKS use.
    _step(plan.order_rates[0], plan, stack, workdir, seconds=3)
    steps: list[dict[str, float]] = []
    broken = 0
    for rate in plan.order_rates:
        step = _step(rate, plan, stack, workdir)
        steps.append(step)
        broken += step["errors"] > 0.05 * step["requests"] or step["p99_ms"] > BROKEN_P99_MS
        if broken >= 2:
            break
    return {"steps": steps, **analyse(steps)}


def _step(
    rate: int, plan: Plan, stack: Stack, workdir: Path, seconds: int | None = None
) -> dict[str, float]:
    seconds = seconds or plan.order_step_seconds
    result = run_k6(
        SCRIPT,
        {
            "RATE": rate,
            "DURATION": f"{seconds}s",
            "MAX_VUS": 400,
            "AUTH_URL": stack.url("auth"),
            "ORDERS_URL": stack.url("orders"),
            "PASSWORD": stack.credentials.password,
        },
        workdir / f"orders-{rate}.json",
    )
    duration = f"http_req_duration{{name:{ROUTE}}}"
    failed = f"http_req_failed{{name:{ROUTE}}}"
    requests = result.metric(duration, "count")
    return {
        "rate": rate,
        "achieved_rps": requests / seconds,
        "requests": requests,
        "errors": round(result.metric(failed, "rate") * requests),
        "dropped": result.metric("dropped_iterations", "count"),
        "p50_ms": result.metric(duration, "med"),
        "p90_ms": result.metric(duration, "p(90)"),
        "p95_ms": result.metric(duration, "p(95)"),
        "p99_ms": result.metric(duration, "p(99)"),
        "max_ms": result.metric(duration, "max"),
    }


def overloaded(step: dict[str, float]) -> bool:
    """The offered rate is no longer achieved: iterations dropped, or under 95 % of it done."""
    return bool(step["dropped"]) or step["achieved_rps"] < 0.95 * step["rate"]


def analyse(steps: list[dict[str, float]]) -> dict[str, Any]:
    """The highest clean rate, and the knee.

    Overloaded: the offered rate is no longer achieved (iterations dropped, or under 95 % of it
    done). Clean: p99 under 100 ms, no error and nothing dropped. The highest clean rate is the
    highest clean step below the first overloaded one; an outlier at a lower rate (a noisy
    neighbour) shows in the table but does not cap it. The knee is the last rate before p99
    first exceeds twice the lowest p99 seen at the rates below it: where queueing takes over.
    """
    highest_clean = None
    for step in steps:
        if overloaded(step):
            break
        if step["p99_ms"] < P99_GOAL_MS and not step["errors"]:
            highest_clean = step["rate"]
    knee = None
    for index in range(1, len(steps)):
        floor = min(s["p99_ms"] for s in steps[:index])
        if steps[index]["p99_ms"] > 2 * floor:
            knee = steps[index - 1]["rate"]
            break
    return {
        "highest_clean_rate": highest_clean,
        "knee_rate": knee,
        "low_load_p99_ms": min((s["p99_ms"] for s in steps), default=0.0),
    }
