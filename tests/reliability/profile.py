"""How hard the reliability suite pushes: bounded inside `make test`, full in `make reliability`.

`make reliability` sets ``RELIABILITY_PROFILE=full``; anything else runs the bounded profile,
which exercises every item in a fraction of the time. Both assert the same things.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    name: str
    examples_per_operation: int  # schemathesis examples per API operation
    kill_load_rate: int  # k6 iterations per second through the proxy while killing
    kill_load_seconds: int
    # If set, the kill load runs at this multiple of the local runtime's knee, measured first
    # (`local_runtime.knee`), instead of at kill_load_rate.
    kill_rate_of_knee: float | None
    slow_dependency_orders: int  # concurrent orders sent while payments is slow
    overload_rate: int  # orders/s offered to the four services behind a tight admission limit
    overload_seconds: int
    overload_limit: int  # SERVICE_MAX_IN_FLIGHT of that run


BOUNDED = Profile(
    "bounded",
    examples_per_operation=15,
    kill_load_rate=25,
    kill_load_seconds=14,
    kill_rate_of_knee=None,
    slow_dependency_orders=4,
    overload_rate=60,
    overload_seconds=4,
    overload_limit=2,
)
FULL = Profile(
    "full",
    examples_per_operation=100,
    # Half of it orders. The floor: the full run kills at 1.5x the knee it measures first
    # (kill_rate_of_knee) if that is more, or at RELIABILITY_KILL_RATE when that is set.
    kill_load_rate=300,
    kill_load_seconds=60,
    # The order-path issue's goal: losing a payments replica at 1.5x the knee fails < 1 %.
    kill_rate_of_knee=1.5,
    slow_dependency_orders=20,
    # Three times `make bench`'s highest clean rate before servicekit's cost cuts (400-500
    # orders/s on 2026-11-30; the higher), for 30 s, with the limit that held the goals. After
    # the cuts that rate reached 700, and 2,100/s is past what these two cores serve at 90 %
    # goodput with k6 on them too (docs/performance.md, section 7); this run keeps 1,500/s.
    overload_rate=1500,
    overload_seconds=30,
    # 6, not 8: on the slower AMD EPYC of 2026-12-02 at 1,200 orders/s, limit 8's refusals took
    # 11-24 ms at p99 in five runs (one over the 20 ms goal), limit 6's 10-15 ms in four, with
    # the same goodput (docs/reliability.md, "On a slower machine").
    overload_limit=6,
)


def current() -> Profile:
    """``RELIABILITY_KILL_RATE=N`` runs the kill rehearsal at N requests/s (above the knee, say);
    ``RELIABILITY_OVERLOAD_RATE=N`` offers N orders/s in the overload run, taken as three times
    the clean rate (the full profile's goals are relative to it)."""
    profile = FULL if os.environ.get("RELIABILITY_PROFILE") == "full" else BOUNDED
    overrides = {
        field: _rate(variable)
        for field, variable in (
            ("kill_load_rate", "RELIABILITY_KILL_RATE"),
            ("overload_rate", "RELIABILITY_OVERLOAD_RATE"),
        )
        if os.environ.get(variable)
    }
    if "kill_load_rate" in overrides:
        overrides["kill_rate_of_knee"] = None  # the rate asked for, not the knee's multiple
    return replace(profile, **overrides)


def _rate(variable: str) -> int:
    value = os.environ[variable]
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{variable} must be a whole number (per second), not {value!r}")
    return int(value)


PROFILE = current()
