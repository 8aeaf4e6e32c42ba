"""localcluster's bad input: one clear error line and a non-zero exit, before touching anything
(no cluster is needed for these)."""

from __future__ import annotations

import subprocess

from tests.support.tools import tool


def test_restart_names_the_daemons_it_can_restart() -> None:
    done = subprocess.run(
        [tool("localcluster"), "restart", "etcd"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "cannot restart 'etcd': one of kubelet, containerd, kube-proxy" in done.stdout
