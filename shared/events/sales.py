"""Events of the sales domain that other domains consume.

`sale.paid` and `sale.refunded` carry the items with their quantities and prices, so that
stock and finance act without calling back.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared.events.payments import IMPORTER
from shared.events.registry import Payload, event_type
from shared.units import LineQuantity
from shared.vocabulary import PaymentMethod

# The largest sale (and so line, price or payment) the counter makes: R$ 1.000.000,00,
# as much as the catalogue lets one kilo cost and as much cash as a sale may receive.
MAX_SALE_CENTS = 100_000_000
Cents = Annotated[int, Field(ge=0, le=MAX_SALE_CENTS)]


class SaleItem(Payload):
    product_id: str
    name: str | None = Field(default=None, description="the product's name when sold")
    quantity: LineQuantity
    unit_price_cents: Cents
    total_cents: Cents


class SaleSettled(Payload):
    sale_id: str
    seller_id: str | None
    items: list[SaleItem] = Field(min_length=1)
    total_cents: Cents
    payment_method: PaymentMethod


# An imported sale (issue 18) ends with the same events as a live one, all from import-sales.
@event_type("sale.paid", emitted_by=("update-sale-status", IMPORTER))
class SalePaid(SaleSettled):
    pass


@event_type("sale.refunded", emitted_by="update-sale-status")
class SaleRefunded(SaleSettled):
    pass


class PaymentChoice(Payload):
    method: PaymentMethod
    installments: int | None = Field(default=None, ge=1, le=12)
    cash_received_cents: int | None = Field(default=None, ge=0, le=MAX_SALE_CENTS)
    customer_id: str | None = Field(default=None, description="fiado: whose account")


class PaymentRequest(Payload):
    """What process-payment needs to charge one attempt of a sale."""

    sale_id: str
    seller_id: str | None
    attempt: int = Field(ge=1)
    total_cents: Cents
    payment: PaymentChoice


@event_type("sale.completed", emitted_by=("complete-sale", IMPORTER))
class SaleCompleted(PaymentRequest):
    items: list[SaleItem] = Field(min_length=1)
    subtotal_cents: Cents
    discount_cents: Cents
    discount_approved_by: str | None = Field(
        default=None, description="the admin who approved a discount above the seller's limit"
    )


@event_type("sale.payment_requested", emitted_by="complete-sale")
class SalePaymentRequested(PaymentRequest):
    """A new attempt with another method, after a declined one."""


@event_type("sale.payment_failed", emitted_by="update-sale-status")
class SalePaymentFailed(Payload):
    sale_id: str
    attempt: int = Field(ge=1)
    reason: str


@event_type("sale.cancelled", emitted_by="cancel-sale")
class SaleCancelled(Payload):
    sale_id: str
    was_paid: bool
    total_cents: Cents


class ReturnedItem(Payload):
    product_id: str
    name: str | None = None
    quantity: LineQuantity
    refund_cents: Cents = Field(description="what this part gives back (its share of the total)")


@event_type("sale.returned", emitted_by="return-sale")
class SaleReturned(Payload):
    """Part of a paid sale came back: its stock returns at the cost it left, the money goes
    back by the sale's method (fiado: to the customer's account), the ledger reverses it."""

    sale_id: str
    return_id: str
    seller_id: str | None
    items: list[ReturnedItem] = Field(min_length=1)
    refund_cents: Cents
    payment_method: PaymentMethod
    customer_id: str | None = None
    till_session_id: str | None = Field(
        default=None, description="the till the money left from (the returning operator's)"
    )
    reason: str = Field(min_length=1, max_length=200)
