"""The rollout verbs beyond deploy/promote/rollback, run on the cluster inside the runbook's k6
window (tests/cluster/test_runbook.py), so the same in-cluster load and its verdict (0 failed
requests) cover them:

- `platformctl abort`: a deploy to the idle color is discarded before promotion; the idle
  color goes back to the version it ran, the environment file says so, live never moves.
"""

from __future__ import annotations

import re

import yaml

from tests.cluster.kube import ENV_FILE, platformctl, revision, selectors


def idle_version(service: str, color: str) -> str:
    return yaml.safe_load(ENV_FILE.read_text())["services"][service][color]["version"]


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
    assert f"aborted orders green {version} (back at {held})" in aborted.stdout
    assert idle_version("orders", "green") == held
    assert revision(env) == first + 2  # the deploy, then the abort
    assert selectors(env) == live
    again = platformctl(env, "abort", "orders")
    assert again.returncode == 2
    assert "nothing to abort for orders" in again.stderr
    seconds = re.search(r" in ([\d.]+)s; live traffic stays", aborted.stdout)
    assert seconds, aborted.stdout
    return {"abort_seconds": float(seconds.group(1))}
