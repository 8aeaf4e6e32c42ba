"""`platformctl -e local` against the real cluster: deploy (smoke checks through port-forwards),
promote with its analysis on the cluster's Prometheus, rollback; and the bad paths, each shown
to change nothing: a promotion the analysis refuses (by `promote`, and by a deploy's
`--auto-promote-after`), `activeColor: purple`, a version that is not an image tag, and an
image that exits at start."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from platform_images import SERVICES
from platform_images.engine import detect

from tests.cluster.kube import (
    ENV_FILE,
    NAMESPACE,
    helmfile_apply,
    platformctl,
    revision,
    run,
    selectors,
)
from tests.support.analysis import shipped_analysis
from tests.support.progress import say
from tests.support.tools import tool

CRASH_VERSION = "local-crash"


def strict_analysis(folder: Path) -> Path:
    """The shipped analysis, but no real p95 is under a microsecond: every color fails it."""
    return shipped_analysis(folder, "strict-analysis", p95_max=0.000001)


@pytest.fixture(scope="module")
def crash_image(cluster, tmp_path_factory: pytest.TempPathFactory) -> str:
    """orders at CRASH_VERSION: its `uvicorn` exits at once, as a broken release would."""
    engine = detect()
    base = "ghcr.io/example-org/platform-orders:dev"
    recipe = (
        f"FROM {base}\nUSER root\n"
        "RUN mkdir /crash && printf '#!/bin/sh\\necho crashed at start >&2\\nexit 3\\n' "
        "> /crash/uvicorn && chmod 755 /crash/uvicorn\n"
        'ENV PATH="/crash:$PATH"\nUSER 10001\n'
    )
    tag = f"ghcr.io/example-org/platform-orders:{CRASH_VERSION}"
    context = tmp_path_factory.mktemp("crash-image")  # an empty build context
    engine.run(
        "build", "--network", "host", "-t", tag, "-f", "-", str(context), input=recipe.encode()
    )
    loaded = subprocess.run(
        [tool("localcluster"), "load-images", tag], capture_output=True, text=True
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    return CRASH_VERSION


@pytest.mark.timeout(900)
def test_deploy_promote_rollback_with_analysis(release, green_images, tmp_path: Path) -> None:
    env = release
    assert selectors(env) == dict.fromkeys(SERVICES, "blue")

    # A deploy that would promote by itself, but whose analysis fails: deployed and smoke-tested,
    # never promoted, left pending.
    strict = strict_analysis(tmp_path)
    deployed = platformctl(env, "deploy", "all", "--version", green_images,
                           "--auto-promote-after=1s", f"--analysis={strict}")  # fmt: skip
    assert deployed.returncode == 1
    assert "smoke checks passed" in deployed.stdout
    assert "not promoted: pre-promotion analysis round 1 failed" in deployed.stderr
    assert selectors(env) == dict.fromkeys(SERVICES, "blue")
    assert yaml.safe_load(ENV_FILE.read_text())["services"]["orders"]["green"] == {
        "version": green_images,
        "replicas": "",
    }

    # Refused by its analysis, measured on the cluster's Prometheus: nothing switches.
    before = revision(env)
    refused = platformctl(env, "promote", "all", f"--analysis={strict}")
    assert refused.returncode == 1
    assert "pre-promotion analysis failed" in refused.stderr
    assert selectors(env) == dict.fromkeys(SERVICES, "blue")
    assert revision(env) == before

    # The analysis as shipped (platformctl/analysis.yaml), before and after the switch.
    # Blue kept at full size: the scale-down and the rollback after it are measured under
    # load in test_runbook.py (tests/cluster/rollout_strategies.py).
    promoted = platformctl(env, "promote", "all", "--scale-down-delay=-1")
    assert promoted.returncode == 0
    assert "Successful" in promoted.stdout
    assert selectors(env) == dict.fromkeys(SERVICES, "green")
    assert yaml.safe_load(ENV_FILE.read_text())["activeColor"] == "green"

    status = json.loads(platformctl(env, "status", "--json").stdout)["services"]
    assert {name: view["live"] for name, view in status.items()} == dict.fromkeys(SERVICES, "green")

    rolled_back = platformctl(env, "rollback", "all")
    assert rolled_back.returncode == 0
    assert selectors(env) == dict.fromkeys(SERVICES, "blue")


@pytest.mark.timeout(300)
def test_refused_before_anything_changes(release) -> None:
    env = release
    before = (revision(env), selectors(env), ENV_FILE.read_text())

    bad_tag = platformctl(env, "deploy", "orders", "--version", "../../x")
    assert bad_tag.returncode == 2
    assert "not a valid image tag" in bad_tag.stderr

    # activeColor: purple, applied with helmfile as a person would: the chart's schema refuses.
    ENV_FILE.write_text(before[2].replace("activeColor: blue", "activeColor: purple", 1))
    try:
        purple = helmfile_apply(env)
    finally:
        ENV_FILE.write_text(before[2])
    assert purple.returncode != 0
    assert "/global/activeColor': value must be one of 'blue', 'green'" in purple.stderr

    assert (revision(env), selectors(env), ENV_FILE.read_text()) == before


@pytest.mark.timeout(600)
def test_an_image_that_exits_at_start_fails_the_deploy_and_blue_keeps_serving(
    release, crash_image
) -> None:
    env = release
    before = (selectors(env), ENV_FILE.read_text(), revision(env))
    started = time.monotonic()
    crashed = platformctl(env, "deploy", "orders", "--version", crash_image)
    took = time.monotonic() - started
    say(f"  crash deploy: exit {crashed.returncode} after {took:.1f} s: {crashed.stderr.strip()}")
    assert crashed.returncode == 1
    # It stops waiting once the new pods have crashed twice, long before helm's 60 s timeout.
    assert "deploy failed: stopped waiting for `helmfile" in crashed.stderr
    assert "a new pod will never become ready" in crashed.stderr
    assert "CrashLoopBackOff, last exit 3" in crashed.stderr
    assert took < 60
    assert (selectors(env), ENV_FILE.read_text()) == before[:2]
    # helm recorded the interrupted upgrade as failed; the restore is the revision after it.
    history = json.loads(
        run(env, "helm", "history", "platform", "-n", NAMESPACE, "-o", "json").stdout
    )
    assert [(r["revision"], r["status"]) for r in history[-2:]] == [
        (before[2] + 1, "failed"),
        (before[2] + 2, "deployed"),
    ]
    ready = run(env, "kubectl", "-n", NAMESPACE, "rollout", "status", "deployment/orders-blue")
    assert ready.returncode == 0
