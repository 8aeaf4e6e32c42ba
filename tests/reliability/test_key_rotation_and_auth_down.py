"""Key rotation and an auth outage, on real processes: auth, payments, notifications, orders.

Verifiers refetch the JWKS on an unknown ``kid`` (at most every 0.5 s here) and keep their
cached keys when auth is down; orders keeps its cached client-credentials token.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from auth_service.core.keys import Keyring
from auth_service.devsecrets import DevCredentials, ensure_dev_secrets, generate_signing_key_pem
from cryptography.hazmat.primitives import serialization

from tests.support.ports import free_port
from tests.support.services import ServiceProcess, start_service
from tests.support.tokens import claims_for, dev_keyring, mint

NOTE = {"channel": "email", "recipient": "a@example.com", "template": "welcome"}


@dataclass
class RotatingStack:
    credentials: DevCredentials
    auth_port: int
    log_dir: Path
    env: dict[str, str]
    auth: ServiceProcess
    payments: ServiceProcess
    notifications: ServiceProcess
    orders: ServiceProcess
    old_keyring: Keyring
    new_signing_pem: str

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.auth_port}"

    def start_auth(self, **env: str) -> None:
        self.auth = start_service(
            "auth", port=self.auth_port, env={**self.env, **env}, log_dir=self.log_dir
        )
        self.auth.wait_ready()

    def token(self, scope: str) -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": "orders",
            "client_secret": self.credentials.client_secrets["orders"],
            "scope": scope,
        }
        response = httpx.post(self.auth_url + "/v1/token", data=form, timeout=10)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def user_token(self) -> str:
        form = {
            "grant_type": "password",
            "username": self.credentials.username,
            "password": self.credentials.password,
        }
        response = httpx.post(self.auth_url + "/v1/token", data=form, timeout=10)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def notify(self, token: str) -> httpx.Response:
        return httpx.post(
            self.notifications.url + "/v1/notifications",
            json=NOTE,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    def order(self, token: str) -> httpx.Response:
        sku = httpx.get(self.orders.url + "/v1/catalog", timeout=5).json()["items"][0]["sku"]
        return httpx.post(
            self.orders.url + "/v1/orders",
            json={"items": [{"sku": sku, "quantity": 1}], "card_token": "tok_visa"},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
            timeout=15,
        )


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def public_pem(keyring: Keyring) -> str:
    return (
        keyring.signing_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def rotating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RotatingStack]:
    workdir = tmp_path_factory.mktemp("rotation")
    credentials = ensure_dev_secrets(workdir / "secrets")
    log_dir = workdir / "logs"
    log_dir.mkdir()
    auth_port = free_port()
    ports = {name: free_port() for name in ("payments", "notifications")}
    env = {
        "SERVICE_SECRETS_DIR": str(credentials.secrets_dir),
        "SERVICE_AUTH_URL": f"http://127.0.0.1:{auth_port}",
        "ORDERS_PAYMENTS_URL": f"http://127.0.0.1:{ports['payments']}",
        "ORDERS_NOTIFICATIONS_URL": f"http://127.0.0.1:{ports['notifications']}",
        # Exact expiry, and a quick refetch when a new kid shows up.
        "SERVICE_JWT_LEEWAY_SECONDS": "0",
        "SERVICE_JWKS_REFRESH_INTERVAL_SECONDS": "0.5",
    }
    processes: list[ServiceProcess] = []

    def start(name: str, port: int | None = None) -> ServiceProcess:
        process = start_service(name, port=port, env=env, log_dir=log_dir)
        processes.append(process)
        return process

    auth = start("auth", auth_port)
    stack = RotatingStack(
        credentials=credentials,
        auth_port=auth_port,
        log_dir=log_dir,
        env=env,
        auth=auth,
        payments=start("payments", ports["payments"]),
        notifications=start("notifications", ports["notifications"]),
        orders=start("orders"),
        old_keyring=dev_keyring(credentials.secrets_dir),
        new_signing_pem=generate_signing_key_pem(),
    )
    try:
        for process in processes:
            process.wait_ready()
        yield stack
    finally:
        for process in [*processes, stack.auth]:
            process.terminate()


def test_rotation_keeps_old_tokens_until_they_expire_and_new_ones_use_the_new_kid(
    rotating: RotatingStack, figures: dict[str, Any]
) -> None:
    old_token = rotating.token("notifications:send")
    expires_at = int(time.time()) + 5
    short_lived = mint(
        rotating.old_keyring, claims_for("notifications", "notifications:send", exp=expires_at)
    )
    assert rotating.notify(old_token).status_code == 202
    assert rotating.notify(short_lived).status_code == 202

    # Rotate: the new key signs, the old public key stays published.
    rotating.auth.terminate()
    rotating.start_auth(
        AUTH_SIGNING_KEY=rotating.new_signing_pem,
        AUTH_PREVIOUS_PUBLIC_KEYS=public_pem(rotating.old_keyring),
    )
    new_token = rotating.token("notifications:send")
    published = httpx.get(rotating.auth_url + "/.well-known/jwks.json", timeout=5).json()
    assert kid_of(new_token) != kid_of(old_token)
    assert [key["kid"] for key in published["keys"]] == [kid_of(new_token), kid_of(old_token)]

    # The verifier has never seen the new kid: it refetches once and accepts it.
    assert rotating.notify(new_token).status_code == 202
    assert rotating.notify(old_token).status_code == 202
    # The old key's tokens end with their own expiry, not with the rotation.
    time.sleep(max(0.0, expires_at - time.time()) + 1.1)
    expired = rotating.notify(short_lived)
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]
    assert rotating.notify(old_token).status_code == 202
    figures["key_rotation"] = {"old_kid_accepted_after_rotation": True, "new_kid_refetched": True}


def test_with_auth_down_cached_keys_and_tokens_keep_serving_and_logins_fail_fast(
    rotating: RotatingStack, figures: dict[str, Any]
) -> None:
    user_token = rotating.user_token()
    service_token = rotating.token("notifications:send")
    assert rotating.order(user_token).status_code == 201  # orders caches its own token

    rotating.auth.terminate()
    orders_while_down = [rotating.order(user_token) for _ in range(5)]
    notes_while_down = [rotating.notify(service_token) for _ in range(5)]

    started = time.monotonic()
    stranger = mint(Keyring.from_pem(generate_signing_key_pem()), claims_for("notifications", "x"))
    unknown_kid = rotating.notify(stranger)
    unknown_kid_seconds = time.monotonic() - started

    started = time.monotonic()
    with pytest.raises(httpx.ConnectError):
        rotating.user_token()
    login_seconds = time.monotonic() - started

    # An instance started during the outage never becomes ready, so it gets no traffic...
    late = start_service("notifications", env=rotating.env, log_dir=rotating.log_dir)
    try:
        late_ready = _wait_for_readyz(late, expect=503, timeout=30)
        assert late_ready.json()["pending"] == ["jwks"]
        # ...until auth is back.
        rotating.start_auth(AUTH_SIGNING_KEY=rotating.new_signing_pem)
        back = time.monotonic()  # auth answers /readyz again
        _wait_for_readyz(late, expect=200, timeout=30)
        late_ready_seconds = time.monotonic() - back
    finally:
        late.terminate()

    figures["auth_down"] = {
        "orders_while_down": [r.status_code for r in orders_while_down],
        "notifications_while_down": [r.status_code for r in notes_while_down],
        "unknown_kid_status": unknown_kid.status_code,
        "unknown_kid_seconds": round(unknown_kid_seconds, 2),
        "login_refused_seconds": round(login_seconds, 2),
        "new_instance_ready_after_auth_ready_seconds": round(late_ready_seconds, 2),
    }
    print("auth down figures:", figures["auth_down"])
    assert [r.status_code for r in orders_while_down] == [201] * 5
    assert [r.status_code for r in notes_while_down] == [202] * 5
    assert unknown_kid.status_code == 401
    assert unknown_kid_seconds < 3.0  # refetch fails fast; never a hang or a 500
    assert login_seconds < 2.0
    assert late_ready_seconds < 5.0  # it retries the JWKS every 0.5 s


def _wait_for_readyz(process: ServiceProcess, *, expect: int, timeout: float) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = httpx.get(process.url + "/readyz", timeout=2)
            if response.status_code == expect:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"/readyz never answered {expect}:\n{process.log()}")
