"""Sales commands and the reaction to payment events, each in one unit of work."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from psycopg import errors

from functions.sales import approvals, domain, scale_labels, store
from functions.sales.approvals import ApprovalVerifier
from functions.sales.domain import Emit, SaleError
from shared.auth.principal import Principal, Role
from shared.auth.tokens import InvalidToken
from shared.contracts.catalog import valid_ean13
from shared.contracts.sales import PaymentIn, PaymentOut, SaleIn, SaleItemIn, SaleItemOut, SaleOut
from shared.db.uow import UnitOfWork
from shared.domain_errors import Forbidden, NotFound, NotYet
from shared.events.catalog import ProductState
from shared.events.payments import PaymentApproved, PaymentDeclined, PaymentPending, PaymentRefunded
from shared.events.sales import (
    PaymentChoice,
    SaleCancelled,
    SaleCompleted,
    SaleItem,
    SalePaid,
    SalePaymentFailed,
    SalePaymentRequested,
    SaleRefunded,
)


def _unprocessable(message: str, barcode: str | None = None) -> SaleError:
    """A line the counter must fix, naming the scanned barcode when it came from one (the
    POS shows it)."""
    return SaleError(message, barcode=barcode) if barcode else SaleError(message)


def request_hash(body: SaleIn) -> str:
    """The sale as asked, without the approval: a retry carrying a fresh approval (the first
    one expired) is still the same sale."""
    asked = body.model_dump(mode="json", exclude={"discount_approval"})
    canonical = json.dumps(asked, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _line(uow: UnitOfWork, item: SaleItemIn, mask: scale_labels.ScaleMask) -> SaleItemOut:
    """Price and quantity of one line, from the counter's own catalogue."""
    if item.product_id is not None:
        product = await store.product_by(uow.conn, "product_id", item.product_id)
        if product is None or not product.active:
            raise _unprocessable(f"Unknown or inactive product {item.product_id}.")
        assert item.quantity is not None
        quantity, total = item.quantity, domain.line_total(item.quantity, product.price_cents)
        barcode = None
    else:
        barcode = (item.barcode or "").strip()
        if scale_labels.is_scale_label(barcode):
            try:
                label = scale_labels.decode(barcode, mask)
            except scale_labels.LabelError as exc:
                raise _unprocessable(str(exc), barcode=barcode) from None
            product = await store.product_by(uow.conn, "plu", label.plu)
            if product is None or not product.active:
                raise _unprocessable(
                    f"Etiqueta {barcode}: nenhum produto com o PLU {label.plu}.", barcode=barcode
                )
            if label.total_cents is not None:
                total = label.total_cents  # the printed price is what the customer pays
                quantity = domain.quantity_for_price(total, product.price_cents)
            else:
                assert label.weight_grams is not None
                quantity = domain.quantity_from_grams(label.weight_grams)
                total = domain.line_total(quantity, product.price_cents)
        else:
            if not valid_ean13(barcode):
                raise _unprocessable(f"Código {barcode}: não é um EAN-13 válido.", barcode=barcode)
            product = await store.product_by(uow.conn, "barcode", barcode)
            if product is None or not product.active:
                raise _unprocessable(f"Código {barcode}: produto não cadastrado.", barcode=barcode)
            if item.quantity is None and product.unit == "kg":
                raise _unprocessable(f"Código {barcode}: informe o peso.", barcode=barcode)
            quantity = item.quantity if item.quantity is not None else Decimal(1)
            total = domain.line_total(quantity, product.price_cents)
    if quantity <= 0:
        raise _unprocessable(f"The line for {product.name} has no quantity.")
    try:
        domain.check_line_quantity(quantity)
    except SaleError as exc:
        raise _unprocessable(f"{product.name}: {exc}.", barcode=barcode) from None
    if product.unit == "un" and quantity != quantity.to_integral_value():
        raise _unprocessable(f"{product.name} is sold by unit: whole quantities only.")
    return SaleItemOut(
        product_id=product.product_id,
        name=product.name,
        unit=product.unit,
        quantity=quantity,
        unit_price_cents=product.price_cents,
        total_cents=total,
        barcode=barcode,
    )


def _choice(payment: PaymentIn) -> PaymentChoice:
    return PaymentChoice(
        method=payment.method,
        installments=payment.installments,
        cash_received_cents=payment.cash_received_cents,
    )


def _items(sale: SaleOut) -> list[SaleItem]:
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
) -> tuple[SaleOut, bool]:
    """The sale and whether it is a replay of the same Idempotency-Key."""
    seller_id = UUID(seller.user_id)
    digest = request_hash(body)
    earlier = await store.find_by_key(uow.conn, seller_id, key)
    if earlier is not None:
        return _replay(earlier, digest), True
    lines = [await _line(uow, item, mask) for item in body.items]
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
            items=_items(sale),
            subtotal_cents=sale.subtotal_cents,
            discount_cents=sale.discount_cents,
            discount_approved_by=str(approval.admin_id) if approval else None,
        ),
        subject=str(sale.id),
    )
    return sale, False


def _replay(earlier: store.SaleRow, digest: str) -> SaleOut:
    if earlier.request_hash != digest:
        raise _unprocessable(
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


async def cancel_sale(uow: UnitOfWork, sale_id: UUID) -> None:
    found = await _locked(uow, sale_id)
    transition = domain.cancel(found.state)
    await store.save_state(uow.conn, sale_id, transition.state)
    await uow.emit(
        SaleCancelled(
            sale_id=str(sale_id),
            was_paid=found.state.status is domain.Status.PAID,
            total_cents=found.sale.total_cents,
        ),
        subject=str(sale_id),
    )


# -- payment events (update-sale-status) ------------------------------------------------


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
    await uow.emit(
        SalePaid(
            sale_id=event.sale_id,
            seller_id=str(found.sale.seller_id),
            items=_items(found.sale),
            total_cents=found.sale.total_cents,
            payment_method=event.method,
        ),
        subject=event.sale_id,
    )


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
    await uow.emit(
        SaleRefunded(
            sale_id=event.sale_id,
            seller_id=str(found.sale.seller_id),
            items=_items(found.sale),
            total_cents=found.sale.total_cents,
            payment_method=event.method,
        ),
        subject=event.sale_id,
    )


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
