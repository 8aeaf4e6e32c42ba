"""Request ids, problem bodies, logs and metrics, observed on real processes."""

from __future__ import annotations

import re
import uuid

PROBLEM = "application/problem+json"


def test_a_request_id_is_created_and_returned(http, stack):
    response = http.get(stack.url("orders") + "/v1/catalog")
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_a_callers_request_id_is_kept_and_forwarded_to_dependencies(http, stack, user_token):
    request_id = "trace-" + uuid.uuid4().hex
    sku = http.get(stack.url("orders") + "/v1/catalog").json()["items"][0]["sku"]
    response = http.post(
        stack.url("orders") + "/v1/orders",
        json={"items": [{"sku": sku, "quantity": 1}], "card_token": "tok_visa"},
        headers={
            "Authorization": f"Bearer {user_token}",
            "Idempotency-Key": uuid.uuid4().hex,
            "X-Request-ID": request_id,
        },
    )
    assert response.status_code == 201
    assert response.headers["x-request-id"] == request_id
    assert stack.logged("payments", request_id)
    assert stack.logged("notifications", request_id)


def test_an_unsafe_request_id_is_replaced(http, stack):
    response = http.get(stack.url("orders") + "/v1/catalog", headers={"X-Request-ID": "a b\tc"})
    assert response.headers["x-request-id"] != "a b\tc"


def test_unknown_routes_and_methods_are_problems(http, stack):
    missing = http.get(stack.url("orders") + "/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert missing.json()["status"] == 404
    wrong_method = http.delete(stack.url("orders") + "/v1/catalog")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == PROBLEM


def test_an_oversized_body_is_413(http, stack, service_token):
    response = http.post(
        stack.url("notifications") + "/v1/notifications",
        content=b"{" + b" " * (70 * 1024) + b"}",
        headers={"Authorization": f"Bearer {service_token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


def test_each_request_is_one_json_log_line(http, stack):
    http.get(stack.url("orders") + "/v1/catalog", headers={"X-Request-ID": "log-line-check"})
    [entry] = stack.logged("orders", "log-line-check")
    assert entry["event"] == "request"
    assert entry["method"] == "GET" and entry["route"] == "/v1/catalog" and entry["status"] == 200
    assert entry["service"] == "orders" and entry["color"] == "blue" and entry["version"]
    assert entry["duration_ms"] >= 0


def test_metrics_are_templated_and_leave_out_operational_endpoints(http, stack, user_token):
    http.get(stack.url("orders") + "/v1/catalog")
    http.get(stack.url("orders") + "/v1/unknown/12345")
    http.get(stack.url("orders") + "/healthz")
    text = http.get(stack.url("orders") + "/metrics").text
    assert 'http_requests_total{handler="/v1/catalog",method="GET",status="2xx"}' in text
    assert 'handler="none"' in text  # untemplated paths are grouped, never raw
    assert "/v1/unknown/12345" not in text
    assert 'handler="/healthz"' not in text and 'handler="/metrics"' not in text
    assert 'http_request_duration_highr_seconds_bucket{le="0.3"}' in text
    assert 'service_info{color="blue",service="orders",version="0.0.0-dev"} 1.0' in text
    assert "http_requests_inprogress" in text
    assert "process_cpu_seconds_total" in text


def test_outbound_calls_are_counted(http, stack):
    text = http.get(stack.url("orders") + "/metrics").text
    assert re.search(
        r"servicekit_outbound_requests_total"
        r'\{dependency="payments",method="POST",status="201"\} [1-9]',
        text,
    )
