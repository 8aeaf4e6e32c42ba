from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from servicekit.idempotency import IdempotentWrite, idempotent_write
from servicekit.problems import problem_responses

from orders_service.core.catalog import Product
from orders_service.core.checkout import Checkout, Line, order_id_for, price

router = APIRouter(prefix="/v1")


class Catalog(BaseModel):
    items: list[Product]


class OrderLine(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=100)


class OrderRequest(BaseModel):
    items: list[OrderLine] = Field(min_length=1, max_length=50)
    card_token: str = Field(pattern=r"^tok_[a-z_]{1,40}$", examples=["tok_visa"])


class Order(BaseModel):
    id: str
    status: str
    items: list[OrderLine]
    total: int
    currency: str
    charge_id: str
    notified: bool


@router.get("/catalog", response_model=Catalog, summary="The catalog")
async def catalog(request: Request) -> Response:
    # The catalog is static: serialized once at startup, served as bytes.
    return Response(request.app.state.catalog_json, media_type="application/json")


@router.post(
    "/orders",
    status_code=201,
    response_model=Order,
    summary="Place and pay an order",
    responses=problem_responses(400, 401, 402, 403, 413, 422, 502, 503, 504),
)
async def place_order(
    request: Request,
    body: OrderRequest,
    write: Annotated[IdempotentWrite, Depends(idempotent_write("orders:write"))],
) -> Order:
    checkout: Checkout = request.app.state.checkout
    lines = [Line(item.sku, item.quantity) for item in body.items]
    total = price(lines, request.app.state.catalog)
    email = write.principal.claims.get("email")
    paid = await checkout.place(
        order_id=order_id_for(write.principal.subject, write.key),
        total=total,
        card_token=body.card_token,
        email=email if isinstance(email, str) else None,
    )
    return Order(
        id=paid.id,
        status="paid",
        items=body.items,
        total=paid.total,
        currency=checkout.currency,
        charge_id=paid.charge_id,
        notified=paid.notified,
    )
