"""The rollout verbs beyond deploy/promote/rollback, run on the cluster inside the runbook's k6
window (tests/cluster/test_runbook.py), so the same in-cluster load and its verdict (0 failed
requests) cover them:

- `platformctl abort`: a deploy to the idle color is discarded before promotion; the idle
  color goes back to the version it ran (scaled to zero, as old colors are here after a
  promotion), the environment file says so, live never moves.
- a small idle color that promotes itself: a deploy with `--preview-replicas 1` and
  `--auto-promote-after`, its analysis, the scale-up to full size before the switch, the old
  color scaled to zero after the environment's 30 s, and a rollback after that window, which
  scales it up before switching back.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import yaml

from tests.cluster.kube import ENV_FILE, platformctl, revision, run, selectors
from tests.support.analysis import shipped_analysis


def idle_version(service: str, color: str) -> str:
    return entry(service, color)["version"]


def entry(service: str, color: str) -> dict[str, str]:
    return yaml.safe_load(ENV_FILE.read_text())["services"][service][color]


def deployment_replicas(env: dict[str, str], deployment: str) -> int:
    got = run(env, "kubectl", "-n", "platform-local", "get", "deployment", deployment,
              "-o", "jsonpath={.spec.replicas}/{.status.readyReplicas}")  # fmt: skip
    assert got.returncode == 0, got.stderr
    return int(got.stdout.split("/")[0])


def seconds(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in:\n{text}"
    return float(found.group(1))


def abort_under_load(env: dict[str, str]) -> dict[str, float]:
    live = selectors(env)
    assert live["orders"] == "blue", live
    held, version = idle_version("orders", "green"), idle_version("orders", "blue")
    assert held != version, "green must hold another version than the one deployed into it"
    first = revision(env)
    deployed = platformctl(env, "deploy", "orders", "--version", version)
    assert deployed.returncode == 0, deployed.stderr
    assert idle_version("orders", "green") == version

    aborted = platformctl(env, "abort", "orders")
    assert aborted.returncode == 0, aborted.stderr
    assert f"aborted orders green {version} (back at {held}, scaled to zero)" in aborted.stdout
    assert idle_version("orders", "green") == held
    assert deployment_replicas(env, "orders-green") == 0
    assert revision(env) == first + 2  # the deploy, then the abort
    assert selectors(env) == live
    again = platformctl(env, "abort", "orders")
    assert again.returncode == 2
    assert "nothing to abort for orders" in again.stderr
    return {"abort_seconds": seconds(r" in ([\d.]+)s; live traffic stays", aborted.stdout)}


def small_idle_color_auto_promoted_under_load(env: dict[str, str]) -> dict[str, float]:
    """After abort_under_load: orders blue live at full size, green scaled to zero. One deploy
    with a preview size that promotes itself after its analysis; the environment's 30 s
    scale-down; then a rollback after that window."""
    assert selectors(env)["orders"] == "blue"
    full = deployment_replicas(env, "orders-blue")
    version = idle_version("orders", "blue")  # a version other than the one green holds
    first = revision(env)
    with tempfile.TemporaryDirectory() as folder:
        deployed = platformctl(env, "deploy", "orders", "--version", version,
                               "--preview-replicas=1", "--auto-promote-after=1s",
                               f"--analysis={relaxed_analysis(Path(folder))}")  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr
    out = deployed.stdout
    for step in ("1 preview replicas", "passed its analysis for", "scaling orders green to full",
                 "post-promotion analysis", "scaled orders blue to zero"):  # fmt: skip
        assert step in out, f"{step!r} not in:\n{out}"
    # The revisions: deploy (green at 1), green to full size, the switch, blue to zero.
    assert revision(env) == first + 4
    assert release_replicas(env, first + 1) == {"blue": full, "green": 1}
    assert release_replicas(env, first + 2) == {"blue": full, "green": full}
    assert release_replicas(env, first + 4) == {"blue": 0, "green": full}
    assert selectors(env)["orders"] == "green"
    assert (entry("orders", "green")["replicas"], entry("orders", "blue")["replicas"]) == ("", "0")
    assert deployment_replicas(env, "orders-blue") == 0

    rolled_back = platformctl(env, "rollback", "orders")
    assert rolled_back.returncode == 0, rolled_back.stderr
    assert "restarting the scaled-down colors of orders" in rolled_back.stdout
    assert selectors(env)["orders"] == "blue"
    assert deployment_replicas(env, "orders-blue") == full
    return {
        "preview_scale_up_seconds": seconds(r"full size after ([\d.]+)s", out),
        "preview_switch_ms": seconds(r"switched live traffic to .* in (\d+) ms", out),
        "auto_promotion_seconds": seconds(r"promoted .*? in ([\d.]+)s", out),
        "rollback_after_window_seconds": seconds(r"total ([\d.]+)s", rolled_back.stdout),
        "rollback_after_window_switch_ms": seconds(r"switch (\d+) ms", rolled_back.stdout),
    }


def release_replicas(env: dict[str, str], number: int) -> dict[str, int]:
    got = run(env, "helm", "get", "values", "platform", "-n", "platform-local",
              "--revision", str(number), "-o", "json")  # fmt: skip
    assert got.returncode == 0, got.stderr
    orders = json.loads(got.stdout)["orders"]
    return {color: orders[color]["replicas"] for color in ("blue", "green")}


def relaxed_analysis(folder: Path) -> Path:
    """The shipped analysis with p95 up to 2 s: the runbook's load shares two cores with the
    control plane; this run is about sizes and the promotion, not latency."""
    return shipped_analysis(folder, "relaxed-analysis", p95_max=2.0)
