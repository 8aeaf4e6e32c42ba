"""A retry budget per dependency, as Finagle's RetryBudget and Envoy's retry budgets do.

Per-call retry limits alone multiply load when a dependency struggles: with 3 attempts, every
call becomes 3 just when the dependency can least afford it (the SRE book's "Addressing
Cascading Failures" calls this a retry storm). A budget caps retries at a share of the calls
made recently (``ratio``), plus a small floor (``min_per_second``) so a quiet
service can still retry a lone failure. Both are counted over a sliding window of ``window``
seconds, in one-second buckets, so memory stays constant.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# The defaults of the SERVICE_HTTP_RETRY_* settings, and of a client built without settings.
DEFAULT_RATIO = 0.1
DEFAULT_MIN_PER_SECOND = 1.0
WINDOW_SECONDS = 10


class RetryBudget:
    def __init__(
        self,
        *,
        ratio: float,
        min_per_second: float,
        window: int = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= ratio <= 1 or min_per_second < 0 or window < 1:
            raise ValueError("ratio must be in [0, 1], min_per_second >= 0 and window >= 1")
        self.ratio = ratio
        self.min_per_second = min_per_second
        self.window = window
        self.clock = clock
        # second -> [calls, retries]; at most `window` entries.
        self._buckets: dict[int, list[int]] = {}

    def record_call(self) -> None:
        self._bucket()[0] += 1

    def try_acquire(self) -> bool:
        """Take one retry if the budget has it. Checked and counted in one step: calls that
        fail together must not all see the same count before any of them retries."""
        calls, retries = self._totals()
        if retries + 1 > self.min_per_second * self.window + self.ratio * calls:
            return False
        self._bucket()[1] += 1
        return True

    def _bucket(self) -> list[int]:
        now = int(self.clock())
        bucket = self._buckets.get(now)
        if bucket is None:
            for second in [s for s in self._buckets if s <= now - self.window]:
                del self._buckets[second]
            bucket = self._buckets[now] = [0, 0]
        return bucket

    def _totals(self) -> tuple[int, int]:
        oldest = int(self.clock()) - self.window
        live = [b for second, b in self._buckets.items() if second > oldest]
        return sum(b[0] for b in live), sum(b[1] for b in live)
