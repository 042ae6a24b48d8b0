"""Events of the customers domain (fiado accounts)."""

from __future__ import annotations

from pydantic import Field

from shared.events.registry import Payload, event_type
from shared.events.sales import Cents
from shared.vocabulary import TillMethod


@event_type("customer.payment_received", emitted_by="receive-customer-payment")
class CustomerPaymentReceived(Payload):
    """A customer paid (part of) their account: Dr caixa/banco/recebíveis, Cr clientes a
    receber; the receiving operator's open till (apply-to-till) counts it."""

    payment_id: str
    customer_id: str
    amount_cents: Cents = Field(gt=0)
    method: TillMethod
    received_by: str = Field(description="the operator; their open till counts the money")
