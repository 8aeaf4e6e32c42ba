"""The CPU-load experiment on the real HPAs, shared by tests/cluster/test_autoscaling.py (the
controller's behaviour) and test_cluster_panels.py (the dashboards over the same window).

The local environment runs fixed replicas; this turns its HPAs on as a person would (the
environment file, then `helmfile apply`), with a 30 s scale-down window instead of 300 s, and
offers CPU-bound load (the catalog, no dependency) to one color's preview Service. metrics-server
(built from its Go module) gives the HPA real CPU. The timeline (replicas and the utilization
the controller saw) is kept in .local/cluster/autoscaling-timeline.json for docs/autoscaling.md.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml
from platformctl.kubernetes.envfile import replace_scalar

from tests.cluster.kube import (
    ENV_FILE,
    NAMESPACE,
    REPO_ROOT,
    helmfile_apply,
    service_address,
)
from tests.support.progress import say
from tests.support.tools import tool

HPA = "orders-green"  # green is the idle color: the live path is left alone
PREVIEW_SERVICE = "orders-preview"
# The HPAs' minimum: environments/local.yaml's, which the experiment leaves as it is.
MIN_REPLICAS = yaml.safe_load(ENV_FILE.read_text())["size"]["autoscaling"]["minReplicas"]
SCALE_DOWN_WINDOW = 30
# Twice what the first machine needed: on a faster one 40/s held the pods at 68-72 %, inside the
# controller's 10 % tolerance around its 70 % target, and it never scaled out.
LOAD_RATE, LOAD_SECONDS = 80, 60
TIMELINE = REPO_ROOT / ".local" / "cluster" / "autoscaling-timeline.json"


@contextlib.contextmanager
def autoscaled(env: dict[str, str]) -> Iterator[None]:
    """The platform with its HPAs on; the file and the release are put back afterwards."""
    original = ENV_FILE.read_text()
    edited = replace_scalar(original, ["size", "autoscaling", "enabled"], "true")
    edited = replace_scalar(
        edited,
        ["size", "autoscaling", "scaleDownStabilizationSeconds"],
        str(SCALE_DOWN_WINDOW),
    )
    ENV_FILE.write_text(edited)
    try:
        applied = helmfile_apply(env)
        assert applied.returncode == 0, applied.stderr[-3000:]
        yield
    finally:
        ENV_FILE.write_text(original)
        helmfile_apply(env)


def hpa_status(env: dict[str, str], name: str = HPA) -> dict:
    # Not through run(): sampled every 2 s, its output would drown the log.
    found = subprocess.run(
        ["kubectl", "-n", NAMESPACE, "get", "hpa", name, "-o", "json"],
        env=env, capture_output=True, text=True, timeout=20, check=True,
    )  # fmt: skip
    status = json.loads(found.stdout)["status"]
    metrics = status.get("currentMetrics") or [{}]
    utilization = ((metrics[0].get("resource") or {}).get("current") or {}).get(
        "averageUtilization"
    )
    return {
        "current": status.get("currentReplicas"),
        "desired": status.get("desiredReplicas"),
        "utilization": utilization,
    }


class Timeline:
    """The HPA's status, sampled every 2 s, in seconds since the test began."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env, self.started, self.samples = env, time.monotonic(), []

    def now(self) -> float:
        return round(time.monotonic() - self.started, 1)

    def wait_for(self, what: str, check, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sample = {"t": self.now(), **hpa_status(self.env)}
            self.samples.append(sample)
            if check(sample):
                say(f"  autoscaling: {what} at {sample['t']} s ({sample})")
                return sample["t"]
            time.sleep(2)
        raise AssertionError(f"{what}: not within {timeout:.0f} s: {self.samples[-10:]}")


@dataclass
class Experiment:
    hpa: str
    rate: int
    requests: int
    failed_rate: float
    k6_exit_code: int
    k6_output: str
    started: datetime
    ended: datetime
    load: tuple[float, float]  # test seconds
    scaled_out_at: float
    scaled_in_at: float
    scale_down_window: int
    samples: list[dict]

    def save(self, path: Path = TIMELINE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fields = {k: v for k, v in asdict(self).items() if k != "k6_output"}
        path.write_text(json.dumps(fields, indent=1, default=str))


def run_cpu_load_experiment(env: dict[str, str], workdir: Path) -> Experiment:
    """CPU load on HPA's color until it scales out, then idle until it scales back in."""
    started = datetime.now(UTC)
    timeline = Timeline(env)
    # metrics-server's first resolution (15 s) and the HPA's sync (15 s) give it a utilization.
    timeline.wait_for("utilization known", lambda s: s["utilization"] is not None, 90)
    address = service_address(env, PREVIEW_SERVICE)
    summary = workdir / "cpu-load-summary.json"
    load = subprocess.Popen(
        [
            tool("k6"), "run", "--quiet", "--no-usage-report",
            "-e", f"ORDERS_URL=http://{address}", "-e", f"RATE={LOAD_RATE}",
            "-e", f"DURATION={LOAD_SECONDS}s", "--summary-export", str(summary),
            str(REPO_ROOT / "k6" / "scenarios" / "cpu-load.js"),
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    load_started = timeline.now()
    try:
        out_at = timeline.wait_for(
            "scaled out", lambda s: (s["desired"] or 0) > MIN_REPLICAS, LOAD_SECONDS
        )
        # Sampled on through the rest of the load, for the timeline.
        timeline.wait_for("load over", lambda _s: load.poll() is not None, LOAD_SECONDS + 60)
        k6_output, _ = load.communicate(timeout=30)
    finally:
        load.kill()
    load_ended = timeline.now()
    # Back in: the recommendation falls once metrics-server sees the idle pods, and the
    # controller acts on it only after the scale-down window.
    in_at = timeline.wait_for(
        "scaled back in", lambda s: s["desired"] == MIN_REPLICAS, SCALE_DOWN_WINDOW + 120
    )
    metrics = json.loads(summary.read_text())["metrics"]
    experiment = Experiment(
        hpa=HPA,
        rate=LOAD_RATE,
        requests=int(metrics["http_reqs"]["count"]),
        failed_rate=metrics["http_req_failed"]["value"],
        k6_exit_code=load.returncode,
        k6_output=k6_output,
        started=started,
        ended=datetime.now(UTC),
        load=(load_started, load_ended),
        scaled_out_at=out_at,
        scaled_in_at=in_at,
        scale_down_window=SCALE_DOWN_WINDOW,
        samples=timeline.samples,
    )
    experiment.save()
    return experiment
