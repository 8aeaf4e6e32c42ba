from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from servicekit.idempotency import IdempotentWrite, idempotent_write
from servicekit.problems import Problem, problem_responses

from payments_service.core.charges import CardToken, decide
from payments_service.core.config import PaymentsSettings

router = APIRouter(prefix="/v1")


class ChargeRequest(BaseModel):
    amount: int = Field(gt=0, description="Amount in minor units (cents).")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")
    card_token: CardToken
    description: str | None = Field(None, max_length=200)


class Charge(BaseModel):
    id: str
    status: str
    amount: int
    currency: str
    idempotency_key: str


@router.post(
    "/charges",
    status_code=201,
    response_model=Charge,
    summary="Authorize a charge",
    responses=problem_responses(400, 401, 402, 403, 413, 422),
)
async def create_charge(
    request: Request,
    body: ChargeRequest,
    write: Annotated[IdempotentWrite, Depends(idempotent_write("payments:charge"))],
) -> Charge:
    settings: PaymentsSettings = request.app.state.settings
    if body.currency not in settings.allowed_currencies:
        raise Problem(
            422,
            f"Currency {body.currency} is not accepted; use one of "
            f"{', '.join(settings.allowed_currencies)}.",
            slug="unsupported-currency",
            title="Unsupported currency",
        )
    if body.amount > settings.max_amount:
        raise Problem(
            422,
            f"The amount exceeds the limit of {settings.max_amount}.",
            slug="amount-too-large",
            title="Amount too large",
        )
    outcome = decide(write.key, body.amount, body.currency, body.card_token)
    if outcome.decline_code:
        raise Problem(
            402,
            "The card was declined.",
            slug="card-declined",
            title="Payment declined",
            charge_id=outcome.id,
            decline_code=outcome.decline_code,
        )
    return Charge(
        id=outcome.id,
        status=outcome.status,
        amount=body.amount,
        currency=body.currency,
        idempotency_key=write.key,
    )
