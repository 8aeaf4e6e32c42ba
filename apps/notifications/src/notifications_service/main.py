"""notifications: accepts notifications and delivers them as structured log events."""

from fastapi import FastAPI
from servicekit.app import build_or_exit, create_service_app

from notifications_service.api.routes import router
from notifications_service.core.config import NotificationsSettings


def build_app(settings: NotificationsSettings) -> FastAPI:
    return create_service_app(settings, routers=[router], description=__doc__ or "")


def create_app() -> FastAPI:
    return build_or_exit(NotificationsSettings, build_app)
