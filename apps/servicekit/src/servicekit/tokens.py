"""Client-credentials tokens for service-to-service calls, cached until shortly before expiry."""

from __future__ import annotations

import asyncio
import time

from pydantic import SecretStr

from servicekit.client import ServiceClient, dependency_unavailable


class ClientCredentials:
    def __init__(
        self,
        auth: ServiceClient,
        *,
        client_id: str,
        client_secret: SecretStr | None,
        scopes: list[str],
        refresh_margin_seconds: float,
    ) -> None:
        self.auth = auth
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = " ".join(scopes)
        self.refresh_margin = refresh_margin_seconds
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        if self._token and time.monotonic() < self._expires_at:
            return self._token
        async with self._lock:  # one fetch for all concurrent callers
            if self._token and time.monotonic() < self._expires_at:
                return self._token
            return await self._fetch()

    def invalidate(self) -> None:
        self._token = None

    async def _fetch(self) -> str:
        secret = self.client_secret.get_secret_value() if self.client_secret else ""
        response = await self.auth.request(
            "POST",
            "/v1/token",
            retry_safe=True,  # issuing a token has no side effect
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": secret,
                "scope": self.scope,
            },
        )
        if response.status_code != 200:
            raise dependency_unavailable("auth", "This service could not obtain a token from auth.")
        body = response.json()
        lifetime = float(body.get("expires_in", 60))
        self._token = str(body["access_token"])
        self._expires_at = time.monotonic() + max(lifetime - self.refresh_margin, lifetime / 2)
        return self._token
