"""One short real run of `python -m bench.cpu_per_order`: both variants start the four services,
take orders from k6 and report CPU per order from /proc over the steady window, then measure
the floors under it: loopback TCP, and the same chain with no framework (about 55 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cpu_per_order import VARIANTS, measure


@pytest.mark.timeout(240)
def test_each_variant_reports_cpu_per_order_for_every_service(tmp_path: Path):
    result = measure(rate=10, seconds=10, rounds=1, workdir=tmp_path, floor_seconds=1)

    assert set(result["medians"]) == set(VARIANTS)
    for name, (run,) in result["runs"].items():
        assert run["k6_exit_code"] == 0 and run["failed"] == 0, (name, run)
        # Counted by orders itself over the window after the warm-up: about 4 s at 10/s.
        assert 30 <= run["orders"] <= 50 and 3.5 <= run["window_seconds"] <= 4.5, (name, run)
        per_order = run["cpu_ms_per_order"]
        assert set(per_order) == {"auth", "orders", "payments", "notifications"}
        assert all(0 < ms < 200 for name, ms in per_order.items() if name != "auth"), run
        assert run["chain_cpu_ms_per_order"] == pytest.approx(sum(per_order.values()), abs=0.01)
    baseline = next(iter(VARIANTS))
    assert result["medians"][baseline]["ratio_to_baseline"] == 1.0
    floor = result["loopback"]
    assert floor["gap_seconds"] == 0.1 and floor["apart_us"] > 0 and floor["back_to_back_us"] > 0
    free = result["framework_free"]
    assert 30 <= free["orders"] <= 50 and 3.5 <= free["window_seconds"] <= 4.5, free
    assert set(free["cpu_ms_per_order"]) == {"orders", "payments", "notifications"}
    assert free["cpu_ms_per_order"]["orders"] > 0, free
    assert free["chain_cpu_ms_per_order"] == pytest.approx(
        sum(free["cpu_ms_per_order"].values()), abs=0.01
    )
