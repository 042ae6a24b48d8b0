"""The customers domain's commands and its reactions to events, each in one unit of work."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from functions.customers import domain, store
from shared import shop_time
from shared.auth.principal import Principal
from shared.contracts.customers import (
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    CustomerPaymentIn,
    CustomerPaymentOut,
    StatementOut,
)
from shared.db.uow import UnitOfWork
from shared.domain_errors import Invalid, NotFound
from shared.events.customers import CustomerPaymentReceived
from shared.events.payments import (
    FiadoRequested,
    PaymentApproved,
    PaymentDeclined,
    PaymentRefunded,
)
from shared.events.sales import SaleCancelled, SaleReturned
from shared.subscriber import On

FIADO = "fiado"
# A statement lists at most this many entries (the latest of the period).
MAX_STATEMENT_ENTRIES = 1000
NO_SUCH_CUSTOMER = "Cliente não encontrado."


# -- manage-customer ---------------------------------------------------------------------


async def create_customer(uow: UnitOfWork, who: Principal, body: CustomerIn) -> CustomerOut:
    domain.check_create(who.role, body.model_fields_set)
    customer = store.CustomerRow(
        id=uuid.uuid4(),
        name=body.name,
        phone=body.phone,
        cpf=body.cpf,
        credit_limit_cents=domain.credit_limit(body.credit_limit_cents),
        balance_cents=0,
        active=True,
        created_at=datetime.now(UTC),
    )
    await store.insert_customer(uow.conn, customer)
    return customer.out()


async def update_customer(
    uow: UnitOfWork, who: Principal, customer_id: UUID, patch: CustomerPatch
) -> CustomerOut:
    domain.check_patch(who.role, patch)
    current = await store.lock_customer(uow.conn, customer_id)
    if current is None:
        raise NotFound(NO_SUCH_CUSTOMER)
    fields = patch.model_fields_set
    updated = store.CustomerRow(
        id=current.id,
        name=patch.name if "name" in fields and patch.name else current.name,
        phone=patch.phone if "phone" in fields else current.phone,
        cpf=current.cpf,
        credit_limit_cents=(
            patch.credit_limit_cents
            if patch.credit_limit_cents is not None
            else current.credit_limit_cents
        ),
        balance_cents=current.balance_cents,
        active=patch.active if patch.active is not None else current.active,
        created_at=current.created_at,
    )
    if updated != current:
        await store.update_customer(uow.conn, updated)
    return updated.out()


# -- customers-query ---------------------------------------------------------------------


def period(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """[since, until) of the shop's days `first`..`last` (both included), in UTC."""
    if first is not None and last is not None and first > last:
        raise Invalid("o período começa depois de terminar (from > to)")
    since = shop_time.start_of(first) if first else None
    until = shop_time.start_of(last + timedelta(days=1)) if last else None
    return since, until


async def statement(
    uow: UnitOfWork, customer_id: UUID, first: date | None, last: date | None
) -> StatementOut:
    since, until = period(first, last)
    customer = await store.get_customer(uow.conn, customer_id)
    if customer is None:
        raise NotFound(NO_SUCH_CUSTOMER)
    found = await store.entries(
        uow.conn, customer_id, since=since, until=until, limit=MAX_STATEMENT_ENTRIES
    )
    return StatementOut(
        customer_id=customer.id,
        name=customer.name,
        balance_cents=customer.balance_cents,
        credit_limit_cents=customer.credit_limit_cents,
        available_cents=domain.available_cents(customer.credit_limit_cents, customer.balance_cents),
        entries=found,
    )


# -- receive-customer-payment ------------------------------------------------------------


def _request_hash(body: CustomerPaymentIn) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def receive_payment(
    uow: UnitOfWork,
    who: Principal,
    customer_id: UUID,
    body: CustomerPaymentIn,
    key: str | None = None,
) -> tuple[CustomerPaymentOut, bool]:
    """The account goes down by what the customer paid, never below 0; the news of it
    (for the till and the ledger) commits with it. With an Idempotency-Key, the same
    payment sent again (a lost answer) answers the payment made, and whether it is that
    replay; the same key with another amount or method is refused."""
    customer = await store.lock_customer(uow.conn, customer_id)
    if customer is None:
        raise NotFound(NO_SUCH_CUSTOMER)
    digest = _request_hash(body)
    if key is not None:
        earlier = await store.payment_by_key(uow.conn, customer_id, key)
        if earlier is not None:
            if earlier.request_hash != digest:
                raise Invalid(
                    "Esta Idempotency-Key já foi usada para outro pagamento deste cliente;"
                    " use uma nova."
                )
            replayed = CustomerPaymentOut(
                payment_id=earlier.payment_id,
                customer_id=customer_id,
                amount_cents=earlier.amount_cents,
                method=body.method,
                balance_cents=customer.balance_cents,
            )
            return replayed, True
    balance = domain.after_payment(customer.balance_cents, body.amount_cents)
    payment_id = uuid.uuid4()
    await store.insert_payment(
        uow.conn,
        payment_id=payment_id,
        customer_id=customer_id,
        amount_cents=body.amount_cents,
        method=body.method,
        received_by=who.user_id,
        idempotency_key=key,
        request_hash=digest,
    )
    await store.add_entry(
        uow.conn,
        entry_id=payment_id,
        customer_id=customer_id,
        kind="payment",
        sale_id=None,
        amount_cents=-body.amount_cents,
        balance_after_cents=balance,
    )
    await uow.emit(
        CustomerPaymentReceived(
            payment_id=str(payment_id),
            customer_id=str(customer_id),
            amount_cents=body.amount_cents,
            method=body.method,
            received_by=who.user_id,
        ),
        subject=str(customer_id),
    )
    made = CustomerPaymentOut(
        payment_id=payment_id,
        customer_id=customer_id,
        amount_cents=body.amount_cents,
        method=body.method,
        balance_cents=balance,
    )
    return made, False


# -- charge-account ----------------------------------------------------------------------


def _facts(c: store.ChargeRow, amount_cents: int | None = None) -> dict[str, object]:
    return {
        "payment_id": str(c.payment_id),
        "sale_id": str(c.sale_id),
        "attempt": c.attempt,
        "method": FIADO,
        "amount_cents": c.amount_cents if amount_cents is None else amount_cents,
    }


def _customer_id(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


def _sale_id(text: str) -> UUID:
    """The sale an event names; an event naming no sale is dead-lettered (422), not retried."""
    try:
        return UUID(text)
    except ValueError:
        raise Invalid(f"not a sale id: {text[:60]!r}") from None


def _payment_id(asked: str) -> uuid.UUID:
    """The charge keeps process-payment's id for the attempt, so the decision, its refund
    and the acquirer's record of the attempt name the same payment."""
    try:
        return uuid.UUID(asked)
    except ValueError:
        return uuid.uuid4()


async def charge(uow: UnitOfWork, request: FiadoRequested) -> None:
    """Decide one fiado attempt against the customer's limit, once per (sale, attempt):
    the customer's row is locked first, so concurrent charges decide one after another."""
    domain.check_charge(request.amount_cents, request.attempt)
    sale_id = _sale_id(request.sale_id)
    await store.lock_sale(uow.conn, sale_id)
    if await store.charge_decided(uow.conn, sale_id, request.attempt):
        return  # delivered again (perhaps under another event id)
    customer_id = _customer_id(request.customer_id)
    customer = await store.lock_customer(uow.conn, customer_id) if customer_id else None
    if await store.is_cancelled(uow.conn, sale_id):
        decision = domain.Decision(False, domain.CANCELLED_SALE)
    else:
        decision = domain.decide_fiado(customer.account if customer else None, request.amount_cents)
    row = store.ChargeRow(
        payment_id=_payment_id(request.payment_id),
        sale_id=sale_id,
        attempt=request.attempt,
        customer_id=customer_id or uuid.UUID(int=0),
        amount_cents=request.amount_cents,
        status="approved" if decision.approved else "declined",
        reason=decision.reason,
        returned_cents=0,
    )
    if not await store.insert_charge(uow.conn, row):
        return
    if not decision.approved or customer is None:
        await uow.emit(
            PaymentDeclined(**_facts(row), reason=decision.reason or domain.OVER_LIMIT),
            subject=request.sale_id,
        )
        return
    if request.amount_cents > 0:  # a sale of R$ 0,00 leaves the account as it was
        await store.add_entry(
            uow.conn,
            entry_id=row.payment_id,
            customer_id=customer.id,
            kind="sale",
            sale_id=sale_id,
            amount_cents=request.amount_cents,
            balance_after_cents=domain.after_charge(customer.balance_cents, request.amount_cents),
        )
    await uow.emit(
        PaymentApproved(
            **_facts(row),
            fee_cents=0,
            customer_id=str(customer.id),
            customer_name=customer.name,
        ),
        subject=request.sale_id,
    )


async def cancel(uow: UnitOfWork, event: SaleCancelled) -> None:
    """Give back to the account what an approved fiado charge of the sale still holds (a
    return may have given part back already), and refuse any later charge of the sale."""
    sale_id = _sale_id(event.sale_id)
    await store.lock_sale(uow.conn, sale_id)
    await store.mark_cancelled(uow.conn, sale_id)
    for c in await store.approved_charges(uow.conn, sale_id):
        refund = domain.refundable_cents(c.amount_cents, c.returned_cents)
        await store.set_charge(
            uow.conn, c.payment_id, status="refunded", returned_cents=c.amount_cents
        )
        if refund > 0:
            await _refund(uow, c.customer_id, sale_id, refund)
        await uow.emit(PaymentRefunded(**_facts(c, refund), fee_cents=0), subject=event.sale_id)


async def sale_returned(uow: UnitOfWork, event: SaleReturned) -> None:
    """A returned part of a fiado sale goes back to the customer's account, once per return;
    returns of sales paid another way are not this domain's."""
    if event.payment_method != FIADO:
        return
    sale_id = _sale_id(event.sale_id)
    try:
        return_id = UUID(event.return_id)
    except ValueError:
        raise Invalid(f"not a return id: {event.return_id[:60]!r}") from None
    await store.lock_sale(uow.conn, sale_id)
    if await store.return_recorded(uow.conn, return_id):
        return  # delivered again (perhaps under another event id, after a cancellation)
    charges = await store.approved_charges(uow.conn, sale_id)
    if not charges:
        raise Invalid(f"a venda {event.sale_id} não tem fiado aprovado a devolver")
    charge_row = charges[-1]
    if event.customer_id is not None and _customer_id(event.customer_id) != charge_row.customer_id:
        raise Invalid("a devolução nomeia outro cliente que o da venda")
    await store.insert_return(
        uow.conn,
        return_id=return_id,
        sale_id=sale_id,
        payment_id=charge_row.payment_id,
        amount_cents=event.refund_cents,
    )
    returned = domain.returnable(
        charge_row.amount_cents, charge_row.returned_cents, event.refund_cents
    )
    await store.set_charge(
        uow.conn, charge_row.payment_id, status="approved", returned_cents=returned
    )
    if event.refund_cents > 0:
        await _refund(uow, charge_row.customer_id, sale_id, event.refund_cents)


async def _refund(uow: UnitOfWork, customer_id: UUID, sale_id: UUID, amount_cents: int) -> None:
    customer = await store.lock_customer(uow.conn, customer_id)
    if customer is None:  # a charge is approved only for a known customer
        raise Invalid(f"cliente {customer_id} desconhecido")
    await store.add_entry(
        uow.conn,
        entry_id=uuid.uuid4(),
        customer_id=customer_id,
        kind="refund",
        sale_id=sale_id,
        amount_cents=-amount_cents,
        balance_after_cents=domain.after_refund(customer.balance_cents, amount_cents),
    )


def events() -> list[On[Any]]:
    """What charge-account applies."""
    return [
        On.applying(FiadoRequested, charge),
        On.applying(SaleCancelled, cancel),
        On.applying(SaleReturned, sale_returned),
    ]
