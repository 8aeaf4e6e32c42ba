"""Forged and misused tokens against live verifiers, beyond the basic negative suite
(apps/servicekit/tests/test_jwt_verification.py): algorithm confusion, ``kid`` tricks,
key-carrying headers, audience misuse and clock-skew bounds. Every refusal is a 401 problem."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import jwt
import pytest
from auth_service.core.keys import Keyring, public_jwk
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.http_server import serving
from tests.support.services import ServiceStack
from tests.support.tokens import claims_for, dev_keyring, mint

NOTE = {"channel": "email", "recipient": "a@example.com", "template": "welcome"}
SCOPE = "notifications:send"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def notify(stack: ServiceStack, token: str) -> httpx.Response:
    return httpx.post(
        stack.url("notifications") + "/v1/notifications",
        json=NOTE,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def assert_refused(response: httpx.Response, detail: str | None = None) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    if detail:
        assert detail in response.json()["detail"]


@pytest.fixture(scope="module")
def keyring(stack: ServiceStack) -> Keyring:
    return dev_keyring(stack.credentials.secrets_dir)


@pytest.fixture(scope="module")
def attacker() -> Keyring:
    return Keyring(Ed25519PrivateKey.generate(), [])


@pytest.fixture
def claims() -> dict[str, Any]:
    return claims_for("notifications", SCOPE)


def test_the_baseline_token_is_accepted(stack, keyring, claims):
    assert notify(stack, mint(keyring, claims)).status_code == 202


# -- algorithm confusion --------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "RS256", "ES256", "PS256", "HS512", ""])
def test_an_algorithm_other_than_eddsa_is_refused(stack, keyring, claims, alg):
    header = {"alg": alg, "typ": "JWT", "kid": keyring.kid}
    key = keyring.current["x"].encode()
    token = hand_signed(header, claims, lambda data: hmac.new(key, data, hashlib.sha512).digest())
    assert_refused(notify(stack, token), "algorithm")


def test_an_hmac_signature_under_an_eddsa_header_is_refused(stack, keyring, claims):
    """The header says EdDSA, the signature is HMAC keyed with the published public key."""
    header = {"alg": "EdDSA", "typ": "JWT", "kid": keyring.kid}
    public = base64.urlsafe_b64decode(keyring.current["x"] + "==")
    token = hand_signed(header, claims, lambda data: hmac.new(public, data, "sha256").digest())
    assert_refused(notify(stack, token))


def test_our_signature_on_a_payload_with_alg_none_is_refused(stack, keyring, claims):
    good = mint(keyring, claims)
    _, payload, signature = good.split(".")
    forged_header = b64(json.dumps({"alg": "none", "kid": keyring.kid}).encode())
    assert_refused(notify(stack, f"{forged_header}.{payload}.{signature}"))


# -- kid tricks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kid",
    [
        "../../../../../../dev/null",
        "/etc/passwd",
        "file:///etc/passwd",
        "http://127.0.0.1:1/keys",
        "' OR '1'='1",
        "kid\u0000null",
        "k" * 8192,
        123,
        ["a", "b"],
        None,
    ],
    ids=["traversal", "abs-path", "file-url", "url", "sql", "nul", "8k", "int", "list", "null"],
)
def test_a_kid_trick_is_refused_as_an_unknown_key(stack, keyring, claims, kid):
    header = {"alg": "EdDSA", "typ": "JWT", "kid": kid}
    token = hand_signed(header, claims, keyring.signing_key.sign)
    assert_refused(notify(stack, token))


def test_our_kid_with_a_path_suffix_is_not_our_key(stack, keyring, claims):
    token = mint(keyring, claims, kid=keyring.kid + "/../" + keyring.kid)
    assert_refused(notify(stack, token), "unknown key")


def test_a_flood_of_unknown_kids_does_not_flood_auth(stack, attacker, claims):
    """Refetching the JWKS on an unknown kid is rate-limited (SERVICE_JWKS_REFRESH_INTERVAL)."""

    def jwks_fetches() -> float:
        metrics = httpx.get(stack.url("auth") + "/metrics", timeout=5).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("http_requests_total") and "jwks.json" in line
        )

    before = jwks_fetches()
    for n in range(40):
        token = mint(attacker, claims, kid=f"unknown-{n}")
        assert_refused(notify(stack, token), "unknown key")
    # Three verifiers may each refetch at most once in a 30 s interval.
    assert jwks_fetches() - before <= 3


# -- keys carried in the token header ------------------------------------------------------


class _KeyServer(BaseHTTPRequestHandler):
    """The attacker's key host: it must never be asked."""

    jwks: dict[str, Any] = {}
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = json.dumps(self.jwks).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def attacker_key_host(attacker: Keyring) -> Iterator[str]:
    _KeyServer.jwks = attacker.jwks
    _KeyServer.hits = []
    with serving(_KeyServer) as url:
        yield url


@pytest.mark.parametrize("use_our_kid", [False, True], ids=["attacker-kid", "our-kid"])
def test_jku_x5u_and_jwk_headers_are_ignored(
    stack, keyring, attacker, claims, attacker_key_host, use_our_kid
):
    kid = keyring.kid if use_our_kid else attacker.kid
    headers = {
        "jku": attacker_key_host + "/jwks.json",
        "x5u": attacker_key_host + "/cert.pem",
        "jwk": public_jwk(attacker.signing_key.public_key()),
    }
    for header in ({"jku": headers["jku"]}, {"x5u": headers["x5u"]}, {"jwk": headers["jwk"]}):
        token = jwt.encode(
            claims, attacker.signing_key, algorithm="EdDSA", headers={"kid": kid, **header}
        )
        assert_refused(notify(stack, token))
    assert _KeyServer.hits == [], "a verifier fetched a key from a URL in the token"


# -- audiences ---------------------------------------------------------------------------


def test_a_token_for_one_service_is_refused_by_another(stack, keyring):
    """The scope would allow it; the audience does not."""
    for audience in ("payments", "orders", "auth", ["payments", "orders"]):
        token = mint(keyring, claims_for(audience, SCOPE))
        assert_refused(notify(stack, token), "not meant for this service")


def test_real_tokens_work_only_where_they_are_meant(stack, http):
    service_token = stack.service_token("payments:charge")  # aud payments only
    user_token = stack.user_token()  # aud auth and orders
    assert_refused(notify(stack, service_token), "not meant for this service")
    charge = http.post(
        stack.url("payments") + "/v1/charges",
        json={"amount": 100, "currency": "EUR", "card_token": "tok_visa"},
        headers={"Authorization": f"Bearer {user_token}", "Idempotency-Key": "aud-test-1"},
    )
    assert_refused(charge, "not meant for this service")


# -- clock skew (SERVICE_JWT_LEEWAY_SECONDS = 10 by default) -------------------------------


@pytest.mark.parametrize(
    ("offsets", "accepted"),
    [
        ({"exp": -5}, True),  # expired 5 s ago: within the leeway
        ({"exp": -60}, False),
        ({"nbf": 5}, True),  # valid in 5 s: a peer's clock a little ahead
        ({"nbf": 60}, False),
        ({"iat": 5}, True),
        ({"iat": 60}, False),  # issued "in the future": a clock far off, or a forgery
    ],
    ids=["exp-5s", "exp-60s", "nbf+5s", "nbf+60s", "iat+5s", "iat+60s"],
)
def test_clock_skew_is_tolerated_only_within_the_leeway(stack, keyring, offsets, accepted):
    now = int(time.time())
    claims = claims_for("notifications", SCOPE, **{k: now + v for k, v in offsets.items()})
    response = notify(stack, mint(keyring, claims))
    if accepted:
        assert response.status_code == 202, response.text
    else:
        assert_refused(response)
