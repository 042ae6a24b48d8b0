"""Events of the payments domain."""

from __future__ import annotations

from pydantic import Field

from shared.domain_errors import Invalid
from shared.events.ownership import source_of
from shared.events.registry import Payload, event_type
from shared.vocabulary import PaymentMethod


class PixDetails(Payload):
    txid: str
    payload: str = Field(description='the "copia e cola" BR Code')


class PaymentFacts(Payload):
    payment_id: str
    sale_id: str
    attempt: int = Field(ge=1)
    method: PaymentMethod
    amount_cents: int = Field(ge=0)


@event_type("payment.pending", emitted_by="process-payment")
class PaymentPending(PaymentFacts):
    """A PIX charge is waiting for the customer's bank."""

    pix: PixDetails


# Fiado is decided by the customer's account (customers domain): charge-account approves,
# declines and refunds those, with the same events as the acquirer's.
PAYMENT_DECIDERS = ("process-payment", "charge-account")
FIADO = "fiado"
# A sale imported from the shop's old program (issue 18) was paid there: import-sales reports
# that decision (payment.approved, dated when it happened) for every method but fiado, which
# is never imported. It approves only: payment.declined and .refunded are not its to emit.
IMPORTER = "import-sales"


class WrongDecider(Invalid):
    """A payment decision from the function that does not decide that method: each of the
    two may publish the type, but only its own methods' decisions count (a bug or a stolen
    token in one must not pay, or reverse, the other's sales)."""


def decider_of(method: str) -> str:
    """The `source` whose decisions on `method` count."""
    return source_of("charge-account" if method == FIADO else "process-payment")


def check_decider(source: str, method: str) -> None:
    """Refuse a decision from a function that does not decide `method`. import-sales
    counts for every method but fiado: its approvals report the old program's (the ownership
    table keeps it from emitting any other decision)."""
    if method != FIADO and source == source_of(IMPORTER):
        return
    expected = decider_of(method)
    if source != expected:
        raise WrongDecider(f"{method} payments are decided by {expected}, not {source}")


@event_type("payment.approved", emitted_by=(*PAYMENT_DECIDERS, IMPORTER))
class PaymentApproved(PaymentFacts):
    fee_cents: int = Field(ge=0, description="the acquirer's fee (cards), else 0")
    installments: int | None = None
    cash_received_cents: int | None = None
    change_cents: int | None = None
    pix: PixDetails | None = None
    customer_id: str | None = Field(default=None, description="fiado: whose account")
    customer_name: str | None = Field(default=None, description="fiado: for the receipt")


@event_type("payment.declined", emitted_by=PAYMENT_DECIDERS)
class PaymentDeclined(PaymentFacts):
    reason: str


@event_type("payment.refunded", emitted_by=PAYMENT_DECIDERS)
class PaymentRefunded(PaymentFacts):
    fee_cents: int = Field(ge=0)


@event_type("payment.pix_received", emitted_by="process-payment")
class PixReceived(Payload):
    """The (simulated) bank's notice that the customer paid a PIX charge.

    process-payment schedules it in its outbox when it creates a charge with a
    confirmation delay; the outbox relay publishes it once due and the Broker brings it
    back to process-payment, which approves the charge if it is still waiting. No timer
    wakes process-payment for it.
    """

    payment_id: str
    sale_id: str
    attempt: int = Field(ge=1)
    txid: str = Field(min_length=1, max_length=25)
    amount_cents: int = Field(ge=0)


@event_type("payment.fiado_requested", emitted_by="process-payment")
class FiadoRequested(PaymentFacts):
    """A fiado attempt, handed to the customer's account (charge-account), which approves it
    when balance + amount stays within the limit, else declines it."""

    seller_id: str | None
    customer_id: str
