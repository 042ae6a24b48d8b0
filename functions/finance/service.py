"""Posting to the ledger from events and from the owner's entries, once per cause."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from functions.finance import domain, store
from functions.finance.domain import Posting
from shared import shop_time
from shared.contracts.finance import CashOperationIn, ExpenseIn
from shared.db.uow import UnitOfWork
from shared.domain_errors import Invalid, NotYet
from shared.events.customers import CustomerPaymentReceived
from shared.events.envelope import Envelope
from shared.events.finance import LedgerEntryPosted
from shared.events.inventory import MovementRegistered
from shared.events.payments import PaymentApproved, PaymentRefunded, check_decider
from shared.events.sales import SaleCompleted, SaleReturned
from shared.events.till import TillMovementRecorded, TillSessionClosed

log = logging.getLogger("acougue.finance")


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


async def post(uow: UnitOfWork, posting: Posting) -> str | None:
    """Post one entry and announce it (ledger.entry.posted, in the same transaction's
    outbox), once per cause. Every posting of finance goes through here: post-ledger-entry's
    other modules (corrections), payables (a bill paid) and receivables (card money
    settled), so no entry reaches the ledger unannounced."""
    return await _post(uow, posting)


def _when(event: Envelope) -> datetime:
    return event.time or datetime.now(UTC)


async def sale_completed(uow: UnitOfWork, sale: SaleCompleted) -> None:
    await store.remember_sale(
        uow.conn, sale.sale_id, [(i.product_id, i.total_cents, i.name) for i in sale.items]
    )


async def payment_approved(uow: UnitOfWork, event: Envelope, payment: PaymentApproved) -> None:
    check_decider(event.source, payment.method)  # the acquirer's or the account's, never both
    items = await store.sale_items(uow.conn, payment.sale_id)
    if not items:
        # The sale's own event (its items, for revenue per cut) has not been applied yet.
        raise NotYet(f"Sale {payment.sale_id} is not known to finance yet.")
    posting = domain.payment_approved(payment, items, _when(event))
    if posting is not None:
        await _post(uow, posting)


async def payment_refunded(uow: UnitOfWork, event: Envelope, refund: PaymentRefunded) -> None:
    check_decider(event.source, refund.method)
    original = await store.posted(uow.conn, "payment.approved", refund.payment_id)
    if original is None:
        if refund.amount_cents == 0:
            return
        raise NotYet(f"Payment {refund.payment_id} has not been posted yet.")
    entry_id, posting = original
    # What returns already gave back is not given back twice: the refund reverses the rest.
    await store.lock_sale(uow.conn, refund.sale_id)
    returns = [p for _, p in await store.posted_for_sale(uow.conn, "sale.returned", refund.sale_id)]
    rest = domain.refund_rest(
        posting, returns, "payment.refunded", refund.payment_id, _when(event), entry_id
    )
    left = posting.lines[0].debit_cents - domain.returned_cents(returns)
    if refund.amount_cents != left:  # the ledger reverses what it holds, and says so
        log.warning(
            "refund of payment %s says %s; the sale's posting less its returns leaves %s",
            refund.payment_id,
            refund.amount_cents,
            left,
        )
    if rest is not None:
        await _post(uow, rest)


async def sale_returned(uow: UnitOfWork, event: Envelope, returned: SaleReturned) -> None:
    """The reversing entry of a returned part, once per return. It follows the sale's
    payment (NotYet before it is posted); after the sale's refund it posts nothing, as that
    refund reversed everything the sale had left, this part with it."""
    if returned.refund_cents == 0:
        return
    await store.lock_sale(uow.conn, returned.sale_id)
    payments = await store.posted_for_sale(uow.conn, "payment.approved", returned.sale_id)
    if not payments:
        raise NotYet(f"Sale {returned.sale_id}'s payment has not been posted yet.")
    if await store.posted_for_sale(uow.conn, "payment.refunded", returned.sale_id):
        log.info("return %s of a refunded sale: the refund reversed it", returned.return_id)
        return
    entry_id, sale = payments[-1]
    if sale.payment_method != returned.payment_method:
        raise Invalid(
            f"Return {returned.return_id} says the sale was paid by {returned.payment_method};"
            f" the ledger has {sale.payment_method}."
        )
    earlier = [
        p
        for _, p in await store.posted_for_sale(uow.conn, "sale.returned", returned.sale_id)
        if p.cause_id != returned.return_id
    ]
    paid = sale.lines[0].debit_cents
    if domain.returned_cents(earlier) + returned.refund_cents > paid:
        raise Invalid(
            f"Return {returned.return_id} refunds {returned.refund_cents}: with the earlier"
            f" returns, more than the {paid} the sale was paid."
        )
    posting = domain.sale_returned(returned, _when(event), reverses=entry_id)
    if posting is not None:
        await _post(uow, posting)


async def customer_payment(
    uow: UnitOfWork, event: Envelope, payment: CustomerPaymentReceived
) -> None:
    await _post(uow, domain.customer_payment(payment, _when(event)))


async def till_movement(uow: UnitOfWork, event: Envelope, moved: TillMovementRecorded) -> None:
    await _post(uow, domain.till_movement(moved, _when(event)))


async def till_session_closed(uow: UnitOfWork, session: TillSessionClosed) -> None:
    """Kept for the day's cash closing; nothing to post (each sale, payment, return and
    sangria/suprimento of the session was posted when it happened)."""
    for name in ("session_id", "operator_id"):
        try:
            uuid.UUID(getattr(session, name))
        except ValueError:
            raise Invalid(f"A till session's {name} is a UUID.") from None
    await store.save_till_session(uow.conn, session)


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
