"""Auth's signing key and the public key set it publishes.

The ``kid`` is the RFC 7638 thumbprint of the public key, so every replica that loads the same
key file publishes the same ``kid``. Retired public keys stay in the JWKS during rotation so
tokens they signed remain verifiable until they expire.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt import PyJWK
from jwt.algorithms import OKPAlgorithm
from jwt.utils import base64url_encode
from servicekit.settings import ConfigurationError


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, Any]:
    jwk = json.loads(OKPAlgorithm.to_jwk(public_key))
    # RFC 7638: thumbprint over the required members in lexicographic order.
    canonical = json.dumps(
        {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":")
    )
    from hashlib import sha256

    jwk["kid"] = base64url_encode(sha256(canonical.encode()).digest()).decode()
    jwk.update({"alg": "EdDSA", "use": "sig"})
    return jwk


class Keyring:
    def __init__(self, signing_key: Ed25519PrivateKey, retired: list[Ed25519PublicKey]) -> None:
        self.signing_key = signing_key
        self.current = public_jwk(signing_key.public_key())
        self.kid: str = self.current["kid"]
        published = [self.current, *(public_jwk(key) for key in retired)]
        self._by_kid = {jwk["kid"]: PyJWK(jwk) for jwk in published}
        self.jwks: dict[str, Any] = {"keys": published}

    @classmethod
    def from_pem(cls, signing_pem: str, retired_pems: str | None = None) -> Keyring:
        try:
            key = serialization.load_pem_private_key(signing_pem.encode(), password=None)
        except ValueError:
            raise ConfigurationError("AUTH_SIGNING_KEY is not a PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError("AUTH_SIGNING_KEY must be an Ed25519 key")
        retired = []
        for block in _pem_blocks(retired_pems or ""):
            public = serialization.load_pem_public_key(block.encode())
            if not isinstance(public, Ed25519PublicKey):
                raise ConfigurationError("AUTH_PREVIOUS_PUBLIC_KEYS must be Ed25519 keys")
            retired.append(public)
        return cls(key, retired)

    async def key(self, kid: str) -> PyJWK | None:
        return self._by_kid.get(kid)


def _pem_blocks(text: str) -> list[str]:
    end = "-----END PUBLIC KEY-----"
    return [part.strip() + "\n" + end + "\n" for part in text.split(end) if part.strip()]
