"""The rollout verbs beyond deploy/promote/rollback, run on the cluster inside the runbook's k6
window (tests/cluster/test_runbook.py), so the same in-cluster load and its verdict (0 failed
requests) cover them:

- `platformctl abort`: a deploy to the idle color is discarded before promotion; the idle
  color goes back to the version it ran (scaled to zero, as old colors are here after a
  promotion), the environment file says so, live never moves.
- a small idle color that promotes itself: a deploy with `--preview-replicas 1` and
  `--auto-promote-after`, its analysis, the scale-up to full size before the switch, the old
  color scaled to zero after the environment's window (10 s here), and a rollback after that
  window, which scales it up before switching back.
- canary steps by replica ratio: at each step the live Service selects both colors, 1 then 2
  canary pods beside the 2 stable ones (33 % and 50 % of live traffic), then the promotion.

The faulty canary, whose failed requests are the point, runs under its own load in
tests/cluster/test_platformctl.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

import yaml

from tests.cluster.kube import (
    ENV_FILE,
    NAMESPACE,
    platformctl,
    platformctl_argv,
    revision,
    run,
    selectors,
)
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
    with a preview size that promotes itself after its analysis; the environment's 10 s
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


def canary_steps_under_load(env: dict[str, str], version: str) -> dict[str, float]:
    """After small_idle_color_auto_promoted_under_load: orders blue live, green holding blue's
    version. ``version`` goes into green, and `canary --steps 10,50,100` moves live traffic to
    it; at each step the live Service is read while the command waits in its analysis."""
    assert selectors(env)["orders"] == "blue"
    assert idle_version("orders", "green") != version
    deployed = platformctl(env, "deploy", "orders", "--version", version)
    assert deployed.returncode == 0, deployed.stderr
    with tempfile.TemporaryDirectory() as folder:
        argv = platformctl_argv("canary", "orders", "--steps", "10,50,100",
                                f"--analysis={relaxed_analysis(Path(folder))}")  # fmt: skip
        canary = subprocess.Popen(
            argv,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert canary.stdout is not None
        lines, seen = [], {}
        for line in canary.stdout:
            lines.append(line)
            found = re.match(r"canary step (\d+)%", line)
            if found:
                # The command now runs its analysis: the split is in place.
                orders = yaml.safe_load(ENV_FILE.read_text())["services"]["orders"]
                seen[int(found.group(1))] = (live_endpoint_colors(env), orders)
        canary.wait(timeout=600)
    out = "".join(lines)
    print(out[-4000:])
    assert canary.returncode == 0, out[-3000:]
    for step, taken, pods in ((10, 33, 1), (50, 50, 2)):
        assert f"canary step {step}%: orders green takes {taken}% of live traffic" in out, out
        colors, orders = seen[step]
        assert colors.count("green") == pods and colors.count("blue") == 2, (step, colors)
        assert orders["green"]["replicas"] == ("" if pods == 2 else str(pods))  # "": full size
        assert orders["canaryWeight"] == str(taken)
    assert "canary passed every step: promoting orders green" in out
    assert selectors(env)["orders"] == "green"
    assert live_endpoint_colors(env) == ["green", "green"]
    assert yaml.safe_load(ENV_FILE.read_text())["services"]["orders"]["canaryWeight"] == ""
    assert deployment_replicas(env, "orders-blue") == 0  # after the environment's scale-down delay
    steps = [float(ms) for ms in re.findall(r"of live traffic \(routed in (\d+) ms\)", out)]
    return {
        "canary_step_10_routed_seconds": steps[0] / 1000,
        "canary_step_50_routed_seconds": steps[1] / 1000,
        "canary_promotion_seconds": seconds(r"promoted .*? in ([\d.]+)s", out),
    }


def live_endpoint_colors(env: dict[str, str]) -> list[str]:
    """The colors of the ready endpoints behind the live orders Service, sorted."""
    got = run(env, "kubectl", "-n", NAMESPACE, "get", "endpointslices",
              "-l", "kubernetes.io/service-name=orders", "-o", "json")  # fmt: skip
    assert got.returncode == 0, got.stderr
    pods = [
        endpoint["targetRef"]["name"]
        for item in json.loads(got.stdout)["items"]
        for endpoint in item.get("endpoints") or []
        if (endpoint.get("conditions") or {}).get("ready") is not False
        and not (endpoint.get("conditions") or {}).get("terminating")
    ]
    return sorted(pod.split("-")[1] for pod in pods)


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
