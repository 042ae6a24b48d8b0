"""Events of the sales domain that other domains consume.

`sale.paid` and `sale.refunded` carry the items with their quantities and prices, so that
stock and finance act without calling back.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.events.registry import Payload, event_type
from shared.units import Quantity

PaymentMethod = Literal["pix", "debit", "credit", "cash"]


class SaleItem(Payload):
    product_id: str
    quantity: Quantity
    unit_price_cents: int = Field(ge=0)
    total_cents: int = Field(ge=0)


class SaleSettled(Payload):
    sale_id: str
    seller_id: str | None
    items: list[SaleItem] = Field(min_length=1)
    total_cents: int = Field(ge=0)
    payment_method: PaymentMethod


@event_type("sale.paid")
class SalePaid(SaleSettled):
    pass


@event_type("sale.refunded")
class SaleRefunded(SaleSettled):
    pass
