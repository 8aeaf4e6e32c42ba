"""The rollout strategies beyond the switch, locally (the cluster's are in
tests/cluster/rollout_strategies.py):

- sizes around a release, under k6: a deploy runs the idle color small (previewReplicas),
  promote brings it to full size before switching, the old color scales to zero after the
  delay, and a rollback after that window starts it again before switching back; 0 failed;
- auto-promotion: `deploy --auto-promote-after` promotes a color that passed its analysis for
  that long, and never one that failed it;
- canary by steps, under k6: 10, 25, 50 % of live traffic through the proxy's split upstreams
  with 0 failed, and a canary with 30 % errors caught at its first step."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest

from tests.platformctl.conftest import K6Run, Platform, served_by, start_platform

REPLICAS, PREVIEW_REPLICAS = 2, 1
SCALE_DOWN_DELAY = 3  # seconds
RATE = 40  # requests/s through the stable ports


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from start_platform(
        tmp_path_factory.mktemp("strategies"),
        f"--replicas={REPLICAS}",
        f"--preview-replicas={PREVIEW_REPLICAS}",
        f"--scale-down-delay={SCALE_DOWN_DELAY}",
    )


def orders_color(platform: Platform, color: str) -> dict:
    return platform.status()["services"]["orders"]["colors"][color]


def seconds(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text}"
    return float(match.group(1))


@pytest.mark.timeout(180)
def test_small_idle_color_promoted_then_scaled_down_and_rolled_back(platform: Platform) -> None:
    load = K6Run(platform, "sizes", RATE, reuse=True)
    time.sleep(3)  # traffic flows on blue first

    deployed = platform.cli("deploy", "orders", "--version", "1.1.0")
    assert deployed.returncode == 0, deployed.stderr
    green = orders_color(platform, "green")
    assert (green["instances"], green["ready"], green["pending"]) == (PREVIEW_REPLICAS, 1, True)

    promoted = platform.cli("promote", "orders", "--skip-analysis")
    assert promoted.returncode == 0, promoted.stderr
    assert "scaling orders green to full size" in promoted.stdout
    assert platform.live()["orders"] == ("green", "1.1.0")
    assert orders_color(platform, "green")["instances"] == REPLICAS

    # The delay passes: blue stops by itself (the supervisor), and the rollback starts it first.
    platform.wait_for(
        lambda: not orders_color(platform, "blue")["running"],
        timeout=SCALE_DOWN_DELAY + 15,
        what="blue orders to scale down",
    )
    rolled_back = platform.cli("rollback", "orders")
    assert rolled_back.returncode == 0, rolled_back.stderr
    assert "restarting the scaled-down colors of orders" in rolled_back.stdout
    assert platform.live()["orders"] == ("blue", "1.0.0")
    assert orders_color(platform, "blue")["ready"] == REPLICAS

    result = load.stop()
    figures = {
        "preview_scale_up_s": seconds(r"full size after ([\d.]+)s", promoted.stdout),
        "promote_total_s": seconds(r"promoted .*? in ([\d.]+)s", promoted.stdout),
        "switch_ms": seconds(r"switched live traffic to .* in (\d+) ms", promoted.stdout),
        "rollback_after_window_s": seconds(r"total ([\d.]+)s", rolled_back.stdout),
        **result.figures(),
    }
    print("rollout sizes, local:", json.dumps(figures))
    (platform.home / "rollout-sizes.json").write_text(json.dumps(figures))
    assert result.passed(), result.output
    assert result.figures()["failed"] == 0
    assert result.figures()["dropped_iterations"] == 0


def test_auto_promotion_after_the_idle_color_passed_its_analysis(platform: Platform) -> None:
    deployed = platform.cli("deploy", "notifications", "--version", "1.1.0",
                            "--auto-promote-after=8s", timeout=180)  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr
    # Rounds of about 5 s each (one may take longer on a busy machine) until 8 s have passed.
    assert "pre-promotion (round 1) analysis" in deployed.stdout
    assert seconds(r"passed its analysis for (\d+)s: promoting", deployed.stdout) >= 8
    assert "post-promotion analysis" in deployed.stdout
    assert platform.live()["notifications"] == ("green", "1.1.0")


def test_auto_promotion_never_promotes_a_color_that_failed_its_analysis(
    platform: Platform,
) -> None:
    before = platform.live()["payments"]
    deployed = platform.cli("deploy", "payments", "--version", "1.2.0-bad", "--fault",
                            "error_rate=0.3", "--auto-promote-after=30s")  # fmt: skip
    assert deployed.returncode == 1
    error = [line for line in deployed.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1, deployed.stderr
    assert "not promoted: pre-promotion analysis round 1 failed for payments" in error[0]
    assert "stays pending" in error[0]
    assert platform.live()["payments"] == before
    idle = platform.status()["services"]["payments"]
    assert idle["colors"][idle["idle"]]["pending"]  # for a person to promote or abort
    assert platform.cli("abort", "payments").returncode == 0


def test_auto_promotion_refuses_a_bad_duration(platform: Platform) -> None:
    before = platform.status()["services"]["auth"]
    refused = platform.cli("deploy", "auth", "--version", "1.4.0", "--auto-promote-after=soon")
    assert refused.returncode == 2
    assert "bad duration 'soon'" in refused.stderr
    after = platform.status()["services"]["auth"]
    assert [(c["version"], c["pending"]) for c in after["colors"].values()] == [
        (c["version"], c["pending"]) for c in before["colors"].values()
    ]


@pytest.mark.timeout(180)
def test_canary_steps_under_load_with_zero_failed(platform: Platform) -> None:
    load = K6Run(platform, "canary", RATE, reuse=True)
    time.sleep(3)
    deployed = platform.cli("deploy", "payments", "--version", "1.3.0")
    assert deployed.returncode == 0, deployed.stderr
    canary = platform.cli("canary", "payments", "--steps", "10,25,50,100", timeout=150)
    assert canary.returncode == 0, canary.stderr
    for step in (10, 25, 50):
        assert f"canary step {step}%: payments green takes {step}% of live traffic" in canary.stdout
    assert "canary passed every step: promoting payments green" in canary.stdout
    assert platform.live()["payments"] == ("green", "1.3.0")
    result = load.stop()
    print("canary, local:", json.dumps(result.figures()))
    assert result.passed(), result.output
    assert result.figures()["failed"] == 0


@pytest.mark.timeout(180)
def test_a_faulty_canary_is_caught_at_the_first_step(platform: Platform) -> None:
    load = K6Run(platform, "faulty-canary", RATE, reuse=True)
    time.sleep(3)
    deployed = platform.cli("deploy", "orders", "--version", "1.4.0", "--fault", "error_rate=0.3")
    assert deployed.returncode == 0, deployed.stderr
    started = time.monotonic()
    canary = platform.cli("canary", "orders", "--steps", "10,50,100")
    canary_seconds = time.monotonic() - started
    # The whole output on failure: each step's analysis table says what it measured.
    transcript = f"stdout:\n{canary.stdout}\nstderr:\n{canary.stderr}"
    assert canary.returncode == 1, transcript
    assert "canary stopped at step 10%: analysis failed for orders green" in canary.stderr, (
        transcript
    )
    assert "canary step 50%" not in canary.stdout, transcript
    assert platform.live()["orders"] == ("blue", "1.0.0")
    assert served_by(platform, "orders") == "blue"  # all of it back on blue, not split
    result = load.stop()
    figures = result.figures()
    print("faulty canary, local:", json.dumps(figures))
    # Only the canary's tenth of the orders port's traffic met its 30 % errors, and only while
    # its one step stood (at most the canary command's run): twice that bounds the failures.
    expected = RATE * canary_seconds * 0.1 * 0.3
    assert 0 < figures["failed"] <= 2 * expected, (figures, canary_seconds)


def test_canary_steps_are_checked_before_anything_changes(platform: Platform) -> None:
    for steps in ("10,5,100", "10,50", "0,100", "ten"):
        refused = platform.cli("canary", "auth", "--steps", steps)
        assert refused.returncode == 2, steps
        assert "--steps" in refused.stderr


def test_split_slots_weigh_the_canary_in_five_percent_steps() -> None:
    from platformctl.local import caddy
    from platformctl.local.state import Instance, PlatformState, Ports, RuntimeSettings

    state = PlatformState.initial(Ports(), RuntimeSettings(replicas=2))
    service = state.services["orders"]
    for port, color in ((1, "blue"), (2, "blue"), (3, "green")):
        service.colors[color].instances.append(Instance(port=port))
    for weight, canary in ((10, 2), (25, 5), (50, 10), (1, 1), (99, 19)):
        service.canary_weight = weight
        slots = caddy.split_slots(state, "orders")
        assert slots.count("127.0.0.1:3") == canary, weight
        assert {slots.count("127.0.0.1:1"), slots.count("127.0.0.1:2")} <= {
            (20 - canary) // 2, (20 - canary + 1) // 2
        }  # fmt: skip
