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
    slow_dependency_orders: int  # concurrent orders sent while payments is slow


BOUNDED = Profile(
    "bounded",
    examples_per_operation=15,
    kill_load_rate=25,
    kill_load_seconds=14,
    slow_dependency_orders=4,
)
FULL = Profile(
    "full",
    examples_per_operation=100,
    # Half of it orders: 150 orders/s, below the order path's knee (200 orders/s in
    # docs/performance.md, 2026-11-30). At 375 orders/s, through caddy with two replicas of
    # everything on two cores, losing a payments replica still fails 18 % (docs/reliability.md).
    kill_load_rate=300,
    kill_load_seconds=60,
    slow_dependency_orders=20,
)


def current() -> Profile:
    """``RELIABILITY_KILL_RATE=N`` runs the kill rehearsal at N requests/s (above the knee, say)."""
    profile = FULL if os.environ.get("RELIABILITY_PROFILE") == "full" else BOUNDED
    rate = os.environ.get("RELIABILITY_KILL_RATE", "")
    if not rate:
        return profile
    if not rate.isdigit() or int(rate) < 1:
        raise ValueError(f"RELIABILITY_KILL_RATE must be a whole number (requests/s), not {rate!r}")
    return replace(profile, kill_load_rate=int(rate))


PROFILE = current()
