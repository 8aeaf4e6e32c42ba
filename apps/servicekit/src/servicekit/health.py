"""Liveness and readiness.

``/healthz`` answers 200 whenever the process can serve (no dependency checks: a failing
dependency must not get every pod restarted). ``/readyz`` answers 200 only once every startup
condition is met, and 503 from the moment shutdown begins.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

# What probes and scrapers call: never counted, logged or faulted.
OPERATIONAL_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class Readiness:
    def __init__(self) -> None:
        self._pending: set[str] = set()
        self.draining = False

    def require(self, condition: str) -> None:
        """Add a startup condition that must be met before the service is ready."""
        self._pending.add(condition)

    def satisfy(self, condition: str) -> None:
        self._pending.discard(condition)

    @property
    def pending(self) -> list[str]:
        return sorted(self._pending)

    @property
    def ready(self) -> bool:
        return not self._pending and not self.draining


class HealthStatus(BaseModel):
    status: str
    pending: list[str] = []


router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=HealthStatus, summary="Liveness")
async def healthz() -> HealthStatus:
    return HealthStatus(status="ok")


@router.get(
    "/readyz",
    response_model=HealthStatus,
    summary="Readiness",
    responses={503: {"model": HealthStatus, "description": "Starting or draining"}},
)
async def readyz(request: Request) -> JSONResponse:
    readiness: Readiness = request.app.state.readiness
    if readiness.ready:
        return JSONResponse({"status": "ready", "pending": []})
    status = "draining" if readiness.draining else "starting"
    return JSONResponse({"status": status, "pending": readiness.pending}, status_code=503)
