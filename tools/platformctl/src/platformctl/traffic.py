"""Real API calls for smoke checks and synthetic analysis load, one recipe per service.

Backend-neutral: everything takes base URLs (a preview port locally, a port-forward or
in-cluster Service on Kubernetes) and the credentials of the dev user and the orders client.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=2.0)
SERVICE_SCOPES = "payments:charge notifications:send"
MAX_IN_FLIGHT = 32


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    client_id: str
    client_secret: str

    @classmethod
    def dev(cls, secrets_dir: Path) -> Credentials:
        from auth_service.devsecrets import ensure_dev_secrets

        creds = ensure_dev_secrets(secrets_dir)
        return cls(creds.username, creds.password, "orders", creds.client_secrets["orders"])


class CheckFailed(RuntimeError):
    pass


@dataclass
class Tokens:
    """Tokens from auth, fetched once: a user token (orders:write) and a service token."""

    auth_url: str
    credentials: Credentials
    _cache: dict[str, str] = field(default_factory=dict)

    async def user(self, client: httpx.AsyncClient) -> str:
        if "user" not in self._cache:
            self._cache["user"] = await request_token(
                client,
                self.auth_url,
                {
                    "grant_type": "password",
                    "username": self.credentials.username,
                    "password": self.credentials.password,
                },
            )
        return self._cache["user"]

    async def service(self, client: httpx.AsyncClient) -> str:
        if "service" not in self._cache:
            self._cache["service"] = await request_token(
                client,
                self.auth_url,
                {
                    "grant_type": "client_credentials",
                    "client_id": self.credentials.client_id,
                    "client_secret": self.credentials.client_secret,
                    "scope": SERVICE_SCOPES,
                },
            )
        return self._cache["service"]


async def request_token(client: httpx.AsyncClient, auth_url: str, form: dict[str, str]) -> str:
    response = await client.post(f"{auth_url}/v1/token", data=form, timeout=TIMEOUT)
    _expect(response, 200, "POST /v1/token")
    return str(response.json()["access_token"])


def _expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise CheckFailed(
            f"{what} answered {response.status_code}, expected {status}: {response.text[:200]}"
        )


def _bearer(token: str, idempotent: bool = False) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if idempotent:
        headers["Idempotency-Key"] = uuid.uuid4().hex
    return headers


# -- smoke checks: one real API call per service, asserting the documented answer ---------


async def smoke(service: str, base_url: str, client: httpx.AsyncClient, tokens: Tokens) -> str:
    """Run the service's smoke check against ``base_url``; returns what it proved."""
    if service == "auth":
        token = await request_token(
            client,
            base_url,
            {
                "grant_type": "password",
                "username": tokens.credentials.username,
                "password": tokens.credentials.password,
            },
        )
        jwks = await client.get(f"{base_url}/.well-known/jwks.json", timeout=TIMEOUT)
        _expect(jwks, 200, "GET /.well-known/jwks.json")
        kid = _kid(token)
        if kid not in {key.get("kid") for key in jwks.json().get("keys", [])}:
            raise CheckFailed(f"the token's kid {kid!r} is not in the JWKS")
        return "POST /v1/token 200, its kid is in /.well-known/jwks.json"
    if service == "orders":
        catalog = await client.get(f"{base_url}/v1/catalog", timeout=TIMEOUT)
        _expect(catalog, 200, "GET /v1/catalog")
        sku = catalog.json()["items"][0]["sku"]
        order = await client.post(
            f"{base_url}/v1/orders",
            json={"items": [{"sku": sku, "quantity": 1}], "card_token": "tok_visa"},
            headers=_bearer(await tokens.user(client), idempotent=True),
            timeout=TIMEOUT,
        )
        _expect(order, 201, "POST /v1/orders")
        return f"GET /v1/catalog 200, POST /v1/orders 201 ({order.json()['status']})"
    if service == "payments":
        charge = await client.post(
            f"{base_url}/v1/charges",
            json={"amount": 1000, "currency": "EUR", "card_token": "tok_visa"},
            headers=_bearer(await tokens.service(client), idempotent=True),
            timeout=TIMEOUT,
        )
        _expect(charge, 201, "POST /v1/charges")
        return f"POST /v1/charges 201 ({charge.json()['status']})"
    if service == "notifications":
        sent = await client.post(
            f"{base_url}/v1/notifications",
            json={
                "channel": "email",
                "recipient": "smoke@example.com",
                "template": "order_confirmation",
                "data": {},
            },
            headers=_bearer(await tokens.service(client), idempotent=True),
            timeout=TIMEOUT,
        )
        _expect(sent, 202, "POST /v1/notifications")
        return "POST /v1/notifications 202"
    raise ValueError(f"no smoke check for {service}")


def _kid(token: str) -> str | None:
    import jwt

    return jwt.get_unverified_header(token).get("kid")


# -- synthetic load: a bounded open-model stream of representative calls -----------------


async def _one_call(
    service: str, base_url: str, client: httpx.AsyncClient, tokens: Tokens, n: int
) -> int:
    if service == "auth":
        # Token grants hash a password (argon2): costly by design, so mostly read the JWKS.
        response = await client.get(f"{base_url}/.well-known/jwks.json", timeout=TIMEOUT)
    elif service == "orders":
        if n % 2:
            response = await client.get(f"{base_url}/v1/catalog", timeout=TIMEOUT)
        else:
            response = await client.post(
                f"{base_url}/v1/orders",
                json={"items": [{"sku": "sku-mug", "quantity": 1}], "card_token": "tok_visa"},
                headers=_bearer(await tokens.user(client), idempotent=True),
                timeout=TIMEOUT,
            )
    elif service == "payments":
        response = await client.post(
            f"{base_url}/v1/charges",
            json={"amount": 1000 + n % 100, "currency": "EUR", "card_token": "tok_visa"},
            headers=_bearer(await tokens.service(client), idempotent=True),
            timeout=TIMEOUT,
        )
    else:
        response = await client.post(
            f"{base_url}/v1/notifications",
            json={
                "channel": "email",
                "recipient": "load@example.com",
                "template": "order_confirmation",
                "data": {"n": n},
            },
            headers=_bearer(await tokens.service(client), idempotent=True),
            timeout=TIMEOUT,
        )
    return response.status_code


async def drive_load(
    targets: Mapping[str, str], rate: float, stop: asyncio.Event, tokens: Tokens
) -> dict[str, dict[str, int]]:
    """``rate`` requests/s to every target until ``stop``; returns status counts per service."""
    counts: dict[str, Counter[str]] = {service: Counter() for service in targets}
    if rate <= 0 or not targets:
        await stop.wait()
        return {}
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT * len(targets))
    async with httpx.AsyncClient(limits=limits) as client:
        # Fetch tokens before the clock starts, so the first requests are not all waiting.
        await tokens.user(client)
        await tokens.service(client)
        in_flight: set[asyncio.Task[None]] = set()

        async def fire(service: str, n: int) -> None:
            try:
                status = await _one_call(service, targets[service], client, tokens, n)
                counts[service][f"{status // 100}xx"] += 1
            except httpx.HTTPError as exc:
                counts[service][type(exc).__name__] += 1

        started = time.monotonic()
        for n in itertools.count():
            due = started + n / rate
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, due - time.monotonic()))
            if stop.is_set():
                break
            for service in targets:
                if len(in_flight) >= MAX_IN_FLIGHT * len(targets):
                    counts[service]["dropped"] += 1
                    continue
                task = asyncio.create_task(fire(service, n))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.wait(in_flight, timeout=TIMEOUT.read)
    return {service: dict(counter) for service, counter in counts.items()}
