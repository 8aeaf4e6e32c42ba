"""CPU cost of one request through an app, in process: no network, no uvicorn, no k6.

    python -m bench.asgi_cost VARIANT     # prints microseconds of CPU per request

Calls the ASGI app directly with a prepared ``GET /v1/catalog`` and times ``process_time``
over batches of calls after a warm-up, keeping the fastest batch (as ``timeit`` advises: the
slower ones measure interference, not the code). Process CPU time does not count the time
other processes hold the core, so the figure holds on a busy machine. It isolates what the
middleware costs; the HTTP server's own share (parsing, the socket) is not in it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

from starlette.types import ASGIApp

WARMUP = 300
BATCHES = 40
CALLS = 250  # per batch
SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/v1/catalog",
    "raw_path": b"/v1/catalog",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"bench")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8080),
}


def build(variant: str) -> ASGIApp:
    if variant == "servicekit":
        from orders_service.main import create_app

        return create_app()
    os.environ["BENCH_VARIANT"] = variant
    from bench.apps import create_app

    return create_app()


async def microseconds_per_request(app: ASGIApp) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"GET /v1/catalog answered {message['status']}")

    for _ in range(WARMUP):
        await app(dict(SCOPE), receive, send)
    fastest = float("inf")
    for _ in range(BATCHES):
        started = time.process_time()
        for _ in range(CALLS):
            await app(dict(SCOPE), receive, send)
        fastest = min(fastest, time.process_time() - started)
    return fastest / CALLS * 1e6


def main() -> None:
    app = build(sys.argv[1])
    sys.stdout.flush()
    # The access log writes to stdout: send it to /dev/null, like a fast log collector.
    with open(os.devnull, "w") as sink:
        os.dup2(sink.fileno(), 1)
        cost = asyncio.run(microseconds_per_request(app))
    sys.stderr.write(f"{cost:.3f}\n")


if __name__ == "__main__":
    main()
