"""Events of the payments domain."""

from __future__ import annotations

from pydantic import Field

from shared.events.registry import Payload, event_type
from shared.events.sales import PaymentMethod


class PixDetails(Payload):
    txid: str
    payload: str = Field(description='the "copia e cola" BR Code')


class PaymentFacts(Payload):
    payment_id: str
    sale_id: str
    attempt: int = Field(ge=1)
    method: PaymentMethod
    amount_cents: int = Field(ge=0)


@event_type("payment.pending")
class PaymentPending(PaymentFacts):
    """A PIX charge is waiting for the customer's bank."""

    pix: PixDetails


@event_type("payment.approved")
class PaymentApproved(PaymentFacts):
    fee_cents: int = Field(ge=0, description="the acquirer's fee (cards), else 0")
    installments: int | None = None
    cash_received_cents: int | None = None
    change_cents: int | None = None
    pix: PixDetails | None = None


@event_type("payment.declined")
class PaymentDeclined(PaymentFacts):
    reason: str


@event_type("payment.refunded")
class PaymentRefunded(PaymentFacts):
    fee_cents: int = Field(ge=0)
