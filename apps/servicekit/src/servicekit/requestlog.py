"""Request ids and the one-line-per-request access log, as one pure ASGI middleware.

It sits outside the metrics middleware, so it also turns an unhandled exception into a
problem+json 500 (logged with its traceback, never sent to the client).
"""

from __future__ import annotations

import os
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.context import REQUEST_ID_HEADER, request_id_var, route_template
from servicekit.health import OPERATIONAL_PATHS
from servicekit.logging import access_log, resolved_logger
from servicekit.problems import send_problem

_HEADER = REQUEST_ID_HEADER.lower().encode()
# Accept a caller's id only if it is short and plain, so it is safe to log and echo.
_VALID_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp, *, log_requests: bool = True) -> None:
        self.app = app
        self.log_requests = log_requests
        self.log = resolved_logger("servicekit.access")
        self.access = access_log()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or os.urandom(16).hex()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            self.log.exception("unhandled exception", path=scope["path"])
            if response_started:
                raise
            await send_problem(
                send_with_id,
                500,
                "The server failed to handle this request.",
                instance=scope["path"],
            )
        finally:
            path = scope["path"]
            if self.log_requests and path not in OPERATIONAL_PATHS:
                self.access.request(
                    scope["method"],
                    route_template(scope) or "unmatched",
                    status,
                    round((time.perf_counter() - started) * 1000, 3),
                )
            request_id_var.reset(token)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _HEADER:
            return value.decode() if _VALID_ID.match(value) else None
    return None
