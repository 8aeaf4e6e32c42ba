"""payments: authorizes charges with outcomes that are a pure function of the request."""

from fastapi import FastAPI
from servicekit.app import build_or_exit, create_service_app

from payments_service.api.routes import router
from payments_service.core.config import PaymentsSettings


def build_app(settings: PaymentsSettings) -> FastAPI:
    return create_service_app(settings, routers=[router], description=__doc__ or "")


def create_app() -> FastAPI:
    return build_or_exit(PaymentsSettings, build_app)
