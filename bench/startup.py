"""Benchmark 3: from process start to the first ``/readyz`` 200, per service.

A fresh uvicorn process each run, timed from just before ``Popen`` to the first 200 (polled
every 5 ms), which includes the interpreter start, imports, settings, the lifespan and, for
every service but auth, fetching auth's JWKS. Auth and the rest of the stack are already up.

Next to the wall time, the CPU seconds the process used until it was ready: on a shared
machine the wall time grows with every process competing for the cores, the CPU time hardly,
so it approximates the wall time on an idle core (imports are CPU-bound).

Bytecode is cached as in the image (built with `uv sync --compile-bytecode`): the services may
write .pyc files, into a cache folder of the bench's own (``PYTHONPYCACHEPREFIX``, so the shared
virtualenv is left alone), and one unmeasured start per service fills it. Without a cache,
every start compiles every imported module from source, which is a build problem, not a
startup one.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from bench.cpu import cpu_seconds
from bench.plan import Plan
from bench.stack import SERVICES, Stack, free_port, stop, wait_until_ready

GOAL_SECONDS = 1.0


def run(plan: Plan, stack: Stack, workdir: Path) -> dict[str, Any]:
    bytecode = {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(workdir / "pycache")}
    results = {}
    for name in SERVICES:
        samples, cpu = [], []
        for run_number in range(plan.startup_runs + 1):
            started = time.perf_counter()
            service = stack.spawn(name, port=free_port(), **bytecode)
            try:
                wait_until_ready(f"{service.url}/readyz", service.process, timeout=90)
                if run_number > 0:  # the first run fills the bytecode cache
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
