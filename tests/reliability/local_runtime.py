"""The platformctl local runtime for fault rehearsals: instances, kills, k6 under faults.

Reuses the platformctl suite's harness (``tests/platformctl/conftest.py``): a temporary
``PLATFORMCTL_HOME``, ephemeral ports, real caddy, Prometheus and uvicorn processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.orders_curve import analyse, overloaded
from tests.platformctl.conftest import Platform
from tests.support.shopper_load import shopper_load_command

KILL_LOAD = Path(__file__).with_name("kill_load.js")
SETTLE_SECONDS = 5


@dataclass(frozen=True)
class Instance:
    service: str
    color: str
    port: int
    pid: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def instances(platform: Platform, service: str, color: str) -> list[Instance]:
    """Running instances, from the supervisor's view in the state file (status has no pids)."""
    state = json.loads((platform.home / "platform-state.json").read_text())
    return [
        Instance(service, color, item["port"], item["pid"])
        for item in state["services"][service]["colors"][color]["instances"]
        if item.get("pid")
    ]


@dataclass(frozen=True)
class Recovery:
    respawned_s: float  # until the supervisor had a new process on the port
    ready_s: float  # until that process answered /readyz 200


def kill_and_time_recovery(platform: Platform, victim: Instance, timeout: float = 60) -> Recovery:
    """SIGKILL the instance and time its replacement: respawned, then ready."""
    killed_at = time.monotonic()
    os.kill(victim.pid, signal.SIGKILL)
    respawned_s = None
    deadline = killed_at + timeout
    while time.monotonic() < deadline:
        if respawned_s is None and any(
            i.port == victim.port and i.pid != victim.pid
            for i in instances(platform, victim.service, victim.color)
        ):
            respawned_s = time.monotonic() - killed_at
        if respawned_s is not None and _ready(victim.url):
            return Recovery(respawned_s, time.monotonic() - killed_at)
        time.sleep(0.05)
    raise AssertionError(f"{victim} was not restarted within {timeout}s:\n{platform.logs()}")


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class LoadResult:
    exit_code: int
    requests: int
    failed: int
    failures_ms: list[tuple[float, int, str]]  # (epoch ms, status, request name)
    p95_ms: float
    p99_ms: float
    iterations_per_second: float
    dropped: int  # arrivals k6 could not start: every VU was waiting
    output: str


class KillLoad:
    """k6 at a constant arrival rate through the stable orders port, in the background."""

    def __init__(self, platform: Platform, rate: int, seconds: int) -> None:
        self.summary = platform.home / "k6-kill.json"
        self.log_path = platform.home / "k6-kill.log"
        command = shopper_load_command(
            KILL_LOAD,
            platform,
            "--log-format=json",
            RATE=str(rate),
            DURATION=f"{seconds}s",
            RUN_ID=str(time.time_ns()),
            SUMMARY=str(self.summary),
        )
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self, timeout: float) -> LoadResult:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(5)
            self.log.close()
        output = self.log_path.read_text()
        summary: dict[str, Any] = json.loads(self.summary.read_text())
        metrics = summary["metrics"]
        return LoadResult(
            exit_code=code,
            requests=int(metrics["http_reqs"]["values"]["count"]),
            failed=int(metrics["http_req_failed"]["values"]["passes"]),
            failures_ms=_failures(output),
            p95_ms=round(metrics["http_req_duration"]["values"]["p(95)"], 1),
            p99_ms=round(metrics["http_req_duration"]["values"]["p(99)"], 1),
            iterations_per_second=round(metrics["iterations"]["values"]["rate"], 1),
            dropped=int(metrics.get("dropped_iterations", {}).get("values", {}).get("count", 0)),
            output=output,
        )


def knee(platform: Platform, rates: list[int], seconds: int) -> dict[str, Any]:
    """The kill load's knee on this runtime (caddy in every hop, two replicas of everything):
    the load at each rate in turn, analysed as `make bench` analyses the order path."""
    steps = []
    for rate in rates:
        result = KillLoad(platform, rate, seconds).wait(timeout=seconds + 90)
        steps.append(
            {
                "rate": rate,
                "achieved_rps": result.iterations_per_second,
                "errors": result.failed,
                "dropped": result.dropped,
                "p95_ms": result.p95_ms,
                "p99_ms": result.p99_ms,
            }
        )
        print(f"  kill load without a kill: {steps[-1]}", flush=True)
        if overloaded(steps[-1]) or result.failed or analyse(steps)["knee_rate"]:
            break  # past the knee: the rates above say nothing more
    time.sleep(SETTLE_SECONDS)  # what the last step left queued drains before anything else
    return {"steps": steps, **analyse(steps)}


def _failures(output: str) -> list[tuple[float, int, str]]:
    found = []
    for line in output.splitlines():
        try:
            message = json.loads(json.loads(line)["msg"])
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(message, dict) and "failed_at_ms" in message:
            found.append((message["failed_at_ms"], message["status"], message["name"]))
    return found
