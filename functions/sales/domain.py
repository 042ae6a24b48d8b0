"""Sales rules, free of I/O: prices, totals, the payment choice and the sale's states."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from shared.domain_errors import Conflict, Invalid
from shared.events.sales import MAX_SALE_CENTS
from shared.money import cents
from shared.units import MAX_LINE_QUANTITY
from shared.vocabulary import SALE_STATUSES

THOUSANDTH = Decimal("0.001")


class SaleError(Invalid):
    """A sale the counter must fix; the message is for the seller."""


class SaleConflict(SaleError):
    """The sale's state does not allow this now (cancel a refunded sale, pay a paid one):
    the caller asked at the wrong moment, not with wrong values (409, not 422)."""

    status = Conflict.status


def line_total(quantity: Decimal, unit_price_cents: int) -> int:
    """Quantity × unit price, rounded half-up to the centavo."""
    return cents(quantity * unit_price_cents)


def quantity_for_price(total_cents: int, unit_price_cents: int) -> Decimal:
    """A price label charges its printed total; the weight (3 places) is derived for stock."""
    if unit_price_cents <= 0:
        raise SaleError("a price label needs a product with a price")
    return (Decimal(total_cents) / unit_price_cents).quantize(THOUSANDTH, rounding=ROUND_HALF_UP)


def quantity_from_grams(grams: int) -> Decimal:
    return (Decimal(grams) / 1000).quantize(THOUSANDTH)


@dataclass(frozen=True)
class Totals:
    subtotal_cents: int
    discount_cents: int
    total_cents: int


def check_line_quantity(quantity: Decimal) -> None:
    """A weight derived from a label (total ÷ price) is bounded like a typed one."""
    if quantity > MAX_LINE_QUANTITY:
        raise SaleError(f"a line holds at most {MAX_LINE_QUANTITY} (kg or units)")


def totals(line_totals: list[int], discount_cents: int) -> Totals:
    """Bounded where the shop's reality ends, so that no event of the sale is refused."""
    subtotal = sum(line_totals)
    if subtotal > MAX_SALE_CENTS:
        raise SaleError(f"a sale totals at most {MAX_SALE_CENTS} centavos")
    if discount_cents < 0:
        raise SaleError("the discount cannot be negative")
    if discount_cents > subtotal:
        raise SaleError("the discount cannot exceed the subtotal")
    return Totals(subtotal, discount_cents, subtotal - discount_cents)


def discount_limit_cents(subtotal_cents: int, percent: int) -> int:
    """The most a seller may take off alone: a percent of the subtotal, rounded down so
    that the limit is never exceeded by a centavo."""
    return subtotal_cents * percent // 100


def check_payment(
    method: str, total_cents: int, installments: int | None, cash_received_cents: int | None
) -> int | None:
    """Refuse what the counter must fix now; the change for cash (else None). Fiado (on the
    customer's account, whose limit the customers domain checks) takes neither installments
    nor cash, as debit and PIX."""
    if method == "credit":
        if installments is not None and not 1 <= installments <= 12:
            raise SaleError("credit accepts 1 to 12 installments")
    elif installments not in (None, 1):
        raise SaleError("only credit is paid in installments")
    if method == "cash":
        if cash_received_cents is None:
            raise SaleError("cash needs cash_received_cents")
        if cash_received_cents < total_cents:
            raise SaleError("the cash received does not cover the total")
        return cash_received_cents - total_cents
    if cash_received_cents is not None:
        raise SaleError("cash_received_cents is for cash payments")
    return None


class Status(StrEnum):
    """The sale's states, as shared.vocabulary.SaleStatus spells them (checked on import)."""

    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


if {status.value for status in Status} != set(SALE_STATUSES):
    raise RuntimeError("sales.domain.Status and shared.vocabulary.SaleStatus disagree")


# How the receipt's refusal (and any message to the counter) names a sale's state.
STATUS_NAMES = {
    Status.PENDING_PAYMENT: "aguardando pagamento",
    Status.PAID: "paga",
    Status.PAYMENT_FAILED: "com o pagamento recusado",
    Status.CANCELLED: "cancelada",
    Status.REFUNDED: "estornada",
}


class Emit(StrEnum):
    """The sale events a transition announces."""

    PAID = "sale.paid"
    PAYMENT_FAILED = "sale.payment_failed"
    REFUNDED = "sale.refunded"
    CANCELLED = "sale.cancelled"
    PAYMENT_REQUESTED = "sale.payment_requested"


@dataclass(frozen=True)
class SaleState:
    status: Status
    attempt: int = 1
    cancel_requested: bool = False


@dataclass(frozen=True)
class Transition:
    state: SaleState
    emit: Emit | None = None


def _stay(state: SaleState) -> Transition:
    return Transition(state)


def on_payment_approved(state: SaleState, attempt: int) -> Transition:
    """Only the current attempt of a sale still waiting can make it paid."""
    if state.status is Status.PENDING_PAYMENT and attempt == state.attempt:
        return Transition(SaleState(Status.PAID, state.attempt), Emit.PAID)
    return _stay(state)


def on_payment_declined(state: SaleState, attempt: int) -> Transition:
    if state.status is Status.PENDING_PAYMENT and attempt == state.attempt:
        return Transition(SaleState(Status.PAYMENT_FAILED, state.attempt), Emit.PAYMENT_FAILED)
    return _stay(state)


def on_payment_refunded(state: SaleState, attempt: int) -> Transition:
    """A paid sale becomes refunded (and its stock comes back). Money returned for a sale
    cancelled before it was paid changes nothing here: that sale never left stock."""
    if state.status is Status.PAID and attempt == state.attempt:
        return Transition(SaleState(Status.REFUNDED, state.attempt, True), Emit.REFUNDED)
    return _stay(state)


def cancel(state: SaleState) -> Transition:
    """Cancel at the counter: unpaid → cancelled; paid → refund requested (still paid
    until the money is back). Raises for what cannot be cancelled (again)."""
    if state.status in (Status.PENDING_PAYMENT, Status.PAYMENT_FAILED):
        return Transition(SaleState(Status.CANCELLED, state.attempt, True), Emit.CANCELLED)
    if state.status is Status.PAID and not state.cancel_requested:
        return Transition(SaleState(Status.PAID, state.attempt, True), Emit.CANCELLED)
    raise SaleConflict(f"a sale that is {state.status.value} cannot be cancelled")


def retry_payment(state: SaleState) -> Transition:
    """A declined sale may be paid again, with another method, as a new attempt."""
    if state.status is not Status.PAYMENT_FAILED:
        raise SaleConflict(f"a sale that is {state.status.value} takes no new payment")
    return Transition(SaleState(Status.PENDING_PAYMENT, state.attempt + 1), Emit.PAYMENT_REQUESTED)
