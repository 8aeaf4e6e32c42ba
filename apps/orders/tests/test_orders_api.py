"""orders through HTTP: catalog, paid orders, idempotent retries, every documented error."""

from __future__ import annotations

import uuid

import pytest

PROBLEM = "application/problem+json"


def order(http, stack, token, body, key="auto"):
    headers = {"Authorization": f"Bearer {token}"}
    if key == "auto":
        key = uuid.uuid4().hex
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.post(stack.url("orders") + "/v1/orders", json=body, headers=headers)


@pytest.fixture(scope="module")
def sku(stack):
    import httpx

    return httpx.get(stack.url("orders") + "/v1/catalog").json()["items"][0]["sku"]


def test_the_catalog_lists_priced_items(http, stack):
    response = http.get(stack.url("orders") + "/v1/catalog")
    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) >= 3
    assert all(item["price"] > 0 and item["currency"] == "EUR" for item in items)


def test_an_order_is_priced_paid_and_notified(http, stack, user_token, sku):
    catalog = {
        i["sku"]: i["price"] for i in http.get(stack.url("orders") + "/v1/catalog").json()["items"]
    }
    response = order(
        http, stack, user_token, {"items": [{"sku": sku, "quantity": 3}], "card_token": "tok_visa"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "paid"
    assert body["total"] == 3 * catalog[sku]
    assert body["charge_id"].startswith("ch_")
    assert body["notified"] is True


def test_a_retry_with_the_same_key_returns_the_same_order(http, stack, user_token, sku):
    body = {"items": [{"sku": sku, "quantity": 1}], "card_token": "tok_visa"}
    key = uuid.uuid4().hex
    first = order(http, stack, user_token, body, key=key).json()
    second = order(http, stack, user_token, body, key=key).json()
    assert first["id"] == second["id"]
    assert first["charge_id"] == second["charge_id"]


def test_a_declined_card_is_402(http, stack, user_token, sku):
    response = order(
        http,
        stack,
        user_token,
        {"items": [{"sku": sku, "quantity": 1}], "card_token": "tok_declined"},
    )
    assert response.status_code == 402
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["decline_code"] == "card_declined"
    assert response.json()["order_id"].startswith("ord_")


@pytest.mark.parametrize(
    "body",
    [
        {"items": [{"sku": "sku-nope", "quantity": 1}], "card_token": "tok_visa"},
        {"items": [{"sku": "SKU", "quantity": 0}], "card_token": "tok_visa"},
        {"items": [{"sku": "SKU", "quantity": -1}], "card_token": "tok_visa"},
        {"items": [{"sku": "SKU", "quantity": 1000}], "card_token": "tok_visa"},
        {"items": [{"sku": "SKU", "quantity": "two"}], "card_token": "tok_visa"},
        {"items": [], "card_token": "tok_visa"},
        {"items": [{"sku": "SKU", "quantity": 1}]},
        {"items": [{"sku": "SKU", "quantity": 1}], "card_token": "4111111111111111"},
        {"items": "everything", "card_token": "tok_visa"},
    ],
)
def test_bad_orders_are_422_problems(http, stack, user_token, body, sku):
    body = (
        {
            **body,
            "items": [{**i, "sku": sku} if i.get("sku") == "SKU" else i for i in body["items"]],
        }
        if isinstance(body.get("items"), list)
        else body
    )
    response = order(http, stack, user_token, body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_an_unknown_card_token_is_rejected_by_payments_as_422(http, stack, user_token, sku):
    response = order(
        http,
        stack,
        user_token,
        {"items": [{"sku": sku, "quantity": 1}], "card_token": "tok_stolen"},
    )
    assert response.status_code == 422
    assert response.json()["title"] == "Payment rejected"


def test_malformed_json_is_400(http, stack, user_token):
    response = http.post(
        stack.url("orders") + "/v1/orders",
        content=b"{items:",
        headers={
            "Authorization": f"Bearer {user_token}",
            "Idempotency-Key": uuid.uuid4().hex,
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400


def test_a_missing_idempotency_key_is_400(http, stack, user_token, sku):
    response = order(
        http,
        stack,
        user_token,
        {"items": [{"sku": sku, "quantity": 1}], "card_token": "tok_visa"},
        key=None,
    )
    assert response.status_code == 400
    assert response.json()["title"] == "Idempotency-Key required"


def test_without_a_token_is_401(http, stack, sku):
    response = http.post(
        stack.url("orders") + "/v1/orders",
        json={"items": [{"sku": sku, "quantity": 1}], "card_token": "tok_visa"},
    )
    assert response.status_code == 401


def test_a_token_without_orders_write_is_403(http, stack, sku):
    token = stack.user_token(scope="orders:read")
    response = order(
        http, stack, token, {"items": [{"sku": sku, "quantity": 1}], "card_token": "tok_visa"}
    )
    assert response.status_code == 403
