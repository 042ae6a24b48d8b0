"""Posting to the ledger from events and from the owner's entries, once per cause."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from functions.finance import domain, store
from functions.finance.domain import Posting
from shared import shop_time
from shared.contracts.finance import CashOperationIn, ExpenseIn
from shared.db.uow import UnitOfWork
from shared.domain_errors import NotYet
from shared.events.envelope import Envelope
from shared.events.finance import LedgerEntryPosted
from shared.events.inventory import MovementRegistered
from shared.events.payments import PaymentApproved, PaymentRefunded
from shared.events.sales import SaleCompleted


async def _post(uow: UnitOfWork, posting: Posting) -> str | None:
    entry_id = await store.post(uow.conn, posting, actor=uow.actor)
    if entry_id is not None:
        await uow.emit(
            LedgerEntryPosted(
                entry_id=entry_id,
                cause=posting.cause,
                cause_id=posting.cause_id,
                occurred_at=posting.occurred_at,
                amount_cents=sum(line.debit_cents for line in posting.lines),
                accounts=sorted({line.account for line in posting.lines}),
                reverses=posting.reverses,
            ),
            subject=entry_id,
        )
    return entry_id


def _when(event: Envelope) -> datetime:
    return event.time or datetime.now(UTC)


async def sale_completed(uow: UnitOfWork, sale: SaleCompleted) -> None:
    await store.remember_sale(
        uow.conn, sale.sale_id, [(i.product_id, i.total_cents, i.name) for i in sale.items]
    )


async def payment_approved(uow: UnitOfWork, event: Envelope, payment: PaymentApproved) -> None:
    items = await store.sale_items(uow.conn, payment.sale_id)
    if not items:
        # The sale's own event (its items, for revenue per cut) has not been applied yet.
        raise NotYet(f"Sale {payment.sale_id} is not known to finance yet.")
    posting = domain.payment_approved(payment, items, _when(event))
    if posting is not None:
        await _post(uow, posting)


async def payment_refunded(uow: UnitOfWork, event: Envelope, refund: PaymentRefunded) -> None:
    original = await store.posted(uow.conn, "payment.approved", refund.payment_id)
    if original is None:
        if refund.amount_cents == 0:
            return
        raise NotYet(f"Payment {refund.payment_id} has not been posted yet.")
    entry_id, posting = original
    await _post(
        uow, posting.reversal("payment.refunded", refund.payment_id, _when(event), entry_id)
    )


async def movement(uow: UnitOfWork, event: Envelope, moved: MovementRegistered) -> None:
    posting = domain.movement(moved, _when(event))
    if posting is not None:
        await _post(uow, posting)


async def expense(uow: UnitOfWork, body: ExpenseIn) -> str:
    expense_id = str(uuid.uuid4())
    posting = domain.expense(
        expense_id,
        body.category,
        body.amount_cents,
        body.description,
        body.occurred_on,
        body.paid_with,
    )
    entry_id = await _post(uow, posting)
    assert entry_id is not None
    return entry_id


async def cash_operation(uow: UnitOfWork, body: CashOperationIn, today: datetime) -> str | None:
    day = body.day or shop_time.today(today)
    if body.kind == "opening":
        await store.set_opening_cash(uow.conn, day, body.amount_cents, uow.actor)
        return None
    when = today if body.day is None else domain.noon_of(day)
    posting = domain.cash_operation(
        str(uuid.uuid4()), body.kind, body.amount_cents, body.reason or "", when
    )
    return await _post(uow, posting)
