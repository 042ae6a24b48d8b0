"""update-sale-status: the payment's outcome moves the sale along its states
(sales.domain's transitions), each change announced once.

Two functions decide payments (shared.events.payments.PAYMENT_DECIDERS): the acquirer
(process-payment) every method but fiado, the customer's account (charge-account) fiado
alone. The broker's ownership check lets either publish payment.approved, so the decision
is checked against the method here: a fiado approval from the acquirer, or a card approval
from the accounts, is refused (422: dead-lettered, never applied).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

from functions.sales import domain, store
from functions.sales.domain import Emit
from functions.sales.service import items_of
from shared.db.uow import UnitOfWork
from shared.domain_errors import Invalid, NotYet
from shared.events.envelope import Envelope
from shared.events.payments import (
    FIADO,
    PaymentApproved,
    PaymentDeclined,
    PaymentFacts,
    PaymentPending,
    PaymentRefunded,
    check_decider,
)
from shared.events.sales import SalePaid, SalePaymentFailed, SaleRefunded
from shared.subscriber import On

F = TypeVar("F", bound=PaymentFacts)


def _decided(
    apply: Callable[[UnitOfWork, F], Awaitable[None]],
) -> Callable[[UnitOfWork, Envelope, F], Awaitable[None]]:
    async def handler(uow: UnitOfWork, event: Envelope, payment: F) -> None:
        check_decider(event.source, payment.method)
        await apply(uow, payment)

    return handler


def events() -> list[On]:  # type: ignore[type-arg]
    """update-sale-status's events, each decision checked against who may decide it."""
    return [
        On.applying(PaymentPending, payment_pending),
        On(PaymentApproved, _decided(payment_approved)),
        On(PaymentDeclined, _decided(payment_declined)),
        On(PaymentRefunded, _decided(payment_refunded)),
    ]


async def _for_event(uow: UnitOfWork, sale_id: str) -> store.SaleRow:
    found = await store.get_sale(uow.conn, UUID(sale_id), for_update=True)
    if found is None:
        # The sale's own transaction committed before its events left: not yet.
        raise NotYet(f"Sale {sale_id} is not known here yet.")
    return found


def _same_method(found: store.SaleRow, event: PaymentFacts) -> None:
    """A decision on the sale's current attempt is about the method that attempt asked
    for: anything else decides something never asked (a fiado approval of a PIX attempt)."""
    if event.method != found.sale.payment.method:
        raise Invalid(
            f"attempt {event.attempt} of sale {event.sale_id} is paid by"
            f" {found.sale.payment.method}, not {event.method}"
        )


def _uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise Invalid(f"not a customer id: {value!r}") from None


async def payment_pending(uow: UnitOfWork, event: PaymentPending) -> None:
    found = await _for_event(uow, event.sale_id)
    if found.state.status is domain.Status.PENDING_PAYMENT and event.attempt == found.state.attempt:
        await store.save_state(
            uow.conn,
            found.sale.id,
            found.state,
            pix_txid=event.pix.txid,
            pix_payload=event.pix.payload,
        )


async def payment_approved(uow: UnitOfWork, event: PaymentApproved) -> None:
    found = await _for_event(uow, event.sale_id)
    transition = domain.on_payment_approved(found.state, event.attempt)
    if transition.emit is not Emit.PAID:
        return
    _same_method(found, event)
    details: dict[str, object] = {"payment_status": "approved", "fee_cents": event.fee_cents}
    if event.method == FIADO:
        # Whose account it went on, as the account says (its name, for the receipt).
        details["customer_name"] = event.customer_name
        if event.customer_id is not None:
            details["customer_id"] = _uuid(event.customer_id)
    if event.pix is not None:
        details.update(pix_txid=event.pix.txid, pix_payload=event.pix.payload)
    if event.change_cents is not None:
        details["change_cents"] = event.change_cents
    await store.save_state(uow.conn, found.sale.id, transition.state, **details)
    await _announce(uow, SalePaid, found, event)


async def payment_declined(uow: UnitOfWork, event: PaymentDeclined) -> None:
    found = await _for_event(uow, event.sale_id)
    transition = domain.on_payment_declined(found.state, event.attempt)
    if transition.emit is not Emit.PAYMENT_FAILED:
        return
    _same_method(found, event)
    await store.save_state(
        uow.conn,
        found.sale.id,
        transition.state,
        payment_status="declined",
        payment_reason=event.reason,
    )
    await uow.emit(
        SalePaymentFailed(sale_id=event.sale_id, attempt=event.attempt, reason=event.reason),
        subject=event.sale_id,
    )


async def payment_refunded(uow: UnitOfWork, event: PaymentRefunded) -> None:
    found = await _for_event(uow, event.sale_id)
    transition = domain.on_payment_refunded(found.state, event.attempt)
    if transition.emit is not Emit.REFUNDED:
        if found.state.status is domain.Status.CANCELLED:
            await store.save_state(uow.conn, found.sale.id, found.state, payment_status="refunded")
        return
    _same_method(found, event)
    await store.save_state(uow.conn, found.sale.id, transition.state, payment_status="refunded")
    await _announce(uow, SaleRefunded, found, event)


async def _announce(
    uow: UnitOfWork,
    kind: type[SalePaid | SaleRefunded],
    found: store.SaleRow,
    event: PaymentApproved | PaymentRefunded,
) -> None:
    """sale.paid or sale.refunded: the whole sale, for stock and the ledger."""
    await uow.emit(
        kind(
            sale_id=event.sale_id,
            seller_id=str(found.sale.seller_id),
            items=items_of(found.sale),
            total_cents=found.sale.total_cents,
            payment_method=event.method,
        ),
        subject=event.sale_id,
    )
