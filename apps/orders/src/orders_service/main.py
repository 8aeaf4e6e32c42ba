"""orders: prices orders from the catalog, charges through payments, notifies best-effort."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from servicekit.app import build_or_exit, create_service_app
from servicekit.client import ServiceClient
from servicekit.tokens import ClientCredentials

from orders_service.api.routes import Catalog, router
from orders_service.core.catalog import load_catalog
from orders_service.core.checkout import Checkout
from orders_service.core.config import OrdersSettings

SERVICE_SCOPES = ["payments:charge", "notifications:send"]


def build_app(settings: OrdersSettings) -> FastAPI:
    catalog = load_catalog(settings.currency)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        http = app.state.http
        auth = ServiceClient.for_dependency(http, settings, "auth", settings.auth_url)
        app.state.checkout = Checkout(
            payments=ServiceClient.for_dependency(
                http, settings, "payments", settings.payments_url
            ),
            # Best-effort: one quick try, so a slow notifications never delays an order much.
            notifications=ServiceClient(
                http,
                dependency="notifications",
                base_url=settings.notifications_url,
                attempts=1,
                budget_seconds=settings.http_read_timeout_seconds,
            ),
            credentials=ClientCredentials(
                auth,
                client_id=settings.client_id,
                client_secret=settings.client_secret,
                scopes=SERVICE_SCOPES,
                refresh_margin_seconds=settings.token_refresh_margin_seconds,
            ),
            currency=settings.currency,
        )
        yield

    app = create_service_app(
        settings,
        routers=[router],
        description="Prices orders from the catalog and pays them through payments.",
        lifespan=lifespan,
    )
    app.state.catalog = catalog
    app.state.catalog_json = Catalog(items=list(catalog.values())).model_dump_json().encode()
    return app


def create_app() -> FastAPI:
    return build_or_exit(OrdersSettings, build_app)
