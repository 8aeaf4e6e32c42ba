"""A per-client bound on password grants, so a leaked client cannot brute-force passwords.

The window is per replica (the platform keeps no shared state): with N replicas the effective
bound is N times the setting, which still caps guessing at a rate argon2 makes useless.
"""

from __future__ import annotations

import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from prometheus_client import Counter

PASSWORD_GRANTS = Counter(
    "auth_password_grants", "Password grant attempts, by outcome.", ["outcome"]
)


class PasswordGrantThrottle:
    def __init__(self, per_minute: int) -> None:
        self.limit = RateLimitItemPerMinute(per_minute)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def admit(self, client: str) -> bool:
        admitted = await self.limiter.hit(self.limit, "password", client)
        if not admitted:
            PASSWORD_GRANTS.labels("throttled").inc()
        return admitted

    async def retry_after(self, client: str) -> int:
        stats = await self.limiter.get_window_stats(self.limit, "password", client)
        return max(1, int(stats.reset_time - time.time()) + 1)
