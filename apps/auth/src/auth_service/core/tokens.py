"""Issuing short-lived access tokens."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from auth_service.core.keys import Keyring


def audiences_for(scopes: list[str]) -> list[str]:
    """A scope ``payments:charge`` is for the ``payments`` service."""
    return sorted({scope.split(":", 1)[0] for scope in scopes if ":" in scope})


def issue_token(
    keyring: Keyring,
    *,
    issuer: str,
    subject: str,
    scopes: list[str],
    ttl_seconds: int,
    extra: dict[str, Any] | None = None,
) -> str:
    now = int(time.time())
    audiences = audiences_for(scopes)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audiences[0] if len(audiences) == 1 else audiences,
        "scope": " ".join(scopes),
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
        **(extra or {}),
    }
    return jwt.encode(claims, keyring.signing_key, algorithm="EdDSA", headers={"kid": keyring.kid})
