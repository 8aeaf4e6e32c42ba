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


def test_a_check_that_gets_no_answer_in_time_is_not_ready_yet() -> None:
    # A cold kube-apiserver on a busy machine once took longer than the readiness probe's own
    # kubectl timeout to answer; the start then crashed on the timeout instead of polling on.
    from localcluster.cluster import wait_until

    answers = iter([subprocess.TimeoutExpired(["kubectl"], 5), False, True])

    def check() -> bool:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    said: list[str] = []
    wait_until("kube-apiserver ready", check, 10, None, said.append)
    assert len(said) == 1 and said[0].startswith("  kube-apiserver ready: ")
