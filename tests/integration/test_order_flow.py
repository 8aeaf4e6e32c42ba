"""The order path across four real processes, including a payments outage."""

from __future__ import annotations

import time
import uuid

import httpx

from tests.support.services import ServiceStack, start_service


def place(stack: ServiceStack, token: str, key: str) -> httpx.Response:
    sku = httpx.get(stack.url("orders") + "/v1/catalog").json()["items"][0]["sku"]
    return httpx.post(
        stack.url("orders") + "/v1/orders",
        json={"items": [{"sku": sku, "quantity": 1}], "card_token": "tok_visa"},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        timeout=15,
    )


def test_an_order_pays_and_notifies(stack, user_token):
    response = place(stack, user_token, uuid.uuid4().hex)
    assert response.status_code == 201
    order = response.json()
    assert order["notified"] is True
    charges = stack.logged("payments", response.headers["x-request-id"])
    assert any(entry.get("route") == "/v1/charges" for entry in charges), charges
    assert "notification delivered" in stack.processes["notifications"][0].log()


def test_with_payments_down_orders_answers_503_in_budget_and_recovers(tmp_path):
    with ServiceStack.start(tmp_path) as stack:
        token = stack.user_token()
        key = uuid.uuid4().hex
        [payments] = stack.processes["payments"]
        payments.terminate()

        started = time.monotonic()
        down = place(stack, token, key)
        elapsed = time.monotonic() - started
        assert down.status_code == 503
        assert down.headers["retry-after"] == "1"
        assert down.json()["dependency"] == "payments"
        assert elapsed < 2.5 + 1.5, f"no hang: answered in {elapsed:.2f}s"

        revived = start_service(
            "payments", port=payments.port, env=stack.base_env, log_dir=stack.log_dir
        )
        stack.processes["payments"] = [revived]
        revived.wait_ready()
        first = place(stack, token, key)
        again = place(stack, token, key)
        assert first.status_code == again.status_code == 201
        assert first.json()["id"] == again.json()["id"]
        assert first.json()["charge_id"] == again.json()["charge_id"]
