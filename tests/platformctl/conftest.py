"""The local platform, started through the `platformctl` CLI in a temporary home.

Every process is real (caddy, Prometheus, uvicorn, k6) and every port is ephemeral, so these
tests never touch a developer's `make up` on 8001-8004/9001-9004/9090.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import k6load
from tests.support.analysis import shipped_analysis
from tests.support.shopper_load import shopper_load_command

BIN = Path(sys.executable).parent
PLATFORMCTL = str(BIN / "platformctl")
HERE = Path(__file__).parent

# Short windows so an analysis takes seconds: 1 s scrapes, a 4 s rate window.
FAST_ANALYSIS: dict[str, Any] = {
    "window": "4s",
    "prePromotion": {
        "initialDelay": "3s",
        "interval": "1s",
        "count": 3,
        "failureLimit": 0,
        "inconclusiveLimit": 0,
        "load": {"rate": 10},
    },
    "postPromotion": {
        "initialDelay": "3s",
        "interval": "1s",
        "count": 3,
        "failureLimit": 0,
        "inconclusiveLimit": 0,
        "load": {"rate": 10},
    },
}


def analysis_file(
    folder: Path,
    name: str,
    p95_max: float | None = None,
    **changes: dict[str, Any],
) -> Path:
    """The built-in metrics with FAST_ANALYSIS timings (plus ``changes`` per phase)."""
    timings = json.loads(json.dumps(FAST_ANALYSIS))
    for phase, values in changes.items():
        timings[phase].update(values)
    return shipped_analysis(folder, name, sections=timings, p95_max=p95_max)


@dataclass
class Platform:
    home: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PLATFORMCTL_HOME": str(self.home), "NO_COLOR": "1"}

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [PLATFORMCTL, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        command = " ".join(args)
        print(f"$ platformctl {command}  -> {result.returncode}\n{result.stdout}{result.stderr}")
        return result

    def status(self) -> dict[str, Any]:
        result = self.cli("status", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def live(self) -> dict[str, tuple[str, str]]:
        """service -> (live color, its version)."""
        services = self.status()["services"]
        return {
            name: (view["live"], view["colors"][view["live"]]["version"])
            for name, view in services.items()
        }

    def url(self, service: str, kind: str = "live") -> str:
        return self.status()["services"][service][f"{kind}_url"]

    def credentials(self) -> dict[str, Any]:
        return json.loads((self.home / "secrets" / "dev-credentials.json").read_text())

    def logs(self) -> str:
        parts = []
        for log in sorted((self.home / "logs").glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-15:]
            parts.append(f"--- {log.name}\n" + "\n".join(lines))
        return "\n".join(parts)

    def wait_for(self, predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.25)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def served_by(platform: Platform, service: str) -> str:
    """The color the proxy's live port answers from now (its response header)."""
    response = httpx.get(platform.url(service) + "/readyz", timeout=5)
    return response.headers["X-Platform-Color"]


def start_platform(home: Path, *extra: str, analysis: Path | None = None) -> Iterator[Platform]:
    platform = Platform(home)
    analysis = analysis or analysis_file(home.parent, f"{home.name}-analysis")
    result = platform.cli(
        "up",
        "--ephemeral-ports",
        "--scrape-interval=1s",
        "--shutdown-delay=1",
        "--drain-timeout=5",
        f"--analysis={analysis}",
        *extra,
        timeout=90,
    )
    if result.returncode != 0:
        platform.cli("down")
        pytest.fail(f"platformctl up failed:\n{result.stderr}\n{platform.logs()}")
    try:
        yield platform
    finally:
        down = platform.cli("down", timeout=60)
        assert down.returncode == 0, down.stderr


@dataclass
class K6Result:
    exit_code: int
    output: str
    summary: dict[str, Any]

    def passed(self) -> bool:
        """Stopped by the test once its work was done, with every threshold held."""
        return self.exit_code == k6load.STOPPED and not k6load.crossed_thresholds(self.summary)

    def figures(self) -> dict[str, float]:
        metrics = self.summary["metrics"]
        duration = metrics["http_req_duration"]["values"]
        return {
            "requests": metrics["http_reqs"]["values"]["count"],
            "failed": metrics["http_req_failed"]["values"]["passes"],
            "dropped_iterations": metrics.get("dropped_iterations", {})
            .get("values", {})
            .get("count", 0),
            "p95_ms": round(duration["p(95)"], 1),
            "p99_ms": round(duration["p(99)"], 1),
            "max_ms": round(duration["max"], 1),
            "seconds": round(k6load.run_seconds(self.summary), 1),
        }


class K6Run:
    """k6 running the zero-downtime script in the background until the test stops it, once the
    work under it is done (tests/support/k6load.py)."""

    def __init__(self, platform: Platform, name: str, rate: int, reuse: bool):
        self.summary_path = platform.home / f"k6-{name}.json"
        self.log_path = platform.home / f"k6-{name}.log"
        command = shopper_load_command(
            HERE / "zero_downtime.js",
            platform,
            RATE=str(rate),
            DURATION=k6load.BOUND,
            NO_CONNECTION_REUSE="false" if reuse else "true",
            SUMMARY=str(self.summary_path),
            RUN_ID=f"{name}-{time.time_ns()}",
        )
        self.log = self.log_path.open("w")
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self) -> K6Result:
        """End the load now that its work is done; fails if it had already ended."""
        try:
            k6load.covered(self.process, self.started)
        finally:
            try:
                k6load.stop(self.process, timeout=30)
            finally:
                if self.process.poll() is None:
                    self.process.kill()
                self.log.close()
        summary = json.loads(self.summary_path.read_text()) if self.summary_path.exists() else {}
        return K6Result(self.process.returncode, self.log_path.read_text(), summary)
