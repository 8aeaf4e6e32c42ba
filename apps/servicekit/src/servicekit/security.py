"""Bearer-token verification against auth's JWKS.

- Algorithms are pinned (EdDSA); the header's ``alg`` is never trusted to choose one.
- ``exp``, ``iat``, ``aud``, ``iss`` and ``sub`` are required; ``aud`` must name this service.
- ``jku``/``x5u``/``jwk`` headers are ignored: keys come only from the configured JWKS.
- Keys are cached; an unknown ``kid`` triggers a refetch, at most once per refresh interval.
- Every failure is a 401 or 403 problem, never a 500.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jwt import PyJWK

from servicekit.logging import get_logger
from servicekit.problems import Problem

ALGORITHMS = ["EdDSA"]
REQUIRED_CLAIMS = ["exp", "iat", "aud", "iss", "sub"]
JWKS_PATH = "/.well-known/jwks.json"


class KeySource(Protocol):
    async def key(self, kid: str) -> PyJWK | None: ...


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    claims: dict[str, Any] = field(repr=False)


def _invalid_token(detail: str) -> Problem:
    return Problem(
        401,
        detail,
        slug="invalid-token",
        title="Invalid token",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


class RemoteJWKS:
    """Keys fetched from auth, cached, refetched on an unknown ``kid`` (rate-limited)."""

    def __init__(self, http: httpx.AsyncClient, url: str, *, min_refresh_interval: float) -> None:
        self.http = http
        self.url = url
        self.min_refresh_interval = min_refresh_interval
        self._keys: dict[str, PyJWK] = {}
        self._last_fetch = float("-inf")
        self._lock = asyncio.Lock()
        self.log = get_logger("servicekit.jwks")

    @property
    def loaded(self) -> bool:
        return bool(self._keys)

    async def refresh(self) -> None:
        """Fetch the key set now; on failure keep the cached keys and raise."""
        self._last_fetch = time.monotonic()
        response = await self.http.get(self.url)
        response.raise_for_status()
        keys: dict[str, PyJWK] = {}
        for jwk in response.json().get("keys", []):
            kid = jwk.get("kid")
            if not isinstance(kid, str) or jwk.get("alg", "EdDSA") not in ALGORITHMS:
                continue
            try:
                keys[kid] = PyJWK(jwk)
            except jwt.PyJWKError:
                self.log.warning("jwks key skipped", kid=kid)
        self._keys = keys
        self.log.info("jwks loaded", kids=sorted(keys))

    async def key(self, kid: str) -> PyJWK | None:
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:  # waits for a fetch in flight, the first one included
            # Until a first fetch succeeds, every unknown kid may try again: an instance
            # that gets a request before it is ready must not refuse valid tokens.
            due = not self._keys or time.monotonic() - self._last_fetch >= self.min_refresh_interval
            if kid not in self._keys and due:
                try:
                    await self.refresh()
                except (httpx.HTTPError, ValueError) as exc:
                    self.log.warning("jwks refresh failed", error=str(exc))
        return self._keys.get(kid)

    async def keep_loaded(self, on_loaded: Callable[[], None], *, retry_every: float) -> None:
        """Retry the first fetch until it succeeds (readiness waits for it)."""
        while True:
            try:
                async with self._lock:
                    await self.refresh()
            except (httpx.HTTPError, ValueError) as exc:
                self.log.warning("jwks fetch failed, retrying", error=str(exc))
                await asyncio.sleep(retry_every)
                continue
            on_loaded()
            return


class TokenVerifier:
    def __init__(self, keys: KeySource, *, issuer: str, audience: str, leeway: int) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:  # DecodeError, and a header PyJWT refuses (a non-string kid)
            raise _invalid_token("The token is malformed.") from None
        if header.get("alg") not in ALGORITHMS:
            raise _invalid_token("The token's algorithm is not accepted.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _invalid_token("The token has no key id.")
        key = await self.keys.key(kid)
        if key is None:
            raise _invalid_token("The token was signed by an unknown key.")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise _invalid_token("The token has expired.") from None
        except jwt.InvalidAudienceError:
            raise _invalid_token("The token is not meant for this service.") from None
        except jwt.InvalidIssuerError:
            raise _invalid_token("The token's issuer is not trusted.") from None
        except jwt.ImmatureSignatureError:
            raise _invalid_token("The token is not valid yet.") from None
        except jwt.InvalidTokenError:
            raise _invalid_token("The token is invalid.") from None
        scope = claims.get("scope", "")
        scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
        return Principal(subject=str(claims["sub"]), scopes=scopes, claims=claims)


bearer_scheme = HTTPBearer(auto_error=False, description="A JWT issued by auth.")


def require_scopes(*scopes: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that verifies the bearer token and checks it grants ``scopes``."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    ) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Problem(
                401,
                "A bearer token is required.",
                slug="missing-token",
                title="Authentication required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        verifier: TokenVerifier = request.app.state.verifier
        principal = await verifier.verify(credentials.credentials)
        missing = sorted(set(scopes) - principal.scopes)
        wanted = " ".join(scopes)
        if missing:
            raise Problem(
                403,
                f"The token lacks the scope(s): {' '.join(missing)}.",
                slug="insufficient-scope",
                title="Insufficient scope",
                headers={
                    "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{wanted}"'
                },
            )
        return principal

    return dependency
