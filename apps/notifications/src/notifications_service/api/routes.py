from __future__ import annotations

import re
import uuid
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, Field, model_validator
from servicekit.logging import get_logger
from servicekit.problems import problem_responses
from servicekit.security import Principal, require_scopes

router = APIRouter(prefix="/v1")
log = get_logger("notifications.delivery")
NOTIFICATION_NAMESPACE = uuid.UUID("3f0a8c52-2d7e-4b8e-8f9a-6c1d5e4b7a21")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class Channel(StrEnum):
    email = "email"
    sms = "sms"


class Template(StrEnum):
    order_confirmation = "order_confirmation"
    payment_failed = "payment_failed"
    welcome = "welcome"


class NotificationRequest(BaseModel):
    channel: Channel
    recipient: str = Field(min_length=3, max_length=254)
    template: Template
    data: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=32)

    @model_validator(mode="after")
    def _recipient_fits_channel(self) -> NotificationRequest:
        if self.channel is Channel.sms:
            if not E164.match(self.recipient):
                raise ValueError("an sms recipient must be an E.164 number such as +4915112345678")
        elif problem := _email_problem(self.recipient):
            raise ValueError(f"an email recipient must be an address: {problem}")
        return self


# Without a DNS lookup, validation is a pure function of the string, and orders sends the same
# customers' addresses again and again: py-spy put 3.1 % of notifications' CPU in it at 40
# orders/s, some 30 µs a call. Bounded, as everything kept per input is.
@lru_cache(maxsize=4096)
def _email_problem(recipient: str) -> str | None:
    """Why ``recipient`` is not an email address, or None when it is one."""
    try:
        validate_email(recipient, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


class Accepted(BaseModel):
    id: str
    status: str = "accepted"


def _masked(recipient: str) -> str:
    name, _, domain = recipient.partition("@")
    return f"{name[:1]}***@{domain}" if domain else f"{recipient[:3]}***{recipient[-2:]}"


@router.post(
    "/notifications",
    status_code=202,
    response_model=Accepted,
    summary="Accept a notification for delivery",
    responses=problem_responses(400, 401, 403, 413, 422),
)
async def create_notification(
    body: NotificationRequest,
    principal: Annotated[Principal, Depends(require_scopes("notifications:send"))],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> Accepted:
    notification_id = (
        uuid.uuid5(NOTIFICATION_NAMESPACE, f"{principal.subject}\n{idempotency_key}")
        if idempotency_key
        else uuid.uuid4()
    )
    # Delivery is a structured log event; a real provider would be called here.
    log.info(
        "notification delivered",
        notification_id=str(notification_id),
        channel=body.channel.value,
        template=body.template.value,
        recipient=_masked(body.recipient),
        sender=principal.subject,
    )
    return Accepted(id=f"ntf_{notification_id.hex}")
