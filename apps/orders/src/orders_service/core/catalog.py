"""The catalog: a fixed price list, prices in minor units."""

from __future__ import annotations

from pydantic import BaseModel


class Product(BaseModel):
    sku: str
    name: str
    price: int
    currency: str


def load_catalog(currency: str) -> dict[str, Product]:
    items = [
        ("sku-coffee-beans", "Coffee beans, 1 kg", 2490),
        ("sku-grinder", "Burr grinder", 12900),
        ("sku-kettle", "Gooseneck kettle", 5900),
        ("sku-filter-papers", "Filter papers, 100", 690),
        ("sku-mug", "Stoneware mug", 1800),
        ("sku-scale", "Brew scale", 3900),
    ]
    return {
        sku: Product(sku=sku, name=name, price=price, currency=currency)
        for sku, name, price in items
    }
