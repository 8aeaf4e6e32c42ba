"""One short real run of the overload benchmark (`python -m bench --only overload`): the four
services behind a tight admission limit, offered more orders than it admits (about 20 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.overload import measure


@pytest.mark.timeout(240)
def test_past_the_limit_orders_are_placed_or_refused_never_left_hanging(tmp_path: Path):
    rate, seconds = 60, 4
    result = measure(rate, seconds, {"limit 2": {"SERVICE_MAX_IN_FLIGHT": "2"}}, tmp_path)

    (run,) = result["variants"]
    assert run["offered"] == rate * seconds
    assert run["placed"] > 0 and run["goodput_per_second"] > 0, run
    assert run["refused_503"] > 0, run  # 60 orders/s is more than 2 in progress can take
    # Every request got an answer: placed or refused, no timeout, nothing dropped.
    assert run["other_failures"] == 0 and run["dropped_iterations"] == 0, run
    # k6 may start one iteration more or less than rate x seconds.
    assert abs(run["placed"] + run["refused_503"] - run["offered"]) <= 1, run
