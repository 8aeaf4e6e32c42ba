"""Measure each service's CPU seconds per request under k6 load, from a real Prometheus.

    .venv/bin/python -m bench.cpu_per_request            # about 3 minutes on 2 cores
    .venv/bin/python -m bench.cpu_per_request --quick    # about 1 minute, coarser

The four services run as real uvicorn processes (``bench.stack``) and a real Prometheus
(``/usr/bin/prometheus``) scrapes them every second, each target labelled
``service``/``color``/``version``. Then:

1. **Idle**: no load; ``rate(process_cpu_seconds_total)`` is each pod's baseline.
2. **Mix**: ``bench/k6/capacity-mix.js`` at a constant arrival rate. For each service,
   ``(Δ process_cpu_seconds_total - idle * Δt) / Δ http_requests_total`` is its CPU seconds per
   request, and ``Δ requests / Δ orders requests`` its fan-out per request entering the
   platform. The share of request time spent in outbound calls
   (``servicekit_outbound_request_duration_seconds_sum`` over
   ``http_request_duration_seconds_sum``) says whether CPU is the right scaling signal.
3. **Orders sweep**: ``bench/k6/orders-rate.js`` at rising rates, with payments healthy and then
   with ``SERVICE_FAULT_LATENCY_MS`` added to payments: orders' CPU against its p99 latency.

Counters are read as instant queries on the last scrape before and after each phase (no
``rate()`` extrapolation), timestamps from ``timestamp()``. Results go to
``docs/data/autoscaling-measurements.json`` and the profiles ``platformctl capacity`` reads
(``platformctl/capacity/profiles.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from platformctl.capacity.model import PROFILES_FILE

from bench.stack import REPO_ROOT, SERVICES, Stack, free_port, stop, wait_until_ready

K6 = Path(sys.executable).parent / "k6"
PROMETHEUS = Path("/usr/bin/prometheus")
MIX_SCRIPT = REPO_ROOT / "bench" / "k6" / "capacity-mix.js"
ORDERS_SCRIPT = REPO_ROOT / "bench" / "k6" / "orders-rate.js"
MEASUREMENTS_FILE = REPO_ROOT / "docs" / "data" / "autoscaling-measurements.json"
SCRAPE_SECONDS = 1
ORDER_ROUTE = "POST /v1/orders"


@dataclass(frozen=True)
class Plan:
    idle_seconds: int
    mix_rate: int
    mix_seconds: int
    sweep_rates: tuple[int, ...]
    sweep_seconds: int
    payments_fault_ms: int


FULL = Plan(15, 30, 45, (5, 10, 20, 30, 45), 15, 100)
QUICK = Plan(8, 20, 20, (5, 20, 40), 8, 100)


# -- Prometheus ---------------------------------------------------------------------------------


class Prometheus:
    """A real Prometheus scraping the stack every second, queried over its HTTP API."""

    def __init__(self, workdir: Path, targets: Mapping[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": f"{SCRAPE_SECONDS}s", "scrape_timeout": "1s"},
            "scrape_configs": [
                {
                    "job_name": "platform",
                    "static_configs": [
                        {
                            "targets": [address],
                            "labels": {"service": name, "color": "blue", "version": "bench"},
                        }
                        for name, address in targets.items()
                    ],
                }
            ],
        }
        self.config_file = workdir / "prometheus.yml"
        self.config_file.write_text(yaml.safe_dump(config))
        self.data_dir = workdir / "prometheus-data"
        self.log = workdir / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Prometheus:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(PROMETHEUS),
                    f"--config.file={self.config_file}",
                    f"--storage.tsdb.path={self.data_dir}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until_ready(f"{self.url}/-/ready", self.process, timeout=30)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    def query(self, expr: str, at: float) -> dict[str, float]:
        """An instant query; result values keyed by their ``service`` label."""
        response = httpx.get(
            f"{self.url}/api/v1/query", params={"query": expr, "time": at}, timeout=10
        )
        response.raise_for_status()
        return {
            r["metric"].get("service", ""): float(r["value"][1])
            for r in response.json()["data"]["result"]
        }

    def wait_for_targets(self, services: list[str], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            up = self.query("up == 1", time.time())
            if all(name in up for name in services):
                return
            time.sleep(0.5)
        raise TimeoutError("Prometheus did not scrape every service")


COUNTERS = {
    "cpu_seconds": "process_cpu_seconds_total",
    "cpu_sampled_at": "timestamp(process_cpu_seconds_total)",
    "requests": "sum by (service) (http_requests_total)",
    "request_seconds": "sum by (service) (http_request_duration_seconds_sum)",
    "outbound_seconds": "sum by (service) (servicekit_outbound_request_duration_seconds_sum)",
}


def snapshot(prometheus: Prometheus, at: float) -> dict[str, dict[str, float]]:
    """Every counter per service at ``at`` (the last scrape before it)."""
    return {name: prometheus.query(expr, at) for name, expr in COUNTERS.items()}


def delta(before: dict, after: dict, counter: str, service: str) -> float:
    return after[counter].get(service, 0.0) - before[counter].get(service, 0.0)


def settle() -> float:
    """Wait for one more scrape so the last sample before 'now' is current."""
    time.sleep(SCRAPE_SECONDS * 2.5)
    return time.time()


# -- k6 -----------------------------------------------------------------------------------------


def run_k6(script: Path, workdir: Path, env: Mapping[str, str], tag: str) -> dict[str, Any]:
    summary = workdir / f"k6-{tag}.json"
    args = [str(K6), "run", "--quiet", "--no-usage-report"]
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    args += ["-e", f"SUMMARY_FILE={summary}", str(script)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode not in (0, 99) or not summary.exists():
        raise RuntimeError(f"k6 {script.name} exited {result.returncode}:\n{result.stderr[-3000:]}")
    data = json.loads(summary.read_text())
    data["exit_code"] = result.returncode
    return data


def metric_values(summary: Mapping[str, Any], name: str) -> dict[str, float]:
    return summary["metrics"].get(name, {}).get("values", {})


# -- phases -------------------------------------------------------------------------------------


def measure_idle(prometheus: Prometheus, seconds: int) -> dict[str, float]:
    start = settle()
    before = snapshot(prometheus, start)
    time.sleep(seconds)
    after = snapshot(prometheus, settle())
    idle = {}
    for service in SERVICES:
        elapsed = delta(before, after, "cpu_sampled_at", service)
        idle[service] = 1000 * delta(before, after, "cpu_seconds", service) / elapsed
    return idle


def measure_mix(
    stack: Stack, prometheus: Prometheus, workdir: Path, plan: Plan, idle: Mapping[str, float]
) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    env = k6_env(stack) | {"RATE": str(plan.mix_rate), "DURATION": f"{plan.mix_seconds}s"}
    before = snapshot(prometheus, settle())
    summary = run_k6(MIX_SCRIPT, workdir, env, "mix")
    after = snapshot(prometheus, settle())
    edge_requests = delta(before, after, "requests", "orders")
    profiles = {}
    for service in SERVICES:
        requests = delta(before, after, "requests", service)
        elapsed = delta(before, after, "cpu_sampled_at", service)
        busy = delta(before, after, "cpu_seconds", service) - idle[service] / 1000 * elapsed
        request_seconds = delta(before, after, "request_seconds", service)
        outbound = delta(before, after, "outbound_seconds", service)
        profiles[service] = {
            "cpu_seconds_per_request": round(max(busy, 0.0) / requests, 6) if requests else 0.0,
            "requests_per_edge_request": round(requests / edge_requests, 4),
            "idle_millicores": round(idle[service], 2),
            "dependency_wait_fraction": (
                round(min(outbound / request_seconds, 1.0), 3) if request_seconds else 0.0
            ),
            "requests_measured": int(requests),
            "cpu_seconds_measured": round(delta(before, after, "cpu_seconds", service), 3),
            "window_seconds": round(elapsed, 1),
        }
    mix = {
        "rate": plan.mix_rate,
        "seconds": plan.mix_seconds,
        "edge_requests": int(edge_requests),
        "k6_exit_code": summary["exit_code"],
        "http_req_duration_ms": metric_values(summary, "http_req_duration{scenario:mix}"),
        "http_req_failed": metric_values(summary, "http_req_failed{scenario:mix}"),
        "checks": metric_values(summary, "checks"),
    }
    return profiles, mix


def measure_orders_sweep(
    stack: Stack, prometheus: Prometheus, workdir: Path, plan: Plan, payments_fault_ms: int
) -> list[dict[str, float]]:
    points = []
    for rate in plan.sweep_rates:
        env = k6_env(stack) | {"RATE": str(rate), "DURATION": f"{plan.sweep_seconds}s"}
        before = snapshot(prometheus, settle())
        summary = run_k6(ORDERS_SCRIPT, workdir, env, f"orders-{payments_fault_ms}-{rate}")
        end = settle()
        after = snapshot(prometheus, end)
        elapsed = delta(before, after, "cpu_sampled_at", "orders")
        in_flight = prometheus.query(
            'avg_over_time(sum by (service) (http_requests_inprogress{service="orders"})'
            f"[{plan.sweep_seconds}s:1s])",
            end - 2 * SCRAPE_SECONDS,
        )
        latency = metric_values(summary, f"http_req_duration{{name:{ORDER_ROUTE}}}")
        failed = metric_values(summary, f"http_req_failed{{name:{ORDER_ROUTE}}}")
        points.append(
            {
                "payments_fault_ms": payments_fault_ms,
                "rate": rate,
                "achieved_rps": round(latency.get("count", 0) / plan.sweep_seconds, 2),
                "orders_cpu_millicores": round(
                    1000 * delta(before, after, "cpu_seconds", "orders") / elapsed, 1
                ),
                "payments_cpu_millicores": round(
                    1000 * delta(before, after, "cpu_seconds", "payments") / elapsed, 1
                ),
                "orders_in_flight": round(in_flight.get("orders", 0.0), 2),
                "p50_ms": round(latency.get("med", 0.0), 1),
                "p99_ms": round(latency.get("p(99)", 0.0), 1),
                "failed_rate": failed.get("rate", 0.0),
            }
        )
        print(f"  orders sweep: {points[-1]}", flush=True)
    return points


def restart_payments(stack: Stack, **env: str) -> None:
    """Replace the payments process on the same port (Prometheus keeps scraping it)."""
    old = stack.services["payments"]
    stop(old.process)
    stack.services["payments"] = stack.spawn("payments", old.port, **env)
    wait_until_ready(f"{old.url}/readyz", stack.services["payments"].process, timeout=30)


def k6_env(stack: Stack) -> dict[str, str]:
    return {
        "AUTH_URL": stack.url("auth"),
        "ORDERS_URL": stack.url("orders"),
        "USERNAME": stack.credentials.username,
        "PASSWORD": stack.credentials.password,
    }


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        # Other work on the machine shows in latency, far less in CPU seconds per request.
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


@contextlib.contextmanager
def platform_under_test(workdir: Path) -> Iterator[tuple[Stack, Prometheus]]:
    stack = Stack(workdir / "stack")
    prometheus: Prometheus | None = None
    try:
        stack.start()
        targets = {name: f"127.0.0.1:{stack.ports[name]}" for name in SERVICES}
        prometheus = Prometheus(workdir, targets).start()
        prometheus.wait_for_targets(list(SERVICES))
        yield stack, prometheus
    finally:
        if prometheus is not None:
            prometheus.stop()
        stack.stop()


def measure(plan: Plan, workdir: Path) -> dict[str, Any]:
    started = time.time()
    machine_before = machine()
    with platform_under_test(workdir) as (stack, prometheus):
        print("idle baseline ...", flush=True)
        idle = measure_idle(prometheus, plan.idle_seconds)
        print(f"  idle millicores: {idle}", flush=True)
        print(f"mix at {plan.mix_rate} iterations/s for {plan.mix_seconds}s ...", flush=True)
        profiles, mix = measure_mix(stack, prometheus, workdir, plan, idle)
        for service, profile in profiles.items():
            print(f"  {service}: {profile}", flush=True)
        print("orders sweep, payments healthy ...", flush=True)
        sweep = measure_orders_sweep(stack, prometheus, workdir, plan, 0)
        print(f"orders sweep, payments +{plan.payments_fault_ms} ms ...", flush=True)
        restart_payments(stack, SERVICE_FAULT_LATENCY_MS=str(plan.payments_fault_ms))
        sweep += measure_orders_sweep(stack, prometheus, workdir, plan, plan.payments_fault_ms)
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.cpu_per_request", *sys.argv[1:]]),
        "duration_seconds": round(time.time() - started),
        "machine": machine_before,
        "load_average_1m_after": machine()["load_average_1m"],
        "plan": plan.__dict__,
        "edge_request": "one request to the orders API (GET /v1/catalog or POST /v1/orders) "
        "in the k6/lib/journeys.js mix",
        "services": profiles,
        "mix": mix,
        "orders_sweep": sweep,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter phases (about 1 minute)")
    parser.add_argument("--output", type=Path, default=MEASUREMENTS_FILE)
    parser.add_argument(
        "--no-profiles", action="store_true", help="do not update the capacity profiles"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cpu-per-request-") as tmp:
        result = measure(QUICK if args.quick else FULL, Path(tmp))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")
    if not args.no_profiles:
        profiles = {
            "measured_at": result["measured_at"],
            "command": result["command"],
            "machine": result["machine"],
            "edge_request": result["edge_request"],
            "services": {
                name: {k: v for k, v in p.items() if not k.endswith(("_measured", "_seconds"))}
                for name, p in result["services"].items()
            },
        }
        PROFILES_FILE.write_text(json.dumps(profiles, indent=2) + "\n")
        print(f"wrote {PROFILES_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
