"""Deterministic charge outcomes.

The outcome and the charge id are pure functions of the idempotency key and the request, so a
retry with the same key and body gets the identical charge from any replica of either color,
with no stored state.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from enum import StrEnum

CHARGE_NAMESPACE = uuid.UUID("6f1c2b8e-5a43-4c1e-9a57-0d7c1f3b2a10")


class CardToken(StrEnum):
    visa = "tok_visa"
    mastercard = "tok_mastercard"
    declined = "tok_declined"
    insufficient_funds = "tok_insufficient_funds"


DECLINES = {
    CardToken.declined: "card_declined",
    CardToken.insufficient_funds: "insufficient_funds",
}


@dataclass(frozen=True)
class ChargeOutcome:
    id: str
    status: str
    decline_code: str | None


def decide(idempotency_key: str, amount: int, currency: str, card: CardToken) -> ChargeOutcome:
    fingerprint = json.dumps(
        {"key": idempotency_key, "amount": amount, "currency": currency, "card": card.value},
        sort_keys=True,
    )
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()
    charge_id = "ch_" + uuid.uuid5(CHARGE_NAMESPACE, digest).hex
    decline = DECLINES.get(card)
    return ChargeOutcome(charge_id, "declined" if decline else "succeeded", decline)
