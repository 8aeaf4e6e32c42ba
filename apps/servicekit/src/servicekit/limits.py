"""Reject request bodies over the configured size with 413, before the app reads them, and
header floods with 431 (uvicorn's httptools parser sets no bound of its own)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.problems import send_problem


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_bytes:
                    await self._reject(scope, send)
                    return
                break
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
                        await self._reject(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if rejected:
                return  # the 413 is out; the app's answer to the disconnect goes nowhere
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _reject(self, scope: Scope, send: Send) -> None:
        await send_problem(
            send,
            413,
            f"The request body exceeds {self.max_bytes} bytes.",
            instance=scope["path"],
            headers=[(b"connection", b"close")],
        )


# What nginx and h11 allow by default; far above any request the platform's clients send.
MAX_HEADER_COUNT = 100
MAX_HEADER_BYTES = 16 * 1024


class HeaderLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            size = sum(len(name) + len(value) for name, value in headers)
            if len(headers) > MAX_HEADER_COUNT or size > MAX_HEADER_BYTES:
                await send_problem(
                    send,
                    431,
                    f"At most {MAX_HEADER_COUNT} headers, {MAX_HEADER_BYTES} bytes in all.",
                    instance=scope["path"],
                    headers=[(b"connection", b"close")],
                )
                return
        await self.app(scope, receive, send)
