"""One short real measurement: uvicorn services, a real Prometheus, real k6 (about 1 minute).

Marked slow (left out of `make test`); `make test-slow` or `pytest -m slow tests/capacity` runs
it. The full measurement is `python -m bench.cpu_per_request` (see docs/autoscaling.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from platformctl.capacity.chart import SERVICES
from platformctl.capacity.model import profiles_from_mapping

from bench.cpu_per_request import Plan, measure

pytestmark = pytest.mark.slow

TINY = Plan(
    idle_seconds=4,
    mix_rate=10,
    mix_seconds=10,
    sweep_rates=(5,),
    sweep_seconds=5,
    payments_fault_ms=100,
)


@pytest.mark.timeout(300)
def test_measures_cpu_per_request_for_every_service(tmp_path: Path):
    result = measure(TINY, tmp_path)

    assert result["mix"]["k6_exit_code"] == 0
    assert result["mix"]["checks"]["rate"] == 1
    profiles = profiles_from_mapping(result["services"])
    assert set(profiles) == set(SERVICES)
    for name, profile in profiles.items():
        measured = result["services"][name]
        assert measured["requests_measured"] > 0, name
        assert 0 < profile.cpu_seconds_per_request < 0.5, name
        assert 0 <= profile.idle_millicores < 200, name
    # Every edge request is an orders request; about 2 in 5 place an order that charges.
    assert profiles["orders"].requests_per_edge_request == pytest.approx(1.0)
    assert 0.2 < profiles["payments"].requests_per_edge_request < 0.7
    # Orders waits on payments and notifications; payments waits on nobody.
    assert (
        profiles["orders"].dependency_wait_fraction > profiles["payments"].dependency_wait_fraction
    )
    assert profiles["payments"].dependency_wait_fraction == 0

    healthy, slowed = result["orders_sweep"]
    assert (healthy["payments_fault_ms"], slowed["payments_fault_ms"]) == (0, 100)
    # 100 ms more in payments shows up in orders' median, not in its CPU.
    assert slowed["p50_ms"] > healthy["p50_ms"] + 80
    assert slowed["orders_cpu_millicores"] < 2 * healthy["orders_cpu_millicores"] + 20
