"""The cluster tier: a real single-node Kubernetes from `localcluster up` (make cluster).

It runs wherever the machine allows it (Linux, root, a container engine); elsewhere every test
here skips with one line saying why. A cluster that was already running is used and left
running; one these tests started is stopped when they end, so the rest of the suite does not
share two cores with an idle cluster and nothing is left behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from localcluster import access, paths
from platform_images import SERVICES
from platform_images.engine import EngineError, detect

from tests.cluster.hpa_experiment import autoscaled, run_cpu_load_experiment
from tests.cluster.kube import ENV_FILE, helmfile_apply
from tests.support.progress import say
from tests.support.tools import tool


def _unavailable() -> str | None:
    if not sys.platform.startswith("linux"):
        return "needs Linux (network namespaces, containerd, the kubelet)"
    if os.geteuid() != 0:
        return "needs root (network namespaces, containerd, the kubelet)"
    try:
        detect()
    except EngineError as error:
        return f"needs a container engine to build the node's images: {error}"
    return None


GREEN_VERSION = "local-green"


@pytest.fixture(scope="package")
def cluster(images) -> Iterator[dict[str, str]]:
    """The running cluster's environment: PATH with helm/helmfile/kubectl, and what
    `localcluster env` exports (KUBECONFIG, PLATFORMCTL_* for `platformctl -e local`)."""
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    was_running = (
        subprocess.run([tool("localcluster"), "status"], capture_output=True).returncode == 0
    )
    started = time.monotonic()
    # Streamed to the terminal: on a machine that never built the tools this takes half an hour.
    say("\ncluster tier: localcluster up")
    up = subprocess.Popen(
        [tool("localcluster"), "up"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert up.stdout is not None
    output = []
    try:
        for line in up.stdout:
            output.append(line)
            say(f"  {line.rstrip()}")
        returncode = up.wait()  # bounded by the tests' own timeouts
    finally:
        if up.poll() is None:  # interrupted (a timeout): stop it rather than leave it building
            up.terminate()
            up.wait(timeout=60)
    assert returncode == 0, "".join(output)
    say(f"cluster tier: localcluster up took {time.monotonic() - started:.0f} s")
    if was_running:
        # A cluster started before the images were (re)built still has the old ones.
        loaded = subprocess.run(
            [tool("localcluster"), "load-images"], capture_output=True, text=True
        )
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    env = {
        **os.environ,
        **access.environment(),
        "PATH": f"{paths.BIN_DIR}:{Path(sys.executable).parent}:{os.environ['PATH']}",
        "NO_COLOR": "1",
    }
    try:
        yield env
    finally:
        if not was_running:
            subprocess.run([tool("localcluster"), "down"], capture_output=True, timeout=300)


@pytest.fixture(scope="package")
def green_images(cluster, images) -> str:
    """The new version: the built images under a second tag, imported into the node."""
    engine = detect()
    tags = []
    for service in SERVICES:
        source = f"ghcr.io/example-org/platform-{service}:dev"
        tags.append(f"ghcr.io/example-org/platform-{service}:{GREEN_VERSION}")
        engine.run("tag", source, tags[-1])
    loaded = subprocess.run(
        [tool("localcluster"), "load-images", *tags], capture_output=True, text=True
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    return GREEN_VERSION


@pytest.fixture(scope="package")
def cpu_load_experiment(cluster, tmp_path_factory: pytest.TempPathFactory):
    """The HPA experiment (hpa_experiment.py), run once for the autoscaling and panel tests."""
    with autoscaled(cluster):
        return run_cpu_load_experiment(cluster, tmp_path_factory.mktemp("hpa"))


@pytest.fixture(scope="module")
def release(cluster, green_images) -> Iterator[dict[str, str]]:
    """The platform installed as environments/local.yaml says; the file and the release are put
    back as they were when the module ends, so the next module starts from the file in git."""
    original = ENV_FILE.read_text()
    applied = helmfile_apply(cluster)
    assert applied.returncode == 0, applied.stderr[-3000:]
    try:
        yield cluster
    finally:
        ENV_FILE.write_text(original)
        helmfile_apply(cluster)
