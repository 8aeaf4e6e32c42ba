"""Fixtures: a copy of the helmfile state, the fake command boundary, and the real workloads.

The "pods" that carry traffic are real uvicorn processes and Prometheus is real, scraping
them with the labels the chart's scrape config gives pods in a cluster (namespace, service,
color, version, pod). Only helmfile, helm and kubectl are faked (fake_cluster.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from auth_service.devsecrets import ensure_dev_secrets
from platformctl.analysis.config import AnalysisConfig, load_config
from platformctl.kubernetes import KubernetesBackend, Timeouts, build_backend
from platformctl.traffic import Credentials

from tests.kubernetes.fake_cluster import FakeCluster
from tests.support.ports import free_port
from tests.support.services import ServiceProcess, start_service

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENT = "dev"
NAMESPACE = "platform-dev"
GOOD = "1.1.0"  # payments release that behaves
BAD = "1.2.0-bad"  # payments release answering 5xx to half its calls
BASE = "0.1.0"  # what environments/dev.yaml runs


@dataclass
class Workloads:
    """Real processes standing in for pods, keyed by (service, version)."""

    ports: dict[tuple[str, str], int]
    prometheus_port: int
    credentials: Credentials


def _prometheus_config(targets: list[tuple[ServiceProcess, dict[str, str]]]) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            {
                "job_name": "kubernetes-pods",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{process.port}"], "labels": labels}
                    for process, labels in targets
                ],
            }
        ],
    }


@pytest.fixture(scope="session")
def workloads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workloads]:
    root = tmp_path_factory.mktemp("k8s-workloads")
    creds = ensure_dev_secrets(root / "secrets")
    auth_port = free_port()
    base_env = {
        "SERVICE_SECRETS_DIR": str(creds.secrets_dir),
        "SERVICE_AUTH_URL": f"http://127.0.0.1:{auth_port}",
    }
    # (service, color, version, extra env): the colors these releases were deployed into.
    # Nothing sends traffic to payments blue (0.1.0), so no process stands behind it; the
    # good and the bad green release run side by side and only the version label tells them
    # apart, which is what the analysis selector must do.
    releases = [
        ("auth", "blue", BASE, {}),
        ("payments", "green", GOOD, {}),
        ("payments", "green", BAD, {"SERVICE_FAULT_ERROR_RATE": "0.5"}),
    ]
    processes: list[tuple[ServiceProcess, dict[str, str]]] = []
    prometheus: subprocess.Popen[bytes] | None = None
    try:
        for service, color, version, extra in releases:
            env = {**base_env, "SERVICE_COLOR": color, "SERVICE_VERSION": version, **extra}
            port = auth_port if service == "auth" else None
            process = start_service(service, port=port, env=env, log_dir=root)
            labels = {
                "namespace": NAMESPACE,
                "service": service,
                "color": color,
                "version": version,
                "pod": f"{service}-{color}-{version}-p0",
            }
            processes.append((process, labels))
        config = root / "prometheus.yml"
        config.write_text(yaml.safe_dump(_prometheus_config(processes)))
        prometheus_port = free_port()
        log = (root / "prometheus.log").open("wb")
        prometheus = subprocess.Popen(
            [
                shutil.which("prometheus") or "/usr/bin/prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={root / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for process, _ in processes:
            process.wait_ready()
        _wait_prometheus(prometheus_port, len(processes))
        yield Workloads(
            ports={(labels["service"], labels["version"]): p.port for p, labels in processes},
            prometheus_port=prometheus_port,
            credentials=Credentials(
                creds.username, creds.password, "orders", creds.client_secrets["orders"]
            ),
        )
    finally:
        for process, _ in processes:
            process.process.terminate()
        for process, _ in processes:
            process.terminate()
        if prometheus is not None:
            prometheus.terminate()
            prometheus.wait(10)


def _wait_prometheus(port: int, targets: int, timeout: float = 30) -> None:
    """Until Prometheus has scraped every target once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            body = httpx.get(f"http://127.0.0.1:{port}/api/v1/targets", timeout=1).json()
            active = body["data"]["activeTargets"]
            if len(active) == targets and all(t["health"] == "up" for t in active):
                return
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"Prometheus did not scrape {targets} targets within {timeout}s")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """helmfile.yaml and environments/ copied, so edits never touch the real files."""
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy(REPO_ROOT / "helmfile.yaml", copy / "helmfile.yaml")
    shutil.copytree(REPO_ROOT / "environments", copy / "environments")
    return copy


@pytest.fixture
def cluster(repo: Path) -> Iterator[FakeCluster]:
    fake = FakeCluster(repo, ENVIRONMENT, NAMESPACE)
    fake.install()
    yield fake
    fake.close()


@pytest.fixture
def live_cluster(cluster: FakeCluster, workloads: Workloads) -> FakeCluster:
    """The fake cluster with real processes and Prometheus behind its Services."""
    cluster.processes = workloads.ports
    cluster.prometheus_port = workloads.prometheus_port
    return cluster


FAST_TIMEOUTS = Timeouts(apply=30, switch=5, poll=0.05)


def backend_for(
    cluster: FakeCluster, *, forward: bool, credentials: Credentials | None = None
) -> KubernetesBackend:
    """What the CLI builds for one verb: a fresh backend on the environment."""
    return build_backend(
        ENVIRONMENT,
        commands=cluster,
        forward=forward,
        repo=cluster.repo,
        credentials=credentials,
        timeouts=FAST_TIMEOUTS,
    )


FAST_PHASE = {
    "initialDelay": "3s",
    "interval": "1s",
    "count": 3,
    "failureLimit": 0,
    "inconclusiveLimit": 0,
    "load": {"rate": 10},
}


def fast_analysis(folder: Path, *, lenient_pre: bool = False) -> AnalysisConfig:
    """The built-in metrics and thresholds (platformctl/analysis.yaml) with short timings.

    ``lenient_pre``: the pre-promotion gate tolerates every failed measurement (an operator
    choice Argo's failureLimit allows), so a bad release gets through to the post-promotion
    analysis, which must then roll it back.
    """
    config = yaml.safe_load(resources.files("platformctl").joinpath("analysis.yaml").read_text())
    config["window"] = "4s"
    for phase in ("prePromotion", "postPromotion"):
        config[phase].update(FAST_PHASE)
    if lenient_pre:
        config["prePromotion"]["failureLimit"] = config["prePromotion"]["count"]
    path = folder / "analysis.yaml"
    path.write_text(yaml.safe_dump(config))
    return load_config(path)


def normalized(calls: list[tuple[str, ...]]) -> list[str]:
    """Commands as text, with the free local port of each port-forward as <port>."""
    text = []
    for argv in calls:
        if "port-forward" in argv:
            argv = (*argv[:-1], "<port>:" + argv[-1].split(":")[1])
        text.append(" ".join(argv))
    return text


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
