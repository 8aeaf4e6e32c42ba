"""Benchmark 1: what the servicekit stack costs on ``GET /v1/catalog``.

Each variant runs as its own uvicorn process on CPU 0 with the same settings; k6 drives it
from CPU 1 with a fixed number of closed-loop users. Variants are measured in rotation, several
rounds, and each round's figures are divided by the bare app's in the same round.

Two throughput figures per variant: requests per second, and requests per CPU-second of the
server process (from /proc). They agree when the server has its core to itself. On a shared
machine other processes steal the server's core at random, which moves req/s but hardly the
CPU cost of a request, so the headline ratio is the one per CPU-second: the throughput a core
sustains when the service is the bottleneck.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cpu import cpu_seconds
from bench.k6run import run_k6
from bench.plan import LOADGEN_CPU, SERVER_CPU, Plan
from bench.stack import REPO_ROOT, Stack, free_port, pinned, stop, uvicorn_command, wait_until_ready

SCRIPT = REPO_ROOT / "bench" / "k6" / "throughput.js"


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    app: str
    ready_path: str = "/readyz"


VARIANTS = (
    Variant("raw-asgi", "uvicorn alone (raw ASGI, no FastAPI)", "bench.apps:create_app"),
    Variant("bare", "bare FastAPI", "bench.apps:create_app"),
    Variant(
        "configured",
        "bare FastAPI, configured as servicekit does",
        "bench.apps:create_app",
    ),
    Variant("request-id", "+ request id", "bench.apps:create_app"),
    Variant("request-log", "+ request id + access log", "bench.apps:create_app"),
    Variant("metrics", "+ metrics", "bench.apps:create_app"),
    Variant("all-three", "+ request id, log, metrics", "bench.apps:create_app"),
    Variant("servicekit", "orders app (full servicekit)", "orders_service.main:create_app"),
)


def run(plan: Plan, stack: Stack, workdir: Path) -> dict[str, Any]:
    # All variants start once and stay up (idle ones cost nothing); only one is loaded at a time.
    servers = {v.name: _start(v, stack, workdir) for v in VARIANTS}
    try:
        for variant in VARIANTS:
            url, process = servers[variant.name]
            wait_until_ready(url + variant.ready_path, process, timeout=120)
        rounds: list[dict[str, dict[str, float]]] = []
        for round_number in range(plan.overhead_repeats):
            # Rotate the order so no variant always runs first or last.
            shift = round_number % len(VARIANTS)
            order = VARIANTS[shift:] + VARIANTS[:shift]
            rounds.append({v.name: _measure(v, servers[v.name], plan, workdir) for v in order})
    finally:
        for _, process in servers.values():
            stop(process)
    variants = [_aggregate(v, rounds) for v in VARIANTS]
    # Twice, keeping the lower: a burst of other work on the core can spoil one pass.
    for row in variants:
        row["in_process_us"] = _in_process_us(row["name"], stack)
    for row in variants:
        row["in_process_us"] = min(row["in_process_us"], _in_process_us(row["name"], stack))
    return {
        "variants": variants,
        "rounds": rounds,
        "vus": plan.overhead_vus,
        "seconds": plan.overhead_seconds,
    }


def _start(variant: Variant, stack: Stack, workdir: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    log = (workdir / f"server-{variant.name}.log").open("ab")
    process = subprocess.Popen(
        pinned(uvicorn_command(variant.app, port, app_dir=REPO_ROOT), SERVER_CPU),
        env=stack.service_env("orders", BENCH_VARIANT=variant.name),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    log.close()
    return f"http://127.0.0.1:{port}", process


def _measure(
    variant: Variant,
    server: tuple[str, subprocess.Popen[bytes]],
    plan: Plan,
    workdir: Path,
) -> dict[str, float]:
    url, process = server
    load = {"URL": f"{url}/v1/catalog", "VUS": plan.overhead_vus}
    summary = workdir / f"k6-{variant.name}.json"
    warmup = {**load, "DURATION": f"{plan.overhead_warmup_seconds}s"}
    run_k6(SCRIPT, warmup, summary, cpus=LOADGEN_CPU)
    cpu_before, started = cpu_seconds(process.pid), time.perf_counter()
    result = run_k6(
        SCRIPT, {**load, "DURATION": f"{plan.overhead_seconds}s"}, summary, cpus=LOADGEN_CPU
    )
    cpu = cpu_seconds(process.pid) - cpu_before
    busy = cpu / (time.perf_counter() - started)
    return {
        "rps": result.metric("http_reqs", "rate"),
        "p50_ms": result.metric("http_req_duration", "med"),
        "p99_ms": result.metric("http_req_duration", "p(99)"),
        "failed": result.metric("http_req_failed", "rate"),
        "server_cpu": busy,
        "req_per_cpu_s": result.metric("http_reqs", "count") / cpu,
    }


def _in_process_us(variant: str, stack: Stack) -> float:
    """CPU microseconds per request with the ASGI app called directly (bench.asgi_cost)."""
    done = subprocess.run(
        pinned([sys.executable, "-m", "bench.asgi_cost", variant], SERVER_CPU),
        env=stack.service_env("orders"),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return float(done.stderr.strip().splitlines()[-1])


def _aggregate(variant: Variant, rounds: list[dict[str, dict[str, float]]]) -> dict[str, Any]:
    runs = [r[variant.name] for r in rounds]
    ratios = [r[variant.name]["req_per_cpu_s"] / r["bare"]["req_per_cpu_s"] for r in rounds]
    rps_ratios = [r[variant.name]["rps"] / r["bare"]["rps"] for r in rounds]
    p99_ratios = [r[variant.name]["p99_ms"] / r["bare"]["p99_ms"] for r in rounds]
    return {
        "name": variant.name,
        "label": variant.label,
        "rps": statistics.median(r["rps"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "failed": max(r["failed"] for r in runs),
        "server_cpu": statistics.median(r["server_cpu"] for r in runs),
        "req_per_cpu_s": statistics.median(r["req_per_cpu_s"] for r in runs),
        "rps_ratio": statistics.median(rps_ratios),
        "throughput_ratio": statistics.median(ratios),
        "throughput_ratio_range": [min(ratios), max(ratios)],
        "p99_ratio": statistics.median(p99_ratios),
    }
