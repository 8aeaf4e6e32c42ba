"""payments through HTTP: deterministic charges, idempotency, every documented error."""

from __future__ import annotations

import uuid

import pytest

PROBLEM = "application/problem+json"
GOOD = {"amount": 1250, "currency": "EUR", "card_token": "tok_visa"}


def charge(http, stack, token, body, key="auto", url=None):
    headers = {"Authorization": f"Bearer {token}"}
    if key == "auto":
        key = uuid.uuid4().hex
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.post((url or stack.url("payments")) + "/v1/charges", json=body, headers=headers)


def test_a_charge_succeeds(http, stack, service_token):
    response = charge(http, stack, service_token, GOOD)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "succeeded" and body["id"].startswith("ch_")
    assert body["amount"] == 1250 and body["currency"] == "EUR"


def test_a_retry_gets_the_identical_charge_from_another_replica(http, stack, service_token):
    first, second = stack.processes["payments"][:2]
    key = uuid.uuid4().hex
    one = charge(http, stack, service_token, GOOD, key=key, url=first.url)
    two = charge(http, stack, service_token, GOOD, key=key, url=second.url)
    assert one.status_code == two.status_code == 201
    assert one.json() == two.json()


def test_another_key_is_another_charge(http, stack, service_token):
    one = charge(http, stack, service_token, GOOD).json()
    two = charge(http, stack, service_token, GOOD).json()
    assert one["id"] != two["id"]


@pytest.mark.parametrize(
    ("card", "code"),
    [("tok_declined", "card_declined"), ("tok_insufficient_funds", "insufficient_funds")],
)
def test_declines_are_402_problems(http, stack, service_token, card, code):
    response = charge(http, stack, service_token, {**GOOD, "card_token": card})
    assert response.status_code == 402
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["decline_code"] == code
    assert response.json()["charge_id"].startswith("ch_")


@pytest.mark.parametrize(
    "body",
    [
        {**GOOD, "amount": -5},
        {**GOOD, "amount": 0},
        {**GOOD, "amount": 10**9},
        {**GOOD, "amount": "ten"},
        {**GOOD, "amount": 12.5},
        {**GOOD, "currency": "XXX"},
        {**GOOD, "currency": "euro"},
        {**GOOD, "card_token": "tok_unknown"},
        {"currency": "EUR", "card_token": "tok_visa"},
        {},
        [],
    ],
)
def test_bad_bodies_are_422_problems(http, stack, service_token, body):
    response = charge(http, stack, service_token, body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 422


def test_malformed_json_is_a_400_problem(http, stack, service_token):
    response = http.post(
        stack.url("payments") + "/v1/charges",
        content=b'{"amount": 1',
        headers={
            "Authorization": f"Bearer {service_token}",
            "Idempotency-Key": uuid.uuid4().hex,
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400
    assert response.json()["title"] == "Malformed JSON"


@pytest.mark.parametrize("key", [None, "short", "has spaces in it", "x" * 129])
def test_a_missing_or_invalid_idempotency_key_is_400(http, stack, service_token, key):
    response = charge(http, stack, service_token, GOOD, key=key)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM


def test_without_a_token_is_401(http, stack):
    response = http.post(
        stack.url("payments") + "/v1/charges", json=GOOD, headers={"Idempotency-Key": "k" * 10}
    )
    assert response.status_code == 401


def test_a_user_token_is_not_for_payments(http, stack, user_token):
    response = charge(http, stack, user_token, GOOD)
    assert response.status_code == 401
    assert "not meant for this service" in response.json()["detail"]


def test_a_payments_token_without_the_charge_scope_is_403(http, stack, minted):
    token = minted("payments", "payments:refund")
    response = charge(http, stack, token, GOOD)
    assert response.status_code == 403
    assert "payments:charge" in response.json()["detail"]
