"""Each request observed once, in one pure ASGI layer: its id, its access-log line and its RED
metrics.

One layer rather than one per concern: each would wrap ``send`` again, time the request again
and look up its route again, and on a cheap request the second layer cost 1.5 us of CPU
(``bench.asgi_cost``). What each records stays in its own module (``logging.AccessLog``,
``metrics.RequestMetrics``).

It is servicekit's outermost layer, so it also turns an unhandled exception into a problem+json
500 (logged with its traceback, never sent to the client).
"""

from __future__ import annotations

import os
import random
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.context import REQUEST_ID_HEADER, request_id_var, route_template
from servicekit.health import OPERATIONAL_PATHS
from servicekit.logging import access_log, resolved_logger
from servicekit.metrics import RequestMetrics
from servicekit.problems import send_problem

_HEADER = REQUEST_ID_HEADER.lower().encode()
# Accept a caller's id only if it is short and plain, so it is safe to log and echo.
# (The access line embeds it as it is: logging.AccessLog.)
_VALID_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


class ObservationMiddleware:
    """``request_ids``: keep the caller's ``X-Request-ID`` or make one, echo it, and bind it for
    logs and outbound calls. ``log_requests``: one access line per request (at level info).
    ``metrics``: where to count requests. The probes and ``/metrics`` get an id but are neither
    logged nor counted."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        request_ids: bool = True,
        log_requests: bool = True,
        metrics: RequestMetrics | None = None,
    ) -> None:
        self.app = app
        self.request_ids = request_ids
        self.log_requests = log_requests
        self.metrics = metrics
        self.log = resolved_logger("servicekit.access")
        self.access = access_log()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        id_header = token = None
        if self.request_ids:
            request_id = _incoming_id(scope) or new_request_id()
            id_header = (_HEADER, request_id.encode())
            token = request_id_var.set(request_id)
        status = 500  # what the client gets if the app raises before answering
        response_started = False

        async def send_observed(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                if id_header is not None:
                    message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        observed = scope["path"] not in OPERATIONAL_PATHS
        metrics = self.metrics if observed else None
        if metrics is not None:
            metrics.in_progress += 1
        started = time.perf_counter()
        answered: float | None = None  # when the app raised: before the 500 is logged and sent
        try:
            await self.app(scope, receive, send_observed)
        except Exception:
            answered = time.perf_counter()
            self.log.exception("unhandled exception", path=scope["path"])
            if response_started:
                raise
            await send_problem(
                send_observed,
                500,
                "The server failed to handle this request.",
                instance=scope["path"],
            )
        finally:
            if observed:
                seconds = (answered or time.perf_counter()) - started
                route = route_template(scope)
                if metrics is not None:
                    metrics.in_progress -= 1
                    metrics.observe(scope["method"], status, route, seconds)
                if self.log_requests:
                    self.access.request(
                        scope["method"], route or "unmatched", status, round(seconds * 1000, 3)
                    )
            if token is not None:
                request_id_var.reset(token)


def new_request_id() -> str:
    """128 random bits in hex, as ``os.urandom(16).hex()`` gives but without its system call
    (1 us of CPU per request, ``bench.asgi_cost``): an id must be unique, not secret. A generator
    of our own, seeded from the OS and again in a forked child, so tests that seed the shared
    one (Hypothesis does) do not repeat ids."""
    return _ids.getrandbits(128).to_bytes(16).hex()


_ids = random.Random()
os.register_at_fork(after_in_child=_ids.seed)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _HEADER:
            return value.decode() if _VALID_ID.fullmatch(value) else None
    return None
