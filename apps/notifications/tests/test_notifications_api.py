"""notifications through HTTP: accepted deliveries and every documented error."""

from __future__ import annotations

import pytest

PROBLEM = "application/problem+json"
EMAIL = {
    "channel": "email",
    "recipient": "bob@example.com",
    "template": "order_confirmation",
    "data": {"order_id": "ord_1"},
}


def send(http, stack, token, body, **headers):
    return http.post(
        stack.url("notifications") + "/v1/notifications",
        json=body,
        headers={"Authorization": f"Bearer {token}", **headers},
    )


def test_an_email_is_accepted_and_delivered_as_a_log_event(http, stack, service_token):
    response = send(http, stack, service_token, EMAIL)
    assert response.status_code == 202
    notification_id = response.json()["id"]
    assert response.json()["status"] == "accepted"
    log = stack.processes["notifications"][0].log()
    assert notification_id.removeprefix("ntf_") in log.replace("-", "")
    assert "bob@example.com" not in log  # recipients are masked in logs


def test_an_sms_to_an_e164_number_is_accepted(http, stack, service_token):
    body = {**EMAIL, "channel": "sms", "recipient": "+4915112345678"}
    assert send(http, stack, service_token, body).status_code == 202


def test_the_same_idempotency_key_gives_the_same_id(http, stack, service_token):
    one = send(http, stack, service_token, EMAIL, **{"Idempotency-Key": "order-42.confirmation"})
    two = send(http, stack, service_token, EMAIL, **{"Idempotency-Key": "order-42.confirmation"})
    assert one.json()["id"] == two.json()["id"]


@pytest.mark.parametrize(
    "body",
    [
        {**EMAIL, "recipient": "not-an-email"},
        {**EMAIL, "channel": "sms", "recipient": "bob@example.com"},
        {**EMAIL, "channel": "sms", "recipient": "12345"},
        {**EMAIL, "channel": "pigeon"},
        {**EMAIL, "template": "nope"},
        {**EMAIL, "data": {"nested": {"no": 1}}},
        {"channel": "email"},
        {**EMAIL, "recipient": 42},
    ],
)
def test_bad_notifications_are_422_problems(http, stack, service_token, body):
    response = send(http, stack, service_token, body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_without_a_token_is_401(http, stack):
    response = http.post(stack.url("notifications") + "/v1/notifications", json=EMAIL)
    assert response.status_code == 401


def test_a_user_token_is_not_for_notifications(http, stack, user_token):
    assert send(http, stack, user_token, EMAIL).status_code == 401


def test_a_notifications_token_without_send_is_403(http, stack, minted):
    assert (
        send(http, stack, minted("notifications", "notifications:read"), EMAIL).status_code == 403
    )
