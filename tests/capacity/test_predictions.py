"""Replica predictions from CPU per request, and `platformctl capacity` on the real chart."""

from __future__ import annotations

import itertools
import json

import pytest
import typer
from platformctl.capacity.chart import SERVICES, ColorConfig
from platformctl.capacity.hpa import Behavior, HPASpec
from platformctl.capacity.model import (
    PROFILES_FILE,
    ServiceProfile,
    load_profiles,
    predict,
    simulate_hpa,
)
from platformctl.capacity.report import capacity, predictions, rows
from typer.testing import CliRunner

CPU_BOUND = ServiceProfile("payments", cpu_seconds_per_request=0.005, requests_per_edge_request=1)
WAITING = ServiceProfile(
    "orders", 0.005, requests_per_edge_request=1, dependency_wait_fraction=0.78
)


DEFAULT_HPA = HPASpec(2, 10, 50, Behavior())


def config(
    hpa: HPASpec | None = DEFAULT_HPA,
    request: int = 100,
    live: bool = True,
    replicas: int = 2,
) -> ColorConfig:
    return ColorConfig("payments", "blue", live, True, replicas, request, 1000, hpa)


def test_replicas_hold_the_target():
    """40 rps * 5 ms = 200m of work; at a 50 % target of 100m each pod takes 50m: 4 pods."""
    prediction = predict(config(), CPU_BOUND, 40)
    assert (prediction.replicas, prediction.ideal_replicas) == (4, 4)
    assert prediction.utilization == 50
    assert prediction.settle_seconds == 15  # one sync: 2 pods at 100 % -> 4
    assert prediction.advice == ""


def test_tolerance_keeps_the_hpa_off_the_ideal_count():
    """21 rps = 105m: ideal is ceil(105/50) = 3, but 2 pods at 52 % are within 10 % of the
    target, so the HPA stays at 2. The prediction follows the controller, not the arithmetic."""
    prediction = predict(config(), CPU_BOUND, 21)
    assert (prediction.replicas, prediction.ideal_replicas, prediction.utilization) == (2, 3, 52)


def test_scale_up_from_min_is_paced_by_the_policies():
    """200 rps = 1000m wants 20 pods at target; max 10. Default policies allow +4 or +100 % per
    15 s: 2 -> 6 -> 10."""
    trace = simulate_hpa(config(), CPU_BOUND, 200, seconds=60)
    assert [d.desired for d in trace][:3] == [6, 10, 10]
    prediction = predict(config(), CPU_BOUND, 200)
    assert (prediction.replicas, prediction.reason) == (10, "TooManyReplicas")
    assert prediction.ideal_replicas == 20
    assert "needs 20 pods for the 50% target: raise maxReplicas" in prediction.advice


def test_idle_color_stays_at_min_replicas():
    prediction = predict(config(live=False), CPU_BOUND, 500)
    assert (prediction.service_rps, prediction.replicas) == (0.0, 2)
    assert prediction.advice == "preview traffic only"


def test_fixed_replicas_saturate_past_one_core_per_pod():
    """HPA off, 2 pods: 500 rps * 5 ms = 2.5 cores, more than two single-process pods can use."""
    prediction = predict(config(hpa=None), CPU_BOUND, 500)
    assert prediction.replicas == 2 and prediction.saturated
    assert "CPU-saturated at 2 pods: raise replicas" in prediction.advice


def test_services_waiting_on_dependencies_are_flagged():
    prediction = predict(config(), WAITING, 40)
    assert prediction.replicas == 4  # CPU still follows its request rate ...
    assert "waits on dependencies 78% of its time" in prediction.advice  # ... not latency
    assert "in-flight" in prediction.advice


def test_target_out_of_reach_of_one_process():
    """A 2-core request at a 70 % target means 1.4 cores per pod: one Python process tops out at
    1 core (50 % of that request), so the HPA would never scale up."""
    prediction = predict(config(HPASpec(2, 10, 70, Behavior()), request=2000), CPU_BOUND, 1000)
    assert prediction.replicas == 2 and prediction.saturated
    assert "above the 50% one process can reach: lower the request" in prediction.advice


def test_measured_profiles_cover_every_service():
    profiles = load_profiles()
    assert set(profiles) == set(SERVICES)
    assert profiles["orders"].requests_per_edge_request == pytest.approx(1.0)
    for profile in profiles.values():
        assert profile.cpu_seconds_per_request > 0
    provenance = json.loads(PROFILES_FILE.read_text())
    assert provenance["command"].startswith("python -m bench.cpu_per_request")


@pytest.mark.parametrize("environment", ["dev", "staging", "prod", "kind", "local", "processes"])
def test_predictions_for_every_environment(environment: str):
    items = predictions(environment, 100)
    assert {(p.service, p.color) for p in items} == {
        (s, c) for s in SERVICES for c in ("blue", "green")
    }
    for service in SERVICES:
        live = [p for p in items if p.service == service and p.live]
        assert len(live) == 1 and live[0].service_rps > 0
    monotonic = [predictions(environment, rps) for rps in (0, 100, 1000)]
    for low, high in itertools.pairwise(monotonic):
        assert all(a.replicas <= b.replicas for a, b in zip(low, high, strict=True))


def cli() -> typer.Typer:
    """The command as the platformctl app registers it: ``app.command()(capacity)``."""
    app = typer.Typer()
    app.command()(capacity)
    app.command("noop", hidden=True)(lambda: None)  # keep `capacity` a named subcommand
    return app


def test_cli_json_rows():
    result = CliRunner().invoke(cli(), ["capacity", "-e", "prod", "--rps", "300", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed == rows(predictions("prod", 300))
    assert len(printed) == 8


def test_cli_table():
    result = CliRunner().invoke(cli(), ["capacity", "-e", "staging", "--rps", "50"])
    assert result.exit_code == 0, result.output
    assert "predicted replicas: staging at 50 requests/s" in result.output
    for service in SERVICES:
        assert service in result.output


def test_cli_unknown_environment():
    result = CliRunner().invoke(cli(), ["capacity", "-e", "qa", "--rps", "5"])
    assert result.exit_code == 2
    assert "no environment 'qa'" in result.output


def test_cli_what_if_sizing():
    """A bigger request per pod means fewer pods for the same CPU: 250m against 500m."""
    args = ["capacity", "-e", "prod", "--rps", "600", "--json", "--target", "70"]
    small = CliRunner().invoke(cli(), [*args, "--cpu-request", "250m", "--max-replicas", "12"])
    large = CliRunner().invoke(cli(), [*args, "--cpu-request", "500m", "--max-replicas", "20"])
    assert small.exit_code == 0 and large.exit_code == 0, small.output + large.output

    def live_orders(output: str) -> dict:
        return next(r for r in json.loads(output) if r["service"] == "orders" and r["live"])

    before, after = live_orders(small.output), live_orders(large.output)
    assert (before["replicas"], before["reason"]) == (12, "TooManyReplicas")
    assert "raise maxReplicas" in before["advice"]
    assert after["replicas"] < before["ideal_replicas"]
    assert after["reason"] == "DesiredWithinRange"
    assert "raise maxReplicas" not in after["advice"]
    bad = CliRunner().invoke(cli(), ["capacity", "-e", "prod", "--max-replicas", "1"])
    assert bad.exit_code == 2
