"""Sales commands and the reaction to payment events, each in one unit of work."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from psycopg import errors

from functions.sales import (
    approvals,
    counter_lines,
    domain,
    import_store,
    returns_store,
    scale_labels,
    store,
)
from functions.sales.approvals import ApprovalVerifier
from shared.auth.principal import Principal, Role
from shared.auth.tokens import InvalidToken
from shared.contracts.sales import PaymentIn, PaymentOut, ReturnOut, SaleIn, SaleOut
from shared.db.pool import Conn
from shared.db.uow import UnitOfWork
from shared.domain_errors import Conflict, Forbidden, NotFound
from shared.events.catalog import ProductState
from shared.events.sales import (
    PaymentChoice,
    SaleCancelled,
    SaleCompleted,
    SaleItem,
    SalePaymentRequested,
)

# The operator's open till session (functions.sales.till.open_session_of), and a sale's
# returns (functions.sales.returns.returns_of): passed in by the functions' entry points,
# so that this module never imports the modules that build on it.
TillLookup = Callable[[Conn, UUID], Awaitable[UUID | None]]
# functions.sales.till.record_refund: (conn, session, method, amount, key).
TillRefund = Callable[[Conn, UUID, str, int, UUID], Awaitable[None]]
ReturnsLookup = Callable[[Conn, UUID], Awaitable[list[ReturnOut]]]
PAID_ONLY_BY_ADMIN = "só um administrador cancela uma venda paga"


def request_hash(body: SaleIn) -> str:
    """The sale as asked, without the approval: a retry carrying a fresh approval (the first
    one expired) is still the same sale."""
    asked = body.model_dump(mode="json", exclude={"discount_approval"})
    canonical = json.dumps(asked, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _choice(payment: PaymentIn) -> PaymentChoice:
    return PaymentChoice(
        method=payment.method,
        installments=payment.installments,
        cash_received_cents=payment.cash_received_cents,
        customer_id=str(payment.customer_id) if payment.customer_id else None,
    )


def items_of(sale: SaleOut) -> list[SaleItem]:
    return [
        SaleItem(
            product_id=str(i.product_id),
            name=i.name,
            quantity=i.quantity,
            unit_price_cents=i.unit_price_cents,
            total_cents=i.total_cents,
        )
        for i in sale.items
    ]


@dataclass(frozen=True)
class DiscountPolicy:
    """How much each role may take off a sale alone (percent of the subtotal; an admin has
    no limit, a role not named has none to give), and who checks an admin's approval."""

    limit_percent: Mapping[Role, int]
    verifier: ApprovalVerifier

    def limit_cents(self, role: Role, subtotal_cents: int) -> int | None:
        if role is Role.ADMIN:
            return None
        return domain.discount_limit_cents(subtotal_cents, self.limit_percent.get(role, 0))


async def _approval(
    policy: DiscountPolicy, seller: Principal, body: SaleIn, subtotal_cents: int
) -> approvals.Approval | None:
    """None when the discount is within the seller's limit; else the approving admin, or
    403 (problem+json with `code`, so the counter can ask an admin on the spot)."""
    limit = policy.limit_cents(seller.role, subtotal_cents)
    if limit is None or body.discount_cents <= limit:
        return None
    if body.discount_approval is None:
        raise Forbidden(
            f"Desconto acima do limite de {limit} centavos: precisa da aprovação de um"
            " administrador.",
            code="discount_approval_required",
            limit_cents=limit,
        )
    try:
        return await policy.verifier.verify(body.discount_approval)
    except InvalidToken as exc:
        raise Forbidden(
            f"Aprovação do desconto recusada: {exc}.", code="discount_approval_invalid"
        ) from None


async def complete_sale(
    uow: UnitOfWork,
    seller: Principal,
    key: str,
    body: SaleIn,
    mask: scale_labels.ScaleMask,
    discounts: DiscountPolicy,
    till_session_of: TillLookup | None = None,
) -> tuple[SaleOut, bool]:
    """The sale and whether it is a replay of the same Idempotency-Key. The seller's open
    till session (`till_session_of`), if any, is recorded on the sale."""
    seller_id = UUID(seller.user_id)
    digest = request_hash(body)
    earlier = await store.find_by_key(uow.conn, seller_id, key)
    if earlier is not None:
        return _replay(earlier, digest), True
    lines = [await counter_lines.priced(uow, item, mask) for item in body.items]
    sums = domain.totals([line.total_cents for line in lines], body.discount_cents)
    change = domain.check_payment(
        body.payment.method,
        sums.total_cents,
        body.payment.installments,
        body.payment.cash_received_cents,
    )
    approval = await _approval(discounts, seller, body, sums.subtotal_cents)
    if approval is not None and await store.approval_used(uow.conn, approval.jti):
        raise Forbidden("Esta aprovação já foi usada.", code="discount_approval_invalid")
    till_session = await till_session_of(uow.conn, seller_id) if till_session_of else None
    sale = SaleOut(
        id=uuid.uuid4(),
        status="pending_payment",
        seller_id=seller_id,
        attempt=1,
        created_at=datetime.now(UTC),
        subtotal_cents=sums.subtotal_cents,
        discount_cents=sums.discount_cents,
        total_cents=sums.total_cents,
        items=lines,
        payment=PaymentOut(
            method=body.payment.method,
            status="pending",
            amount_cents=sums.total_cents,
            installments=body.payment.installments,
            cash_received_cents=body.payment.cash_received_cents,
            change_cents=change,
        ),
        discount_approved_by=approval.admin_id if approval else None,
        customer_id=body.payment.customer_id,
        till_session_id=till_session,
    )
    try:
        inserted = await store.insert_sale(
            uow.conn,
            sale,
            key=key,
            request_hash=digest,
            approval_jti=approval.jti if approval else None,
        )
    except errors.UniqueViolation:
        # The same approval raced in with another sale and won: it pays for one sale only.
        raise Forbidden("Esta aprovação já foi usada.", code="discount_approval_invalid") from None
    if not inserted:
        # The same key raced in from another request and won: answer its sale.
        won = await store.find_by_key(uow.conn, seller_id, key)
        assert won is not None
        return _replay(won, digest), True
    await uow.emit(
        SaleCompleted(
            sale_id=str(sale.id),
            seller_id=str(seller_id),
            attempt=1,
            total_cents=sale.total_cents,
            payment=_choice(body.payment),
            items=items_of(sale),
            subtotal_cents=sale.subtotal_cents,
            discount_cents=sale.discount_cents,
            discount_approved_by=str(approval.admin_id) if approval else None,
        ),
        subject=str(sale.id),
    )
    return sale, False


def _replay(earlier: store.SaleRow, digest: str) -> SaleOut:
    if earlier.request_hash != digest:
        raise counter_lines.unprocessable(
            "This Idempotency-Key was already used for a different sale; use a new key."
        )
    return earlier.sale


async def _locked(uow: UnitOfWork, sale_id: UUID) -> store.SaleRow:
    found = await store.get_sale(uow.conn, sale_id, for_update=True)
    if found is None:
        raise NotFound("No such sale.")
    return found


def visible_to(principal: Principal, sale: SaleOut) -> bool:
    """A vendedor sees (and acts on) only their own sales."""
    return principal.role is not Role.VENDEDOR or str(sale.seller_id) == principal.user_id


async def retry_payment(
    uow: UnitOfWork, who: Principal, sale_id: UUID, payment: PaymentIn
) -> SaleOut:
    found = await _locked(uow, sale_id)
    if not visible_to(who, found.sale):
        raise NotFound("No such sale.")
    transition = domain.retry_payment(found.state)
    change = domain.check_payment(
        payment.method,
        found.sale.total_cents,
        payment.installments,
        payment.cash_received_cents,
    )
    await store.save_state(
        uow.conn,
        sale_id,
        transition.state,
        payment_status="pending",
        payment_reason=None,
        payment_method=payment.method,
        installments=payment.installments,
        cash_received_cents=payment.cash_received_cents,
        change_cents=change,
        pix_txid=None,
        pix_payload=None,
        fee_cents=None,
        customer_id=payment.customer_id,
        customer_name=None,
    )
    await uow.emit(
        SalePaymentRequested(
            sale_id=str(sale_id),
            seller_id=str(found.sale.seller_id),
            attempt=transition.state.attempt,
            total_cents=found.sale.total_cents,
            payment=_choice(payment),
        ),
        subject=str(sale_id),
    )
    refreshed = await store.get_sale(uow.conn, sale_id)
    assert refreshed is not None
    return refreshed.sale


async def cancel_sale(
    uow: UnitOfWork,
    who: Principal,
    sale_id: UUID,
    till_session_of: TillLookup | None = None,
    till_refund: TillRefund | None = None,
) -> None:
    """An admin cancels any sale; a vendedor only their own, and only while it is unpaid
    (a paid one is refunded: the admin's call). Another seller's sale does not exist for a
    vendedor (404), as everywhere."""
    found = await _locked(uow, sale_id)
    if not visible_to(who, found.sale):
        raise NotFound("No such sale.")
    if who.role is not Role.ADMIN and found.state.status is domain.Status.PAID:
        raise Forbidden(f"Venda paga: {PAID_ONLY_BY_ADMIN}.", code="admin_only")
    transition = domain.cancel(found.state)
    if found.state.status is domain.Status.PAID and await import_store.is_imported(
        uow.conn, sale_id
    ):
        # Paid in the old program: no acquirer here holds its money to give back.
        raise domain.SaleConflict(
            "Venda importada do sistema antigo: não se cancela; devolva os itens em Devolver itens."
        )
    if found.state.status is domain.Status.PAID and await returns_store.returned_so_far(
        uow.conn, sale_id
    ):
        # Cancelling would refund again what the returns gave back (the till, the account,
        # the acquirer): what is left goes back through returns. Both lock this sale's row.
        raise domain.SaleConflict(
            "Esta venda já tem devoluções: cancelar estornaria de novo o que já voltou;"
            " devolva o restante em Devolver itens."
        )
    await store.save_state(uow.conn, sale_id, transition.state)
    was_paid = found.state.status is domain.Status.PAID
    if was_paid and till_session_of and till_refund and found.sale.total_cents > 0:
        # The money goes back from the canceller's open drawer (fiado: to the account).
        session = await till_session_of(uow.conn, UUID(who.user_id))
        if session is not None:
            await till_refund(
                uow.conn, session, found.sale.payment.method, found.sale.total_cents, sale_id
            )
    await uow.emit(
        SaleCancelled(
            sale_id=str(sale_id),
            was_paid=was_paid,
            total_cents=found.sale.total_cents,
        ),
        subject=str(sale_id),
    )


# -- sales-query ------------------------------------------------------------------------


def with_returns(sale: SaleOut, done: list[ReturnOut]) -> SaleOut:
    return sale.model_copy(
        update={"returns": done, "returned_cents": sum(r.refund_cents for r in done)}
    )


async def sale_for(
    conn: Conn, who: Principal, sale_id: UUID, returns_of: ReturnsLookup | None = None
) -> SaleOut:
    """A sale as GET /api/sales/{id} shows it (with its returns when `returns_of` is
    given); 404 when it does not exist or is another seller's (to a vendedor)."""
    found = await store.get_sale(conn, sale_id)
    if found is None or not visible_to(who, found.sale):
        raise NotFound("No such sale.")
    if returns_of is None:
        return found.sale
    return with_returns(found.sale, await returns_of(conn, sale_id))


async def receipt_sale(
    conn: Conn, who: Principal, sale_id: UUID, returns_of: ReturnsLookup
) -> SaleOut:
    """The sale a receipt prints: only a paid one (409 otherwise), with its returns."""
    sale = await sale_for(conn, who, sale_id)
    state = domain.Status(sale.status)
    if state is not domain.Status.PAID:
        raise Conflict(
            f"Só uma venda paga tem cupom; esta está {domain.STATUS_NAMES[state]}.",
            code="sale_not_paid",
        )
    return with_returns(sale, await returns_of(conn, sale_id))


# -- product events (apply-product-to-sales) --------------------------------------------


async def apply_product(uow: UnitOfWork, state: ProductState) -> bool:
    """Keep the counter's price list; the catalogue's version orders the states (never the
    event's time, which a sender chooses). True when this state was newer and applied."""
    return await store.upsert_product(
        uow.conn,
        store.CounterProduct(
            product_id=UUID(state.product_id),
            name=state.name,
            unit=state.unit,
            price_cents=state.price_cents,
            plu=state.plu,
            barcode=state.barcode,
            active=state.active,
        ),
        state.version,
    )
