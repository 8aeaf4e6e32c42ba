"""Benchmark 3: from process start to the first ``/readyz`` 200, per service.

A fresh uvicorn process each run, timed from just before ``Popen`` to the first 200 (polled
every 5 ms), which includes the interpreter start, imports, settings, the lifespan and, for
every service but auth, fetching auth's JWKS. Auth and the rest of the stack are already up.

Next to the wall time, the CPU seconds the process used until it was ready: on a shared
machine the wall time grows with every process competing for the cores, the CPU time hardly,
so it approximates the wall time on an idle core (imports are CPU-bound).

Each service starts from a virtualenv built as its image is built (``bench.stack.image_venv``:
that service's runtime dependencies only, bytecode compiled at install), so the figure is the
image's start, not the dev workspace's. One unmeasured start per service warms the page cache.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from bench.cpu import cpu_seconds
from bench.plan import Plan
from bench.stack import SERVICES, Stack, free_port, image_venv, stop, wait_until_ready

GOAL_SECONDS = 1.0


def run(plan: Plan, stack: Stack, workdir: Path) -> dict[str, Any]:
    results = {}
    for name in SERVICES:
        venv = image_venv(name, workdir / "image-venvs")
        samples, cpu = [], []
        for run_number in range(plan.startup_runs + 1):
            started = time.perf_counter()
            service = stack.spawn(name, port=free_port(), venv=venv)
            try:
                wait_until_ready(f"{service.url}/readyz", service.process, timeout=90)
                if run_number > 0:  # the first run warms the page cache
                    samples.append(time.perf_counter() - started)
                    cpu.append(cpu_seconds(service.process.pid))
            finally:
                stop(service.process)
        results[name] = {
            "samples_s": samples,
            "median_s": statistics.median(samples),
            "min_s": min(samples),
            "max_s": max(samples),
            "cpu_median_s": statistics.median(cpu),
        }
    return {"services": results, "goal_s": GOAL_SECONDS}
