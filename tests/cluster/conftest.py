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

from tests.support.tools import tool

REPO_ROOT = Path(__file__).resolve().parents[2]


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


ENV_FILE = REPO_ROOT / "environments" / "local.yaml"
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
    up = subprocess.run([tool("localcluster"), "up"], capture_output=True, text=True, timeout=3600)
    assert up.returncode == 0, up.stdout + up.stderr
    print(f"\nlocalcluster up: {time.monotonic() - started:.0f} s\n{up.stdout.strip()}")
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
    for service in SERVICES:
        source = f"ghcr.io/example-org/platform-{service}:dev"
        engine.run("tag", source, f"ghcr.io/example-org/platform-{service}:{GREEN_VERSION}")
    loaded = subprocess.run([tool("localcluster"), "load-images"], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    return GREEN_VERSION
