"""Mint tokens in tests, signed with the dev key or with anything an attacker might try."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
from auth_service.core.keys import Keyring


def dev_keyring(secrets_dir: Path) -> Keyring:
    return Keyring.from_pem((secrets_dir / "auth_signing_key").read_text())


def claims_for(audience: str | list[str], scope: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "platform-auth",
        "sub": "tester",
        "aud": audience,
        "scope": scope,
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def mint(keyring: Keyring, claims: dict[str, Any], **headers: Any) -> str:
    return jwt.encode(
        claims, keyring.signing_key, algorithm="EdDSA", headers={"kid": keyring.kid, **headers}
    )
