"""The runbook's gates and guard rails on one running platform: bad input, a refused bad
release, no data, automatic post-promotion rollback, rollback of a scaled-down color, and
`down` then `up` restoring the same live colors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.platformctl.conftest import Platform, analysis_file, served_by, start_platform

SCALE_DOWN_DELAY = 6  # seconds: outlasts three CLI calls, short enough to watch blue scale down


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from start_platform(
        tmp_path_factory.mktemp("runbook"), f"--scale-down-delay={SCALE_DOWN_DELAY}"
    )


def desired(platform: Platform) -> dict[str, Any]:
    """The runtime state a verb may change: live, rollback target, versions, faults, pending."""
    return {
        name: {
            "live": view["live"],
            "previous": view["previous"],
            "colors": {
                color: {key: cv[key] for key in ("version", "running", "pending", "faults")}
                for color, cv in view["colors"].items()
            },
        }
        for name, view in platform.status()["services"].items()
    }


def one_error_line(result: Any) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


BAD_INPUT = [
    (("deploy", "billing", "--version", "2.0.0"), 2, "unknown service 'billing'"),
    (("promote", "billing"), 2, "unknown service 'billing'"),
    (("deploy", "orders", "--version", "2.0.0", "--fault", "meltdown=1"), 2,
     "unknown fault 'meltdown'"),
    (("deploy", "orders", "--version", "2.0.0", "--fault", "error_rate=3"), 2,
     "bad value for fault 'error_rate'"),
    (("deploy", "orders", "--version", "2.0.0", "--fault", "latency_ms"), 2,
     "bad fault 'latency_ms'; expected key=value"),
    (("promote", "orders"), 2, "nothing to promote for orders"),
    (("rollback", "orders"), 2, "nothing to roll back to for orders"),
    (("abort", "orders"), 2, "nothing to abort for orders"),
    (("status", "-e", "mars"), 2, "unknown environment 'mars'"),
    # Not an image tag: refused on both backends before anything changes.
    (("deploy", "orders", "--version", "../../x"), 2, "version '../../x' is not a valid image tag"),
    (("deploy", "orders", "--version", "../../x", "-e", "staging"), 2,
     "version '../../x' is not a valid image tag"),
]  # fmt: skip


def test_bad_input_is_one_clear_error_and_changes_nothing(platform: Platform) -> None:
    before = desired(platform)
    for args, code, message in BAD_INPUT:
        result = platform.cli(*args)
        assert result.returncode == code, args
        assert message in one_error_line(result), args
    assert desired(platform) == before


def test_abort_stops_the_idle_deploy_and_live_keeps_serving(platform: Platform) -> None:
    view = platform.status()["services"]["payments"]
    live, idle = view["live"], view["idle"]
    assert platform.cli("deploy", "payments", "--version", "1.3.0").returncode == 0
    assert platform.status()["services"]["payments"]["colors"][idle]["pending"]

    aborted = platform.cli("abort", "payments")
    assert aborted.returncode == 0, aborted.stderr
    assert f"aborted payments {idle} 1.3.0 (stopped)" in aborted.stdout
    after = platform.status()["services"]["payments"]
    assert after["live"] == live
    assert (after["colors"][idle]["running"], after["colors"][idle]["pending"]) == (False, False)
    assert served_by(platform, "payments") == live
    # Recorded in the state file: nothing is left to promote.
    refused = platform.cli("promote", "payments")
    assert refused.returncode == 2
    assert "nothing to promote for payments" in one_error_line(refused)


def test_promote_twice_is_refused_and_rollback_restarts_a_scaled_down_color(
    platform: Platform,
) -> None:
    assert platform.cli("deploy", "auth", "--version", "1.1.0").returncode == 0
    assert platform.cli("promote", "auth", "--skip-analysis").returncode == 0
    assert platform.live()["auth"] == ("green", "1.1.0")

    before = desired(platform)
    again = platform.cli("promote", "auth")
    assert again.returncode == 2
    assert "nothing to promote for auth" in one_error_line(again)
    assert desired(platform) == before

    # After the scale-down delay blue is stopped; rollback brings it back first.
    platform.wait_for(
        lambda: not platform.status()["services"]["auth"]["colors"]["blue"]["running"],
        timeout=SCALE_DOWN_DELAY + 15,
        what="blue auth to scale down",
    )
    rollback = platform.cli("rollback", "auth")
    assert rollback.returncode == 0, rollback.stderr
    assert "restarting the scaled-down colors of auth" in rollback.stdout
    assert "rolled back auth blue" in rollback.stdout
    assert platform.live()["auth"] == ("blue", "1.0.0")
    assert served_by(platform, "auth") == "blue"

    twice = platform.cli("rollback", "auth")
    assert twice.returncode == 2
    assert "nothing to roll back to for auth" in one_error_line(twice)


def test_gate_refuses_a_release_with_errors(platform: Platform) -> None:
    deploy = platform.cli("deploy", "payments", "--version", "1.2.0-bad", "--fault",
                          "error_rate=0.3")  # fmt: skip
    assert deploy.returncode == 0, deploy.stderr

    promote = platform.cli("promote", "payments")
    assert promote.returncode == 1
    assert "promotion refused: pre-promotion analysis failed for payments green" in (
        one_error_line(promote)
    )
    # The measured table names the failing metric and verdict.
    assert "error-ratio" in promote.stdout
    assert "Failed" in promote.stdout
    assert platform.live()["payments"] == ("blue", "1.0.0")
    assert served_by(platform, "payments") == "blue"


def test_no_traffic_is_inconclusive_and_blocks_the_promotion(platform: Platform) -> None:
    quiet = analysis_file(
        platform.home.parent, "no-load", prePromotion={"load": {"rate": 0}, "count": 2}
    )
    assert platform.cli("deploy", "notifications", "--version", "1.1.0").returncode == 0

    promote = platform.cli("promote", "notifications", f"--analysis={quiet}")
    assert promote.returncode == 1
    assert "pre-promotion analysis inconclusive for notifications green" in (
        one_error_line(promote)
    )
    assert "no data" in promote.stdout
    assert platform.live()["notifications"] == ("blue", "1.0.0")


def test_post_promotion_analysis_rolls_back_a_release_that_breaks_once_live(
    platform: Platform,
) -> None:
    # The fault switches on 20 s after green starts: after the pre-promotion analysis has
    # passed, while the post-promotion analysis watches (up to 25 measurements, 1 s apart).
    watch = analysis_file(platform.home.parent, "watch-long", postPromotion={"count": 25})
    deploy = platform.cli("deploy", "orders", "--version", "1.3.0", "--fault",
                          "error_rate=0.5,after_seconds=20")  # fmt: skip
    assert deploy.returncode == 0, deploy.stderr

    promote = platform.cli("promote", "orders", f"--analysis={watch}")
    assert promote.returncode == 1
    assert "switched live traffic to orders green" in promote.stdout
    error = one_error_line(promote)
    assert "post-promotion analysis failed for orders green" in error
    assert "rolled back automatically to orders blue" in error
    assert platform.live()["orders"] == ("blue", "1.0.0")
    assert served_by(platform, "orders") == "blue"


def test_down_then_up_restores_live_colors_and_versions(platform: Platform) -> None:
    assert platform.cli("deploy", "notifications", "--version", "1.4.0").returncode == 0
    assert platform.cli("promote", "notifications", "--skip-analysis").returncode == 0
    before = platform.live()
    assert before["notifications"] == ("green", "1.4.0")

    assert platform.cli("down").returncode == 0
    stopped = platform.status()["services"]
    assert all(cv["ready"] == 0 for view in stopped.values() for cv in view["colors"].values())

    up = platform.cli("up", timeout=90)
    assert up.returncode == 0, up.stderr
    assert platform.live() == before
    for name, (color, _version) in before.items():
        assert served_by(platform, name) == color
