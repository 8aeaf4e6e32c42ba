"""The directory of users and API clients, loaded from a mounted secret (JSON).

```json
{"users":   {"alice":  {"password_hash": "$argon2id$...", "scopes": ["orders:write"],
                        "email": "alice@example.com"}},
 "clients": {"orders": {"secret_hash": "$argon2id$...",
                        "scopes": ["payments:charge", "notifications:send"]}}}
```
"""

from __future__ import annotations

import json

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, EmailStr, Field

# OWASP's minimum argon2id profile keeps a password grant near 20 ms of CPU.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class User(BaseModel):
    password_hash: str
    scopes: list[str] = Field(default_factory=list)
    email: EmailStr | None = None


class Client(BaseModel):
    secret_hash: str
    scopes: list[str] = Field(default_factory=list)


class Directory(BaseModel):
    users: dict[str, User] = Field(default_factory=dict)
    clients: dict[str, Client] = Field(default_factory=dict)

    @classmethod
    def from_json(cls, document: str | None) -> Directory:
        return cls.model_validate(json.loads(document)) if document else cls()

    def authenticate_user(self, username: str, password: str) -> User | None:
        user = self.users.get(username)
        return user if user and verify_secret(user.password_hash, password) else None

    def authenticate_client(self, client_id: str, secret: str) -> Client | None:
        client = self.clients.get(client_id)
        return client if client and verify_secret(client.secret_hash, secret) else None


def hash_secret(secret: str) -> str:
    return HASHER.hash(secret)


def verify_secret(hashed: str, secret: str) -> bool:
    try:
        return HASHER.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False
