"""The ``Idempotency-Key`` header that makes a POST safe to retry."""

# No `from __future__ import annotations`: FastAPI reads IdempotentWriteGuard.__call__'s
# annotations to find the header (docs/reliability.md, the 500 on /openapi.json).

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Header, Request

from servicekit.problems import Problem
from servicekit.security import Principal, ScopedBearer

IdempotencyKey = str
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
IDEMPOTENCY_KEY_HEADER = Header(
    alias="Idempotency-Key",
    description="8-128 characters [A-Za-z0-9._:-]; a retry must repeat it.",
)


def checked_idempotency_key(idempotency_key: str | None) -> IdempotencyKey:
    if idempotency_key is None:
        raise Problem(
            400,
            "The Idempotency-Key header is required.",
            slug="idempotency-key-required",
            title="Idempotency-Key required",
        )
    if not _VALID.match(idempotency_key):
        raise Problem(
            400,
            "The Idempotency-Key must be 8-128 characters of [A-Za-z0-9._:-].",
            slug="idempotency-key-invalid",
            title="Invalid Idempotency-Key",
        )
    return idempotency_key


@dataclass(frozen=True)
class IdempotentWrite:
    principal: Principal
    key: IdempotencyKey


class IdempotentWriteGuard(ScopedBearer):
    """The caller authenticated first (401/403 before any 400), then the ``Idempotency-Key``
    required: one dependency where three were (docs/performance.md, "Profiles")."""

    async def __call__(  # type: ignore[override]
        self,
        request: Request,
        idempotency_key: Annotated[str | None, IDEMPOTENCY_KEY_HEADER] = None,
    ) -> IdempotentWrite:
        principal = await super().__call__(request)
        return IdempotentWrite(principal, checked_idempotency_key(idempotency_key))


def idempotent_write(scope: str) -> IdempotentWriteGuard:
    """A retry-safe write's dependency: ``Depends(idempotent_write("payments:charge"))``."""
    return IdempotentWriteGuard((scope,))
