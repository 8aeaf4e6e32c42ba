"""The apps the overhead benchmark compares: a bare FastAPI app serving the orders catalog, the
same app configured as servicekit configures FastAPI, and that one with servicekit's request
observation added a piece at a time.

Run by uvicorn as ``bench.apps:create_app --factory`` with ``BENCH_VARIANT`` naming the
variant. Every variant serves the very bytes orders serves at ``GET /v1/catalog`` (serialized
once, as orders does), so the only difference is the middleware in front.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from fastapi import APIRouter, FastAPI, Response
from orders_service.api.routes import Catalog
from orders_service.core.catalog import load_catalog
from orders_service.core.config import OrdersSettings
from servicekit.app import NATIVE_TELEMETRY_OFF, add_routes
from servicekit.logging import configure_logging
from servicekit.metrics import instrument
from servicekit.observation import ObservationMiddleware
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
    """FastAPI as it comes, its routes declared on the app: the goal's baseline."""
    app = FastAPI()
    _serve_catalog(app)
    return app


def configured() -> FastAPI:
    """Bare FastAPI as servicekit configures it (``servicekit/app.py``): FastAPI's own
    OpenTelemetry hooks off, and the routes tried before FastAPI's documentation routes. The
    pieces below are added to this one, so each is priced on the base the services run on."""
    app = FastAPI(telemetry=NATIVE_TELEMETRY_OFF)
    router = APIRouter()
    _serve_catalog(router)
    add_routes(app, [router])
    return app


def _serve_catalog(routes: FastAPI | APIRouter) -> None:
    body = _catalog_bytes()

    @routes.get("/v1/catalog")
    async def catalog() -> Response:
        return Response(body, media_type="application/json")

    @routes.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}


def request_id() -> FastAPI:
    """Request ids alone: no access line, no metrics."""
    configure_logging(_settings("info"))
    app = configured()
    app.add_middleware(ObservationMiddleware, log_requests=False)
    return app


def request_log() -> FastAPI:
    """Request id plus one JSON access-log line per request."""
    configure_logging(_settings("info"))
    app = configured()
    app.add_middleware(ObservationMiddleware)
    return app


def metrics() -> FastAPI:
    """servicekit's request metrics and the instrumentator's /metrics exposition."""
    app = configured()
    metrics = instrument(app, _settings("info"))
    app.add_middleware(
        ObservationMiddleware, request_ids=False, log_requests=False, metrics=metrics
    )
    return app


def all_three() -> FastAPI:
    """Request id, access log and metrics, as servicekit observes a request."""
    configure_logging(_settings("info"))
    app = configured()
    app.add_middleware(ObservationMiddleware, metrics=instrument(app, _settings("info")))
    return app


VARIANTS: dict[str, Callable[[], ASGIApp]] = {
    "raw-asgi": raw_asgi,
    "bare": bare,
    "configured": configured,
    "request-id": request_id,
    "request-log": request_log,
    "metrics": metrics,
    "all-three": all_three,
}


def create_app() -> ASGIApp:
    return VARIANTS[os.environ["BENCH_VARIANT"]]()
