"""update-sale-status: the payment's outcome moves the sale along its states
(sales.domain's transitions), each change announced once."""

from __future__ import annotations

from uuid import UUID

from functions.sales import domain, store
from functions.sales.domain import Emit
from functions.sales.service import items_of
from shared.db.uow import UnitOfWork
from shared.domain_errors import NotYet
from shared.events.payments import PaymentApproved, PaymentDeclined, PaymentPending, PaymentRefunded
from shared.events.sales import SalePaid, SalePaymentFailed, SaleRefunded


async def _for_event(uow: UnitOfWork, sale_id: str) -> store.SaleRow:
    found = await store.get_sale(uow.conn, UUID(sale_id), for_update=True)
    if found is None:
        # The sale's own transaction committed before its events left: not yet.
        raise NotYet(f"Sale {sale_id} is not known here yet.")
    return found


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
    details: dict[str, object] = {"payment_status": "approved", "fee_cents": event.fee_cents}
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
