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
    name: str | None = Field(default=None, description="the product's name when sold")
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


class PaymentChoice(Payload):
    method: PaymentMethod
    installments: int | None = Field(default=None, ge=1, le=12)
    cash_received_cents: int | None = Field(default=None, ge=0)


class PaymentRequest(Payload):
    """What process-payment needs to charge one attempt of a sale."""

    sale_id: str
    seller_id: str | None
    attempt: int = Field(ge=1)
    total_cents: int = Field(ge=0)
    payment: PaymentChoice


@event_type("sale.completed")
class SaleCompleted(PaymentRequest):
    items: list[SaleItem] = Field(min_length=1)
    subtotal_cents: int = Field(ge=0)
    discount_cents: int = Field(ge=0)
    discount_approved_by: str | None = Field(
        default=None, description="the admin who approved a discount above the seller's limit"
    )


@event_type("sale.payment_requested")
class SalePaymentRequested(PaymentRequest):
    """A new attempt with another method, after a declined one."""


@event_type("sale.payment_failed")
class SalePaymentFailed(Payload):
    sale_id: str
    attempt: int = Field(ge=1)
    reason: str


@event_type("sale.cancelled")
class SaleCancelled(Payload):
    sale_id: str
    was_paid: bool
    total_cents: int = Field(ge=0)
