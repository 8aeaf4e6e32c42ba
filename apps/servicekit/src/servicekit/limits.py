"""Bound what a request may carry: header floods get 431 (uvicorn's httptools parser sets no
bound of its own), and bodies over the configured size 413, before the app reads them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.problems import send_problem

# What nginx and h11 allow by default; far above any request the platform's clients send.
MAX_HEADER_COUNT = 100
MAX_HEADER_BYTES = 16 * 1024


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # One pass over the headers: sizes, and how a body is framed. Two passes (a sum, then a
        # search) cost 1 us more per request in process (bench.asgi_cost).
        headers = scope["headers"]
        size = 0
        too_long = may_have_body = False
        for name, value in headers:
            size += len(name) + len(value)
            if name == b"content-length":
                too_long = too_long or not value.isdigit() or int(value) > self.max_bytes
                may_have_body = value != b"0"
            elif name == b"transfer-encoding":
                may_have_body = True
        if len(headers) > MAX_HEADER_COUNT or size > MAX_HEADER_BYTES:
            await self._reject(
                scope,
                send,
                431,
                f"At most {MAX_HEADER_COUNT} headers, {MAX_HEADER_BYTES} bytes in all.",
            )
            return
        if too_long:
            await self._reject_body(scope, send)
            return
        if not may_have_body:
            # HTTP/1.1 frames a body only by Content-Length or Transfer-Encoding (RFC 9112
            # section 6.3): with neither, there is nothing to count.
            await self.app(scope, receive, send)
            return
        await self._counting_body(scope, receive, send)

    async def _counting_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        over_limit = rejected = response_started = False

        async def counting_receive() -> Message:
            nonlocal received, over_limit, rejected
            if over_limit:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Answer here: an exception raised into the app would become FastAPI's
                    # 400 "error parsing the body". The app then sees the client leave.
                    over_limit = True
                    if not response_started:
                        rejected = True
                        await self._reject_body(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if rejected:
                return  # the 413 is out; the app's answer to the disconnect goes nowhere
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _reject_body(self, scope: Scope, send: Send) -> None:
        await self._reject(scope, send, 413, f"The request body exceeds {self.max_bytes} bytes.")

    @staticmethod
    async def _reject(scope: Scope, send: Send, status: int, detail: str) -> None:
        await send_problem(
            send, status, detail, instance=scope["path"], headers=[(b"connection", b"close")]
        )
