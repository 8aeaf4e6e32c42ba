"""Benchmark 4: SIGTERM one of two orders replicas under constant load.

Two orders replicas behind caddy (``bench.proxy``), the zero-downtime k6 scenario at a
constant arrival rate through it. Each replica holds every API request for 200 ms (the
service's own latency fault switch), so there are always requests in flight to drain. Mid-run,
replica A gets SIGTERM: readiness turns 503 at once, it keeps serving for the shutdown delay
while the proxy's health check takes it out, then uvicorn drains what is in flight and exits.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from bench.k6run import K6Process
from bench.plan import Plan
from bench.proxy import Proxy
from bench.stack import REPO_ROOT, Stack, free_port, stop, wait_until_ready

SCRIPT = REPO_ROOT / "k6" / "scenarios" / "zero-downtime.js"
SHUTDOWN_DELAY_SECONDS = 1.0
IN_FLIGHT_LATENCY_MS = 200


def run(plan: Plan, stack: Stack, workdir: Path) -> dict[str, Any]:
    replica_env = {
        "SERVICE_SHUTDOWN_DELAY_SECONDS": str(SHUTDOWN_DELAY_SECONDS),
        "SERVICE_FAULT_LATENCY_MS": str(IN_FLIGHT_LATENCY_MS),
    }
    replicas = [stack.spawn("orders", port=free_port(), **replica_env) for _ in range(2)]
    proxy = None
    try:
        for replica in replicas:
            wait_until_ready(f"{replica.url}/readyz", replica.process, timeout=90)
        proxy = Proxy(workdir, [r.port for r in replicas])
        proxy.wait_until_serving("/v1/catalog")
        load = K6Process(
            SCRIPT,
            {
                "RATE": plan.drain_rate,
                "DURATION": f"{plan.drain_seconds}s",
                "P99_MS": 1000,
                # VUs up front for the requests held in flight: none dropped for want of one.
                "PRE_VUS": 4 * plan.drain_rate,
                "MAX_VUS": 8 * plan.drain_rate,
                "AUTH_URL": stack.url("auth"),
                "ORDERS_URL": proxy.url,
                "PASSWORD": stack.credentials.password,
            },
            workdir / "drain.json",
        )
        time.sleep(plan.drain_seconds / 3)
        victim = replicas[0].process
        signalled = time.perf_counter()
        victim.send_signal(signal.SIGTERM)
        exit_code = victim.wait(60)
        time_to_exit = time.perf_counter() - signalled
        result = load.wait()
    finally:
        if proxy is not None:
            proxy.stop()
        for replica in replicas:
            stop(replica.process)
    return {
        "rate": plan.drain_rate,
        "seconds": plan.drain_seconds,
        **result.zero_downtime_figures(),
        "time_to_exit_s": time_to_exit,
        "replica_exit_code": exit_code,
        "shutdown_delay_s": SHUTDOWN_DELAY_SECONDS,
        "in_flight_latency_ms": IN_FLIGHT_LATENCY_MS,
    }
