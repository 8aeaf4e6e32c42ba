"""Fault injection to rehearse a bad release: added latency and a share of 500s.

Off by default. Operational endpoints are never faulted, so a faulty release still looks
healthy to its probes, exactly the case metric analysis must catch.
"""

from __future__ import annotations

import asyncio
import random
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from servicekit.health import OPERATIONAL_PATHS
from servicekit.problems import PROBLEM_BASE, send_problem
from servicekit.settings import ServiceSettings


class FaultInjectionMiddleware:
    def __init__(self, app: ASGIApp, *, settings: ServiceSettings) -> None:
        self.app = app
        self.error_rate = settings.fault_error_rate
        self.latency_s = settings.fault_latency_ms / 1000
        self.active_from = time.monotonic() + settings.fault_after_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in OPERATIONAL_PATHS
            or time.monotonic() < self.active_from
        ):
            await self.app(scope, receive, send)
            return
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if self.error_rate and random.random() < self.error_rate:
            await send_problem(
                send,
                500,
                "Injected fault (SERVICE_FAULT_ERROR_RATE).",
                type_=PROBLEM_BASE + "injected-fault",
                instance=scope["path"],
            )
            return
        await self.app(scope, receive, send)
