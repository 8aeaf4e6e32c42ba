"""A deploy stops waiting once its new pods cannot become ready (tests/cluster proves it on the
real cluster): which pod states are hopeless, and how a running command is given up on."""

from __future__ import annotations

import time

import pytest
from platformctl.kubernetes.cluster import pod_failure, runs_version
from platformctl.kubernetes.commands import CommandError, SubprocessCommands


def pod(waiting: str | None, restarts: int = 0) -> dict:
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    last = {"terminated": {"exitCode": 3, "reason": "Error"}} if restarts else {}
    container = {"name": "orders", "state": state, "lastState": last, "restartCount": restarts}
    return {"status": {"containerStatuses": [container]}}


@pytest.mark.parametrize(
    ("waiting", "restarts", "hopeless"),
    [
        (None, 0, False),
        ("ContainerCreating", 0, False),
        ("ErrImagePull", 0, False),  # a first pull attempt; the backoff decides
        ("CrashLoopBackOff", 0, False),  # one crash: it may still come up
        ("CrashLoopBackOff", 1, True),  # two crashes in a row
        ("ImagePullBackOff", 0, True),
        ("InvalidImageName", 0, True),
        ("CreateContainerConfigError", 0, True),
    ],
)
def test_which_pods_will_never_become_ready(waiting: str | None, restarts: int, hopeless: bool):
    assert bool(pod_failure(pod(waiting, restarts))) is hopeless


@pytest.mark.parametrize(
    ("image", "runs"),
    [
        ("ghcr.io/example-org/platform-orders:1.2.0", True),
        ("ghcr.io/example-org/platform-orders:1.2.0@sha256:" + "0" * 64, True),  # pinned
        ("ghcr.io/example-org/platform-orders:1.2.0-rc1", False),
        ("ghcr.io/example-org/platform-orders:11.2.0", False),
    ],
)
def test_a_deploy_judges_only_the_pods_of_its_version(image: str, runs: bool):
    assert runs_version({"spec": {"containers": [{"image": image}]}}, "1.2.0") is runs


def test_a_command_is_interrupted_once_give_up_has_a_reason():
    asked = []

    def give_up() -> str | None:
        asked.append(time.monotonic())
        return "the pods crashed" if len(asked) == 2 else None

    started = time.monotonic()
    result = SubprocessCommands().run(["sleep", "60"], give_up=give_up)
    assert time.monotonic() - started < 15
    assert result.interrupted == "the pods crashed" and result.returncode == -15
    with pytest.raises(CommandError, match=r"stopped waiting for `sleep 60`: the pods crashed"):
        result.check()


def test_a_command_that_finishes_is_not_interrupted():
    result = SubprocessCommands().run(["sh", "-c", "echo out; echo err >&2"], give_up=lambda: None)
    assert (result.returncode, result.stdout, result.stderr, result.interrupted) == (
        0,
        "out\n",
        "err\n",
        "",
    )
    assert SubprocessCommands().run(["cat"], input="in").stdout == "in"
