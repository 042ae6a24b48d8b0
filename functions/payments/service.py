"""process-payment: charge each attempt of a sale once, refund what a cancellation asks."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from uuid import UUID

from functions.payments import domain, store
from functions.payments.settings import PaymentSettings
from shared.db.uow import UnitOfWork
from shared.domain_errors import Invalid
from shared.events.envelope import Envelope
from shared.events.ownership import source_of
from shared.events.payments import (
    IMPORTER,
    FiadoRequested,
    PaymentApproved,
    PaymentDeclined,
    PaymentPending,
    PaymentRefunded,
    PixDetails,
    PixReceived,
)
from shared.events.sales import PaymentRequest, SaleCancelled
from shared.pix import PixCharge, build_payload

CANCELLED_SALE = "venda cancelada"


def pix_txid(sale_id: UUID, attempt: int) -> str:
    """25 alphanumerics, unique per sale and attempt (the BR Code's field 62/05)."""
    return f"{sale_id.hex[:21]}T{attempt:03d}"


def _facts(p: store.PaymentRow) -> dict[str, object]:
    return {
        "payment_id": str(p.id),
        "sale_id": str(p.sale_id),
        "attempt": p.attempt,
        "method": p.method,
        "amount_cents": p.amount_cents,
    }


def _pix(p: store.PaymentRow) -> PixDetails | None:
    if p.pix_txid and p.pix_payload:
        return PixDetails(txid=p.pix_txid, payload=p.pix_payload)
    return None


async def _approve(uow: UnitOfWork, p: store.PaymentRow) -> None:
    await store.set_status(uow.conn, p.id, "approved")
    await uow.emit(
        PaymentApproved(
            **_facts(p),
            fee_cents=p.fee_cents,
            installments=p.installments,
            cash_received_cents=p.cash_received_cents,
            change_cents=p.change_cents,
            pix=_pix(p),
        ),
        subject=str(p.sale_id),
    )


def paid_elsewhere(event: Envelope) -> bool:
    """A sale imported from the old program (issue 18) was paid there: import-sales reports
    that payment itself, so its sale.completed is charged nothing here (a charge would
    approve it twice, and the ledger would count its revenue twice)."""
    return event.source == source_of(IMPORTER)


async def charge(uow: UnitOfWork, request: PaymentRequest, settings: PaymentSettings) -> None:
    sale_id = UUID(request.sale_id)
    if await store.is_cancelled(uow.conn, sale_id):
        return  # cancelled at the counter before the charge arrived: charge nothing
    choice = request.payment
    amount = request.total_cents
    row = store.PaymentRow(
        id=uuid.uuid4(),
        sale_id=sale_id,
        attempt=request.attempt,
        method=choice.method,
        amount_cents=amount,
        installments=choice.installments,
        cash_received_cents=choice.cash_received_cents,
        change_cents=None,
        fee_cents=0,
        status="pending",
        reason=None,
        pix_txid=None,
        pix_payload=None,
    )
    if choice.method == "fiado":
        await _hand_to_account(uow, request, row)
        return
    if choice.method == "pix":
        txid = pix_txid(sale_id, request.attempt)
        payload = build_payload(
            PixCharge(
                key=settings.pix_key,
                merchant_name=settings.pix_merchant_name,
                merchant_city=settings.pix_merchant_city,
                amount_cents=amount,
                txid=txid,
            )
        )
        row = replace(row, pix_txid=txid, pix_payload=payload)
        delay = timedelta(seconds=settings.pix_confirm_delay_seconds)
        if not await store.insert(uow.conn, row, confirm_after=delay):
            return  # this attempt was charged already
        pix = _pix(row)
        assert pix is not None
        await uow.emit(PaymentPending(**_facts(row), pix=pix), subject=request.sale_id)
        if settings.pix_confirm_delay_seconds == 0:
            await _approve(uow, row)
        else:
            await _schedule_bank_notice(uow, row, delay)
        return
    if choice.method == "cash":
        decision = domain.decide_cash(amount, choice.cash_received_cents)
    else:
        bps = settings.debit_fee_bps if choice.method == "debit" else settings.credit_fee_bps
        decision = domain.decide_card(amount, bps)
    row = replace(
        row,
        status="approved" if decision.approved else "declined",
        reason=decision.reason,
        fee_cents=decision.fee_cents,
        change_cents=decision.change_cents,
    )
    if not await store.insert(uow.conn, row, confirm_after=None):
        return
    if decision.approved:
        await _approve(uow, row)
    else:
        await uow.emit(
            PaymentDeclined(**_facts(row), reason=decision.reason or "recusado"),
            subject=request.sale_id,
        )


async def _hand_to_account(uow: UnitOfWork, request: PaymentRequest, row: store.PaymentRow) -> None:
    """Fiado charges nothing here: the attempt is recorded once (its payment_id) and handed
    to the customer's account (charge-account), whose payment.approved or .declined decides
    it. A redelivery of the same attempt hands nothing twice."""
    customer = request.payment.customer_id
    if customer is None:
        raise Invalid("a fiado payment names its customer_id")
    try:
        customer_id = UUID(customer)
    except ValueError:
        raise Invalid(f"not a customer id: {customer!r}") from None
    row = replace(row, customer_id=customer_id)
    if not await store.insert(uow.conn, row, confirm_after=None):
        return  # this attempt was handed over already
    await uow.emit(
        FiadoRequested(**_facts(row), seller_id=request.seller_id, customer_id=str(customer_id)),
        subject=request.sale_id,
    )


async def cancel(uow: UnitOfWork, event: SaleCancelled) -> None:
    """Refund what was approved; drop a PIX charge still waiting. Once per sale. Fiado
    attempts are the customer's account's to settle: charge-account hears the same
    sale.cancelled and gives the amount back to the account (or declines what it had not
    decided yet)."""
    sale_id = UUID(event.sale_id)
    await store.mark_cancelled(uow.conn, sale_id)
    for p in await store.approved_of_sale(uow.conn, sale_id):
        await store.set_status(uow.conn, p.id, "refunded")
        await uow.emit(
            PaymentRefunded(**_facts(p), fee_cents=p.fee_cents),
            subject=event.sale_id,
        )
    for p in await store.pending_of_sale(uow.conn, sale_id):
        await store.set_status(uow.conn, p.id, "declined")
        await uow.emit(
            PaymentDeclined(**_facts(p), reason=CANCELLED_SALE),
            subject=event.sale_id,
        )


async def _schedule_bank_notice(uow: UnitOfWork, p: store.PaymentRow, delay: timedelta) -> None:
    """The simulated bank pays after `delay`: its notice waits in the outbox until due.

    Its own aggregate, so the sale's other events (a cancellation) never wait behind it.
    """
    assert p.pix_txid is not None
    await uow.emit(
        PixReceived(
            payment_id=str(p.id),
            sale_id=str(p.sale_id),
            attempt=p.attempt,
            txid=p.pix_txid,
            amount_cents=p.amount_cents,
        ),
        subject=str(p.sale_id),
        aggregate=f"pix:{p.pix_txid}",
        not_before=delay,
    )


async def pix_received(uow: UnitOfWork, notice: PixReceived) -> None:
    """The bank says the charge was paid: approve it if it is still waiting."""
    p = await store.lock(uow.conn, UUID(notice.payment_id))
    if p is None or p.pix_txid != notice.txid or p.amount_cents != notice.amount_cents:
        raise UnknownCharge(f"no PIX charge {notice.txid} of {notice.amount_cents} centavos")
    if p.status != "pending":
        return  # declined by a cancellation, or approved already
    if await store.is_cancelled(uow.conn, p.sale_id):
        await store.set_status(uow.conn, p.id, "declined")
        return
    await _approve(uow, p)


class UnknownCharge(Invalid):
    """A bank notice for a charge this shop never made: never applicable."""
