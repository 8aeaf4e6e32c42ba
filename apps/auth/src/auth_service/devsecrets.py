"""Development secrets: one signing key, users and clients, generated once and shared.

`platformctl up` (and the tests) call :func:`ensure_dev_secrets` so every auth replica signs with
the same key and every service finds its secret files in one ``SERVICE_SECRETS_DIR``. Real
environments mount these files from a Kubernetes Secret instead.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auth_service.core.users import hash_secret

DEV_USER = "alice"
DEV_USER_SCOPES = ["orders:write", "orders:read", "auth:me"]
SERVICE_CLIENTS = {"orders": ["payments:charge", "notifications:send"]}


@dataclass(frozen=True)
class DevCredentials:
    secrets_dir: Path
    username: str
    password: str
    client_secrets: dict[str, str]


def generate_signing_key_pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def ensure_dev_secrets(secrets_dir: Path) -> DevCredentials:
    """Create the secrets on first use; later calls read back what exists."""
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    plain_file = secrets_dir / "dev-credentials.json"
    if plain_file.exists():
        plain = json.loads(plain_file.read_text())
    else:
        plain = {
            "username": DEV_USER,
            "password": secrets.token_urlsafe(12),
            "clients": {name: secrets.token_urlsafe(24) for name in SERVICE_CLIENTS},
        }
        users = {
            "users": {
                DEV_USER: {
                    "password_hash": hash_secret(plain["password"]),
                    "scopes": DEV_USER_SCOPES,
                    "email": f"{DEV_USER}@example.com",
                }
            },
            "clients": {
                name: {"secret_hash": hash_secret(plain["clients"][name]), "scopes": scopes}
                for name, scopes in SERVICE_CLIENTS.items()
            },
        }
        _write(secrets_dir / "auth_signing_key", generate_signing_key_pem())
        _write(secrets_dir / "auth_users", json.dumps(users, indent=2))
        _write(secrets_dir / "orders_client_secret", plain["clients"]["orders"])
        _write(secrets_dir / "dev_alice_password", plain["password"])
        _write(plain_file, json.dumps(plain, indent=2))
    return DevCredentials(
        secrets_dir=secrets_dir,
        username=plain["username"],
        password=plain["password"],
        client_secrets=plain["clients"],
    )


def _write(path: Path, content: str) -> None:
    path.write_text(content)
    path.chmod(0o600)
