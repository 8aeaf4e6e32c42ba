"""Negative JWT suite against a real payments process: every bad token is a 401/403 problem."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from auth_service.core.keys import Keyring
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.tokens import claims_for, dev_keyring, mint

BODY = {"amount": 100, "currency": "EUR", "card_token": "tok_visa"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, claims: dict) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


def charge_with(http, stack, token):
    return http.post(
        stack.url("payments") + "/v1/charges",
        json=BODY,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
    )


@pytest.fixture(scope="module")
def keyring(stack) -> Keyring:
    return dev_keyring(stack.credentials.secrets_dir)


@pytest.fixture(scope="module")
def good_claims():
    return claims_for("payments", "payments:charge")


def test_a_well_formed_token_is_accepted(http, stack, keyring, good_claims):
    assert charge_with(http, stack, mint(keyring, good_claims)).status_code == 201


def test_alg_none_is_rejected(http, stack, keyring, good_claims):
    token = unsigned({"alg": "none", "typ": "JWT", "kid": keyring.kid}, good_claims) + "."
    response = charge_with(http, stack, token)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_hs256_signed_with_the_public_key_is_rejected(http, stack, keyring, good_claims):
    """Algorithm confusion: the public JWK used as an HMAC secret."""
    public = json.dumps(keyring.current).encode()
    signing_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": keyring.kid}, good_claims)
    signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    assert charge_with(http, stack, f"{signing_input}.{b64(signature)}").status_code == 401


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"aud": "orders"}, "not meant for this service"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"exp": None}, "invalid"),
        ({"iat": None}, "invalid"),
        ({"aud": None}, "invalid"),
        ({"iss": None}, "invalid"),
    ],
)
def test_bad_claims_are_rejected(http, stack, keyring, overrides, detail):
    token = mint(keyring, claims_for("payments", "payments:charge", **overrides))
    response = charge_with(http, stack, token)
    assert response.status_code == 401
    assert detail in response.json()["detail"]


def test_an_unknown_kid_is_rejected(http, stack, good_claims):
    stranger = Keyring(Ed25519PrivateKey.generate(), [])
    response = charge_with(http, stack, mint(stranger, good_claims))
    assert response.status_code == 401
    assert "unknown key" in response.json()["detail"]


def test_a_foreign_key_under_our_kid_is_rejected(http, stack, keyring, good_claims):
    stranger = Keyring(Ed25519PrivateKey.generate(), [])
    token = mint(stranger, good_claims, kid=keyring.kid)
    assert charge_with(http, stack, token).status_code == 401


def test_a_tampered_payload_is_rejected(http, stack, keyring, good_claims):
    header, _, signature = mint(keyring, good_claims).split(".")
    forged = {**good_claims, "scope": "payments:charge payments:admin", "sub": "mallory"}
    assert (
        charge_with(
            http, stack, f"{header}.{unsigned({}, forged).split('.')[1]}.{signature}"
        ).status_code
        == 401
    )


def test_garbage_is_rejected_not_a_500(http, stack):
    for token in ["garbage", "a.b.c", "....", b64(b"{}") + ".x.y"]:
        assert charge_with(http, stack, token).status_code == 401


def test_a_missing_scope_is_403(http, stack, keyring):
    token = mint(keyring, claims_for("payments", "payments:refund"))
    response = charge_with(http, stack, token)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
