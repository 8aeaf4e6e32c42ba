"""The apps the overhead benchmark compares: a bare FastAPI app serving the orders catalog, and
the same app with one servicekit piece added at a time.

Run by uvicorn as ``bench.apps:create_app --factory`` with ``BENCH_VARIANT`` naming the
variant. Every variant serves the very bytes orders serves at ``GET /v1/catalog`` (serialized
once, as orders does), so the only difference is the middleware in front.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from fastapi import FastAPI, Response
from orders_service.api.routes import Catalog
from orders_service.core.catalog import load_catalog
from orders_service.core.config import OrdersSettings
from servicekit.logging import configure_logging
from servicekit.metrics import instrument
from servicekit.requestlog import RequestLogMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


def _settings(log_level: str) -> OrdersSettings:
    return OrdersSettings(SERVICE_VERSION="bench", SERVICE_LOG_LEVEL=log_level)


def _catalog_bytes() -> bytes:
    return Catalog(items=list(load_catalog("EUR").values())).model_dump_json().encode()


def raw_asgi() -> ASGIApp:
    """No framework at all: the floor uvicorn itself sets, to split a request's cost into
    uvicorn's, FastAPI's and servicekit's."""
    body = _catalog_bytes()
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))],
    }

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send(start)
        await send({"type": "http.response.body", "body": body})

    return app


def bare() -> FastAPI:
    app = FastAPI()
    body = _catalog_bytes()

    @app.get("/v1/catalog")
    async def catalog() -> Response:
        return Response(body, media_type="application/json")

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    return app


def request_id() -> FastAPI:
    """The request-id middleware with its access log filtered out (level warning)."""
    configure_logging(_settings("warning"))
    app = bare()
    app.add_middleware(RequestLogMiddleware)
    return app


def request_log() -> FastAPI:
    """Request id plus one JSON access-log line per request."""
    configure_logging(_settings("info"))
    app = bare()
    app.add_middleware(RequestLogMiddleware)
    return app


def metrics() -> FastAPI:
    """servicekit's request metrics and the instrumentator's /metrics exposition."""
    app = bare()
    instrument(app, _settings("info"))
    return app


def all_three() -> FastAPI:
    """Request id, access log and metrics, layered as servicekit layers them."""
    configure_logging(_settings("info"))
    app = bare()
    instrument(app, _settings("info"))
    app.add_middleware(RequestLogMiddleware)
    return app


VARIANTS: dict[str, Callable[[], ASGIApp]] = {
    "raw-asgi": raw_asgi,
    "bare": bare,
    "request-id": request_id,
    "request-log": request_log,
    "metrics": metrics,
    "all-three": all_three,
}


def create_app() -> ASGIApp:
    return VARIANTS[os.environ["BENCH_VARIANT"]]()
