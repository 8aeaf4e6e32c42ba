"""auth through HTTP: both grants, every documented error, JWKS and /v1/me."""

from __future__ import annotations

import httpx
import jwt
import pytest

PROBLEM = "application/problem+json"


def token_request(http, stack, **form):
    return http.post(stack.url("auth") + "/v1/token", data=form)


def test_password_grant_issues_a_short_lived_eddsa_token(http, stack):
    response = token_request(
        http,
        stack,
        grant_type="password",
        username=stack.credentials.username,
        password=stack.credentials.password,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 3600
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "EdDSA" and header["kid"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert {"kid"} <= header.keys()
    assert {"iss", "aud", "sub", "scope", "iat", "exp"} <= claims.keys()
    assert claims["sub"] == stack.credentials.username
    assert "orders:write" in claims["scope"].split()
    assert claims["exp"] - claims["iat"] == body["expires_in"]


def test_client_credentials_grant_scopes_the_audience(http, stack):
    response = token_request(
        http,
        stack,
        grant_type="client_credentials",
        client_id="orders",
        client_secret=stack.credentials.client_secrets["orders"],
        scope="payments:charge",
    )
    assert response.status_code == 200
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "payments"
    assert claims["scope"] == "payments:charge"


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"grant_type": "password", "username": "alice", "password": "no"}, 400, "invalid_grant"),
        ({"grant_type": "password", "username": "nobody", "password": "x"}, 400, "invalid_grant"),
        ({"grant_type": "password", "username": "alice"}, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "client_id": "orders", "client_secret": "no"}, 401,
         "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "orders"}, 400, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "x"}, 400, "unsupported_grant_type"),
    ],
)  # fmt: skip
def test_token_errors_are_oauth_problems(http, stack, form, status, error):
    response = token_request(http, stack, **form)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["error"] == error
    assert response.json()["status"] == status


def test_a_scope_beyond_the_grant_is_refused(http, stack):
    response = token_request(
        http,
        stack,
        grant_type="password",
        username=stack.credentials.username,
        password=stack.credentials.password,
        scope="payments:charge",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_missing_grant_type_is_a_validation_problem(http, stack):
    response = token_request(http, stack, username="alice")
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["loc"] == ["body", "grant_type"]


def test_jwks_publishes_the_signing_key(http, stack, user_token):
    keys = http.get(stack.url("auth") + "/.well-known/jwks.json").json()["keys"]
    kid = jwt.get_unverified_header(user_token)["kid"]
    assert [key["kid"] for key in keys] == [kid]
    assert keys[0]["kty"] == "OKP" and keys[0]["crv"] == "Ed25519" and "d" not in keys[0]


def test_me_returns_the_callers_claims(http, stack, user_token):
    response = http.get(
        stack.url("auth") + "/v1/me", headers={"Authorization": f"Bearer {user_token}"}
    )
    assert response.status_code == 200
    assert response.json()["sub"] == stack.credentials.username


def test_me_without_a_token_is_401(http, stack):
    response = http.get(stack.url("auth") + "/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_password_grants_are_throttled_per_client_and_counted(stack, tmp_path):
    from tests.support.services import start_service

    env = {**stack.base_env, "AUTH_PASSWORD_GRANTS_PER_MINUTE": "3"}
    auth = start_service("auth", env=env, log_dir=tmp_path)
    try:
        auth.wait_ready()
        form = {"grant_type": "password", "username": "alice", "password": "wrong"}
        statuses = [
            httpx.post(auth.url + "/v1/token", data={**form, "client_id": "cli"}).status_code
            for _ in range(4)
        ]
        assert statuses == [400, 400, 400, 429]
        throttled = httpx.post(auth.url + "/v1/token", data={**form, "client_id": "cli"})
        assert throttled.json()["error"] == "slow_down"
        assert int(throttled.headers["retry-after"]) >= 1
        # Another client has its own window.
        other = httpx.post(auth.url + "/v1/token", data={**form, "client_id": "web"})
        assert other.status_code == 400
        metrics = httpx.get(auth.url + "/metrics").text
        assert 'auth_password_grants_total{outcome="throttled"} 2.0' in metrics
        assert 'auth_password_grants_total{outcome="refused"} 4.0' in metrics
    finally:
        auth.terminate()
