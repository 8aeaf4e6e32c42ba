"""The ``Idempotency-Key`` header that makes a POST safe to retry."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Header

from servicekit.problems import Problem

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
