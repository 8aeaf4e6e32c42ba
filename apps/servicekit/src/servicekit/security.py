"""Bearer-token verification against auth's JWKS.

- Algorithms are pinned (EdDSA); the header's ``alg`` is never trusted to choose one.
- ``exp``, ``iat``, ``aud``, ``iss`` and ``sub`` are required; ``aud`` must name this service.
- ``jku``/``x5u``/``jwk`` headers are ignored: keys come only from the configured JWKS.
- Keys are cached; an unknown ``kid`` triggers a refetch, at most once per refresh interval.
- Verified tokens are cached (``VerifiedTokens``): a client sends the same token on every
  request, and an Ed25519 verification was a sixth of payments' CPU. A cached token is served
  only while it has not expired and its ``kid`` still maps to the very key object that verified
  it, so a retired, removed or replaced key, or expiry, sends it back through full verification.
- Every failure is a 401 or 403 problem, never a 500.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import aiohttp
import jwt
from fastapi import Request
from fastapi.security import HTTPBearer
from jwt import PyJWK

from servicekit.client import TRANSPORT_ERRORS, fetch
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


class JWKSUnavailable(Exception):
    """auth answered the key set's URL with something other than 200."""


class RemoteJWKS:
    """Keys fetched from auth, cached, refetched on an unknown ``kid`` (rate-limited)."""

    def __init__(
        self, http: aiohttp.ClientSession, url: str, *, min_refresh_interval: float
    ) -> None:
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
        response = await fetch(self.http, "GET", self.url)
        if response.status_code != 200:
            raise JWKSUnavailable(f"{self.url} answered HTTP {response.status_code}")
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
                except (*TRANSPORT_ERRORS, JWKSUnavailable, ValueError) as exc:
                    self.log.warning("jwks refresh failed", error=str(exc))
        return self._keys.get(kid)

    async def keep_loaded(self, on_loaded: Callable[[], None], *, retry_every: float) -> None:
        """Retry the first fetch until it succeeds (readiness waits for it)."""
        while True:
            try:
                async with self._lock:
                    await self.refresh()
            except (*TRANSPORT_ERRORS, JWKSUnavailable, ValueError) as exc:
                self.log.warning("jwks fetch failed, retrying", error=str(exc))
                await asyncio.sleep(retry_every)
                continue
            on_loaded()
            return


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    kid: str
    key: PyJWK
    valid_until: int  # int(exp) + leeway, as PyJWT's own expiry check


class VerifiedTokens:
    """Tokens that passed full verification, bounded: the oldest entry goes first."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, _Verified] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str) -> _Verified | None:
        entry = self._entries.get(token)
        if entry is not None and time.time() >= entry.valid_until:
            del self._entries[token]
            return None
        return entry

    def put(self, token: str, entry: _Verified) -> None:
        if self.max_entries <= 0:
            return
        self._entries.pop(token, None)
        while len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[token] = entry

    def forget(self, token: str) -> None:
        self._entries.pop(token, None)


class TokenVerifier:
    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        leeway: int,
        cache_entries: int = 4096,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.verified = VerifiedTokens(cache_entries)
        self.cache_hits = 0

    async def verify(self, token: str) -> Principal:
        cached = self.verified.get(token)
        if cached is not None:
            # The key lookup is a dict read; a removed kid may trigger a (rate-limited) refetch.
            if await self.keys.key(cached.kid) is cached.key:
                self.cache_hits += 1
                # Each request gets its own claims dict, as a full verification would give.
                return replace(cached.principal, claims=dict(cached.principal.claims))
            self.verified.forget(token)
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
        principal = Principal(subject=str(claims["sub"]), scopes=scopes, claims=claims)
        expires = claims["exp"]
        if type(expires) in (int, float):
            # PyJWT compares int(exp): a fractional exp expires at its whole second.
            valid_until = int(expires) + self.leeway
            kept = replace(principal, claims=dict(claims))  # not the dict handed out now
            self.verified.put(token, _Verified(kept, kid, key, valid_until))
        return principal


BEARER_DESCRIPTION = "A JWT issued by auth."


class ScopedBearer(HTTPBearer):
    """The bearer token, verified and checked to grant ``scopes``, as one dependency.

    FastAPI sees a security scheme (OpenAPI's ``HTTPBearer``), and solves it as a single
    dependency: a function taking ``Depends(HTTPBearer(...))`` made two, and FastAPI solves
    each dependency of a request on its own, about 9 us apiece (docs/performance.md,
    "Profiles")."""

    def __init__(self, scopes: tuple[str, ...]) -> None:
        super().__init__(auto_error=False, scheme_name="HTTPBearer", description=BEARER_DESCRIPTION)
        self.scopes = scopes

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        credentials = await super().__call__(request)
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
        missing = sorted(set(self.scopes) - principal.scopes)
        wanted = " ".join(self.scopes)
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


def require_scopes(*scopes: str) -> ScopedBearer:
    """A dependency that verifies the bearer token and checks it grants ``scopes``."""
    return ScopedBearer(scopes)
