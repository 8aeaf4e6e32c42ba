"""The ``Idempotency-Key`` header that makes a POST safe to retry."""

# No `from __future__ import annotations`: FastAPI must evaluate the dependency's
# annotations, and `Depends(require_scopes(scope))` refers to a local of idempotent_write().
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from servicekit.problems import Problem
from servicekit.security import Principal, require_scopes

IdempotencyKey = str
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


async def require_idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="8-128 characters [A-Za-z0-9._:-]; a retry must repeat it.",
        ),
    ] = None,
) -> IdempotencyKey:
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


def idempotent_write(scope: str) -> Callable[..., Awaitable[IdempotentWrite]]:
    """A retry-safe write: the caller is authenticated first (401/403 before any 400), then
    the ``Idempotency-Key`` is required."""

    async def dependency(
        principal: Annotated[Principal, Depends(require_scopes(scope))],
        key: Annotated[IdempotencyKey, Depends(require_idempotency_key)],
    ) -> IdempotentWrite:
        return IdempotentWrite(principal, key)

    return dependency
