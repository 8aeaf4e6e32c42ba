"""The app factory: one call turns a service's routers and settings into a platform service."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from pydantic import BaseModel, Field

from servicekit import health
from servicekit.admission import AdmissionMiddleware
from servicekit.client import create_http_client
from servicekit.faults import FaultInjectionMiddleware
from servicekit.heap import freeze_startup_heap
from servicekit.lifecycle import install_shutdown_hook
from servicekit.limits import RequestLimitsMiddleware
from servicekit.logging import access_log, configure_logging, get_logger
from servicekit.metrics import instrument
from servicekit.observation import ObservationMiddleware
from servicekit.problems import install_problem_handlers
from servicekit.security import JWKS_PATH, KeySource, RemoteJWKS, TokenVerifier
from servicekit.settings import ConfigurationError, ServiceSettings, load_settings

# FastAPI's native OpenTelemetry hooks. The platform observes through Prometheus and its JSON
# logs, and installs no OpenTelemetry SDK, so the hooks never record anything; yet while on they
# look up the global providers (three environment reads) on every request: 6 of a cheap
# request's 48 us of CPU in FastAPI (bench.asgi_cost).
NATIVE_TELEMETRY_OFF: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}

ServiceLifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


class ProblemDetail(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=["https://platform.example/problems/validation-error"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None


def build_or_exit(cls: type[SettingsT], build: Callable[[SettingsT], FastAPI]) -> FastAPI:
    """Load settings and build the app; on a bad configuration exit non-zero with one line
    naming the setting (what uvicorn ``--factory`` calls)."""
    try:
        return build(load_settings(cls))
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def create_service_app(
    settings: ServiceSettings,
    *,
    routers: Sequence[APIRouter],
    description: str = "",
    key_source: KeySource | None = None,
    lifespan: ServiceLifespan | None = None,
) -> FastAPI:
    """Build the app: lifespan, middleware, error handlers and operational endpoints.

    ``key_source`` verifies tokens with local keys (auth itself); otherwise tokens are
    verified against auth's JWKS, and the service is not ready until it has fetched it.
    """
    configure_logging(settings)
    log = get_logger("servicekit.app")
    access = access_log()
    readiness = health.Readiness()

    @asynccontextmanager
    async def app_lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.fault_startup_fail:
            raise RuntimeError("injected startup failure (SERVICE_FAULT_STARTUP_FAIL)")
        app.state.http = create_http_client(settings)
        background: list[asyncio.Task[None]] = []
        if key_source is None:
            jwks = RemoteJWKS(
                app.state.http,
                settings.auth_url.rstrip("/") + JWKS_PATH,
                min_refresh_interval=settings.jwks_refresh_interval_seconds,
            )
            keys: KeySource = jwks
            readiness.require("jwks")
            background.append(
                asyncio.create_task(
                    jwks.keep_loaded(lambda: readiness.satisfy("jwks"), retry_every=0.5)
                )
            )
        else:
            keys = key_source
        app.state.verifier = TokenVerifier(
            keys,
            issuer=settings.jwt_issuer,
            audience=settings.service_name,
            leeway=settings.jwt_leeway_seconds,
            cache_entries=settings.jwt_cache_entries,
        )
        restore_signals = install_shutdown_hook(readiness, settings.shutdown_delay_seconds)

        def started() -> None:
            """Start-up is over: its heap is frozen (servicekit/heap.py), then announced."""
            frozen = freeze_startup_heap()
            log.info("started", pending=readiness.pending, frozen=frozen)

        try:
            if lifespan is None:
                started()
                yield
            else:
                async with lifespan(app):
                    started()
                    yield
        finally:
            access.flush()  # the last access lines, which wait to share a write
            readiness.draining = True
            for task in background:
                task.cancel()
            await app.state.http.close()
            restore_signals()
            log.info("stopped")

    app = FastAPI(
        title=settings.service_name,
        version=settings.version,
        description=description,
        lifespan=app_lifespan,
        telemetry=NATIVE_TELEMETRY_OFF,
    )
    app.state.settings = settings
    app.state.readiness = readiness
    install_problem_handlers(app)
    add_routes(app, (*routers, health.router))
    # Added innermost first: faults and limits sit inside the observation middleware, so
    # injected errors are counted and logged; it is outermost and catches anything unhandled.
    if settings.request_faults_enabled:
        app.add_middleware(FaultInjectionMiddleware, settings=settings)
    app.add_middleware(RequestLimitsMiddleware, max_body_bytes=settings.max_body_bytes)
    # Outside the limits (a refused request costs nothing more), inside the observation (counted).
    if settings.max_in_flight:
        app.add_middleware(AdmissionMiddleware, max_in_flight=settings.max_in_flight)
    app.add_middleware(ObservationMiddleware, metrics=instrument(app, settings))
    _document_problems(app)
    # Built now rather than on the first request, so a broken stack fails at start.
    app.middleware_stack = app.build_middleware_stack()
    return app


def add_routes(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Put the routers' routes on the app itself, ahead of FastAPI's documentation routes.

    The router tries routes in order, and FastAPI has already added its four (``/openapi.json``,
    ``/docs`` and two more): behind them, every request paid four failed matches first. FastAPI
    0.16x's ``include_router`` also keeps each router as a nested layer matched on every
    request, a seventh of a cheap request's CPU; a router declared with its prefix, tags and
    dependencies needs none of what the layer adds, and the OpenAPI document is the same.
    Being first, a service's catch-all route (``/{path:path}``) would shadow ``/docs``.
    """
    app.router.routes[:0] = [route for router in routers for route in router.routes]


def _document_problems(app: FastAPI) -> None:
    """Register the Problem schema that route ``responses`` refer to."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = ProblemDetail.model_json_schema()
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
