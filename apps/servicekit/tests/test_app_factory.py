"""The factory's behaviour on an app built from it, through Starlette's test client."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from auth_service.core.keys import Keyring
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from opentelemetry import trace
from orders_service.core.config import OrdersSettings
from payments_service.core.config import PaymentsSettings
from servicekit.app import create_service_app

router = APIRouter()


@router.get("/v1/boom")
async def boom() -> dict[str, str]:
    raise RuntimeError("secret internals: password=hunter2")


@router.post("/v1/echo")
async def echo(body: dict[str, str]) -> dict[str, str]:
    return body


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


def test_the_service_routes_are_tried_before_fastapis_documentation_routes():
    with client() as http:
        paths = [route.path for route in http.app.router.routes]
        assert http.get("/docs").status_code == 200
    assert paths.index("/v1/boom") < paths.index("/healthz") < paths.index("/openapi.json")


def test_fastapis_opentelemetry_hooks_do_not_look_up_providers_per_request(monkeypatch):
    """The platform installs no OpenTelemetry SDK; FastAPI's own hooks, on by default, would
    look up the global providers on every request (docs/performance.md, "Profiles")."""
    lookups: list[str] = []
    lookup = trace.get_tracer_provider

    def counting_lookup() -> trace.TracerProvider:
        lookups.append("tracer provider")
        return lookup()

    monkeypatch.setattr(trace, "get_tracer_provider", counting_lookup)
    plain = FastAPI()
    plain.get("/ping")(lambda: {})
    with TestClient(plain) as http:
        http.get("/ping")
    assert lookups, "FastAPI no longer looks providers up per request: retire this test"
    lookups.clear()
    with client() as http:
        for _ in range(3):
            assert http.get("/healthz").status_code == 200
    assert lookups == []


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


def test_request_metrics_count_errors_and_bound_the_method_label():
    with client() as http:
        http.get("/v1/boom")
        http.request("BREW", "/v1/boom")
        text = http.get("/metrics").text
    assert 'http_requests_total{handler="/v1/boom",method="GET",status="5xx"} 1.0' in text
    # A method a client invents is one label value, so it cannot grow the series.
    assert 'method="other"' in text and "BREW" not in text
    assert re.search(
        r'http_request_duration_seconds_count\{handler="/v1/boom",method="GET"\} 1', text
    )
    assert "http_requests_inprogress 0.0" in text


def test_a_chunked_body_over_the_limit_is_413_before_the_app_reads_it():
    def chunks():
        for _ in range(80):
            yield b" " * 1024

    with client() as http:
        response = http.post(
            "/v1/echo", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_log_timestamps_are_iso_8601_utc_with_microseconds(capsys):
    with client() as http:
        http.get("/healthz")
        http.get("/v1/nothing")
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    [access] = [line for line in lines if line.get("event") == "request"]
    stamp = datetime.fromisoformat(access["timestamp"].replace("Z", "+00:00"))
    assert access["timestamp"].endswith("Z") and len(access["timestamp"]) == 27
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
