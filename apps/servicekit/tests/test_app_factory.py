"""The factory's behaviour on an app built from it, through Starlette's test client."""

from __future__ import annotations

import json

from auth_service.core.keys import Keyring
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter
from fastapi.testclient import TestClient
from orders_service.core.config import OrdersSettings
from payments_service.core.config import PaymentsSettings
from servicekit.app import create_service_app

router = APIRouter()


@router.get("/v1/boom")
async def boom() -> dict[str, str]:
    raise RuntimeError("secret internals: password=hunter2")


def client() -> TestClient:
    app = create_service_app(
        PaymentsSettings(), routers=[router], key_source=Keyring(Ed25519PrivateKey.generate(), [])
    )
    return TestClient(app, raise_server_exceptions=False)


def test_an_unhandled_exception_is_a_500_problem_without_internals(capsys):
    with client() as http:
        response = http.get("/v1/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 500 and body["request_id"] == "boom-1"
    assert "hunter2" not in response.text and "Traceback" not in response.text
    logged = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    assert any(entry.get("exception") and entry["request_id"] == "boom-1" for entry in logged)


def test_operational_endpoints_are_in_the_openapi_document():
    with client() as http:
        paths = http.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/readyz", "/metrics"} <= paths.keys()


def test_readiness_without_pending_work_is_200():
    with client() as http:
        assert http.get("/readyz").json() == {"status": "ready", "pending": []}
        assert http.get("/healthz").status_code == 200


def test_settings_name_their_variables_and_dependencies():
    names = OrdersSettings.env_names()
    assert names["color"] == "SERVICE_COLOR"
    assert names["payments_url"] == "ORDERS_PAYMENTS_URL"
    assert OrdersSettings.dependencies() == {
        "auth": "SERVICE_AUTH_URL",
        "payments": "ORDERS_PAYMENTS_URL",
        "notifications": "ORDERS_NOTIFICATIONS_URL",
    }
    assert PaymentsSettings.dependencies() == {"auth": "SERVICE_AUTH_URL"}
