"""The k6 suite: every script parses, and short real runs against the services pass their gates.

Short runs use the same scripts as the full-length ones, scaled down with `-e`; RETRY_EVERY and
DECLINE_EVERY are lowered so a few seconds of traffic exercise every branch of the mix.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.ports import free_port

from .conftest import K6, REPO_ROOT, SCENARIOS

SCRIPTS = (
    sorted(SCENARIOS.glob("*.js"))
    + sorted((REPO_ROOT / "k6").glob("*.js"))  # helpers: the k6 Job's wait-until-reachable
    + sorted((REPO_ROOT / "bench" / "k6").glob("*.js"))
)
EXPECTED_SCENARIOS = {
    "smoke",
    "average-load",
    "stress",
    "spike",
    "soak",
    "breakpoint",
    "zero-downtime",
    "zero-downtime-no-reuse",
    "cpu-load",
}
EVERY_BRANCH = {"RETRY_EVERY": 2, "DECLINE_EVERY": 3, "BROWSE_WEIGHT": 1, "ORDER_WEIGHT": 2}
MIX_CHECKS = {
    "catalog: 200",
    "catalog: items with sku and price",
    "order: 201 created",
    "order: has an id and the catalog total",
    "order retry: 2xx",
    "order retry: same order id",
    "declined card: 402 problem",
    "login: 200 with an access token",
    "me: 200 for a fresh token",
    "setup::login: 200 with an access token",
}


def inspect(script, *env: str) -> dict:
    args = [arg for name in env for arg in ("-e", name)]
    done = subprocess.run(
        [str(K6), "inspect", "--execution-requirements", *args, str(script)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_scenario_type_has_a_script():
    assert {path.stem for path in SCENARIOS.glob("*.js")} == EXPECTED_SCENARIOS


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_script_parses_without_remote_imports(script):
    options = inspect(script)
    assert options["scenarios"]
    assert "https://" not in script.read_text()


def test_durations_and_rates_scale_with_env_variables():
    def stages(*env: str) -> list[tuple[str, int]]:
        shoppers = inspect(SCENARIOS / "average-load.js", *env)["scenarios"]["shoppers"]
        return [(stage["duration"], stage["target"]) for stage in shoppers["stages"]]

    assert stages() == [("5m0s", 50), ("30m0s", 50), ("5m0s", 0)]
    assert stages("TIME_SCALE=0.01", "LOAD_SCALE=0.1") == [("3s", 5), ("18s", 5), ("3s", 0)]
    assert stages("VUS=7", "HOLD=1m") == [("5m0s", 7), ("1m0s", 7), ("5m0s", 0)]


def test_breakpoint_ramps_the_arrival_rate_and_aborts_on_failure():
    options = inspect(SCENARIOS / "breakpoint.js", "MAX_RATE=300")
    shoppers = options["scenarios"]["shoppers"]
    assert shoppers["executor"] == "ramping-arrival-rate"
    assert shoppers["stages"][-1]["target"] == 300
    gates = options["thresholds"]["http_req_failed"] + options["thresholds"]["http_req_duration"]
    assert gates and all(gate["abortOnFail"] for gate in gates)


def test_zero_downtime_gates_and_the_no_reuse_variant():
    plain = inspect(SCENARIOS / "zero-downtime.js")
    fresh = inspect(SCENARIOS / "zero-downtime-no-reuse.js")
    assert plain["scenarios"]["shoppers"]["executor"] == "constant-arrival-rate"
    for metric, gate in {
        "http_req_failed": "rate==0",
        "dropped_iterations": "count==0",
        "checks": "rate==1",
    }.items():
        assert plain["thresholds"][metric] == [gate]
    assert plain["thresholds"]["http_req_duration"][0].startswith("p(99)<")
    assert (plain["noConnectionReuse"], fresh["noConnectionReuse"]) == (False, True)


def test_smoke_runs_the_whole_mix_and_passes(run_scenario):
    run = run_scenario("smoke", DURATION="4s", VUS=2, THINK_TIME=0.1, **EVERY_BRANCH)

    assert run.exit_code == 0, run.output
    checks = run.checks()
    assert checks.keys() >= MIX_CHECKS
    assert all(passes > 0 and fails == 0 for passes, fails in checks.values()), checks
    assert run.summary["platform"]["passed"] is True
    assert run.summary["metrics"]["orders_replayed"]["values"]["count"] > 0
    assert run.text.startswith("k6 smoke: PASSED")
    assert "order retry: same order id" in run.text


@pytest.mark.parametrize("scenario", ["zero-downtime", "zero-downtime-no-reuse"])
def test_zero_downtime_short_run_holds_every_gate(run_scenario, scenario):
    run = run_scenario(scenario, DURATION="3s", RATE=8, **EVERY_BRANCH)

    assert run.exit_code == 0, run.output
    thresholds = run.thresholds()
    for gate in ("http_req_failed: rate==0", "dropped_iterations: count==0", "checks: rate==1"):
        assert thresholds[gate] is True
    assert all(thresholds.values())
    assert run.summary["metrics"]["dropped_iterations"]["values"]["count"] == 0
    checks = run.checks()
    assert checks["order retry: same order id"][0] > 0
    assert checks["declined card: 402 problem"][0] > 0


def test_a_crossed_threshold_fails_the_run_with_exit_code_99(run_scenario):
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    run = run_scenario("zero-downtime", ORDERS_URL=nothing_listens, DURATION="2s", RATE=4)

    assert run.exit_code == 99
    assert run.summary["platform"]["passed"] is False
    assert "http_req_failed: rate==0" in run.summary["platform"]["failedThresholds"]
    passes, fails = run.checks()["catalog: 200"]
    assert passes == 0 and fails > 0
    assert run.text.startswith("k6 zero-downtime: FAILED")


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["average-load", "spike"])
def test_load_shape_at_a_twentieth_of_its_length(run_scenario, scenario):
    # average-load: 2 min at 5 VUs; spike: 9 s up to 40 VUs and down. `make test-slow`.
    run = run_scenario(
        scenario, timeout=300, TIME_SCALE=0.05, LOAD_SCALE=0.1, THINK_TIME=0.5, **EVERY_BRANCH
    )

    assert run.exit_code == 0, run.text
    assert run.summary["platform"]["passed"] is True
    assert run.checks()["order retry: same order id"][0] > 0
