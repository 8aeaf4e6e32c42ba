"""Placing an order: price it, charge it through payments, notify best-effort.

No state is stored. The order id derives from the caller and the ``Idempotency-Key``, and the
charge's key from the order id, so a retry gets the same order and the same charge.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from prometheus_client import Counter
from servicekit.client import ServiceClient
from servicekit.logging import get_logger
from servicekit.problems import Problem
from servicekit.tokens import ClientCredentials

from orders_service.core.catalog import Product

ORDER_NAMESPACE = uuid.UUID("a1d6e0b4-7c3f-4e58-9b2a-5f8e1c0d9a33")
NOTIFICATION_FAILURES = Counter(
    "orders_notification_failures", "Orders whose confirmation could not be sent."
)
log = get_logger("orders.checkout")


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


@dataclass(frozen=True)
class PaidOrder:
    id: str
    total: int
    charge_id: str
    notified: bool


def order_id_for(subject: str, idempotency_key: str) -> str:
    return "ord_" + uuid.uuid5(ORDER_NAMESPACE, f"{subject}\n{idempotency_key}").hex


def price(lines: list[Line], catalog: dict[str, Product]) -> int:
    unknown = sorted({line.sku for line in lines} - catalog.keys())
    if unknown:
        raise Problem(
            422,
            f"Unknown SKU(s): {', '.join(unknown)}.",
            slug="unknown-sku",
            title="Unknown SKU",
            skus=unknown,
        )
    return sum(catalog[line.sku].price * line.quantity for line in lines)


class Checkout:
    def __init__(
        self,
        *,
        payments: ServiceClient,
        notifications: ServiceClient,
        credentials: ClientCredentials,
        currency: str,
    ) -> None:
        self.payments = payments
        self.notifications = notifications
        self.credentials = credentials
        self.currency = currency

    async def place(
        self, *, order_id: str, total: int, card_token: str, email: str | None
    ) -> PaidOrder:
        charge_id = await self._charge(order_id, total, card_token)
        notified = await self._notify(order_id, total, email) if email else False
        return PaidOrder(id=order_id, total=total, charge_id=charge_id, notified=notified)

    async def _charge(self, order_id: str, total: int, card_token: str) -> str:
        body = {"amount": total, "currency": self.currency, "card_token": card_token}
        for attempt in range(2):  # a second try only after a rejected (rotated) token
            token = await self.credentials.token()
            response = await self.payments.request(
                "POST",
                "/v1/charges",
                idempotency_key=f"{order_id}.charge",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code == 401 and attempt == 0:
                self.credentials.invalidate()
                continue
            break
        if response.status_code == 201:
            return str(response.json()["id"])
        if response.status_code == 402:
            problem = response.json()
            raise Problem(
                402,
                "The payment was declined.",
                slug="payment-declined",
                title="Payment declined",
                order_id=order_id,
                charge_id=problem.get("charge_id"),
                decline_code=problem.get("decline_code"),
            )
        if response.status_code == 422:
            raise Problem(
                422,
                "payments rejected the charge: " + str(response.json().get("detail", "")),
                slug="payment-rejected",
                title="Payment rejected",
                order_id=order_id,
            )
        raise Problem(
            502,
            f"payments answered HTTP {response.status_code}.",
            slug="dependency-failed",
            title="Dependency failed",
            dependency="payments",
        )

    async def _notify(self, order_id: str, total: int, email: str) -> bool:
        try:
            token = await self.credentials.token()
            response = await self.notifications.request(
                "POST",
                "/v1/notifications",
                idempotency_key=f"{order_id}.confirmation",
                json={
                    "channel": "email",
                    "recipient": email,
                    "template": "order_confirmation",
                    "data": {"order_id": order_id, "total": total, "currency": self.currency},
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code == 202:
                return True
            reason = f"HTTP {response.status_code}"
        except Problem as exc:
            reason = exc.detail
        NOTIFICATION_FAILURES.inc()
        log.warning("notification failed", order_id=order_id, reason=reason)
        return False
