"""Refuse work past capacity instead of queueing it.

A process admits at most ``max_in_flight`` requests at a time. One more is answered at once with
503 and ``Retry-After: 1``, before the app reads it. Past the knee a queue only adds latency:
every request waits behind the others, clients time out, and their retries make the queue longer
(the SRE book's "Handling Overload"). The limit is per process, like the work it protects; the
probes and ``/metrics`` are never refused, so an overloaded pod stays live, ready and observable.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from servicekit.health import OPERATIONAL_PATHS
from servicekit.metrics import SHED_REQUESTS
from servicekit.problems import send_problem

RETRY_AFTER_SECONDS = b"1"


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, *, max_in_flight: int) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0  # one event loop per process: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPERATIONAL_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            SHED_REQUESTS.inc()
            await send_problem(
                send,
                503,
                f"Over capacity: {self.max_in_flight} requests in progress. Retry later.",
                instance=scope["path"],
                title="Overloaded",
                headers=[(b"retry-after", RETRY_AFTER_SECONDS)],
            )
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
