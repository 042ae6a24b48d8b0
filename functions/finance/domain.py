"""Double-entry posting rules, free of I/O: which accounts each business fact moves.

Every posting balances (debits = credits) before it reaches the database, which checks
again at commit. Entries are never changed; a refund or correction is a reversal.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from shared.contracts.finance import ExpenseCategory
from shared.domain_errors import Invalid
from shared.events.customers import CustomerPaymentReceived
from shared.events.inventory import MovementRegistered
from shared.events.payments import PaymentApproved
from shared.events.sales import SaleReturned
from shared.events.till import TillMovementRecorded
from shared.money import allocate
from shared.shop_time import SHOP_ZONE
from shared.vocabulary import PaymentMethod

# What the shop's customers owe it on their accounts (fiado).
CUSTOMER_RECEIVABLES = "clientes_a_receber"
REVENUE = "receita_vendas"
# Where each payment method's money lands (pinned by tests/unit/test_posting_rules.py). A
# fiado sale brings no money in: what lands is the customer's debt, paid later
# (customer_payment) by one of the other methods.
PAYMENT_ACCOUNT: dict[PaymentMethod, str] = {
    "cash": "caixa",
    "pix": "banco",
    "debit": "recebiveis_cartao",
    "credit": "recebiveis_cartao",
    "fiado": CUSTOMER_RECEIVABLES,
}
PAID_WITH_ACCOUNT = {"cash": "caixa", "bank": "banco", "payable": "fornecedores_a_pagar"}


class PostingError(Invalid):
    """A posting that would not balance or makes no sense; never written."""


@dataclass(frozen=True)
class Line:
    account: str
    debit_cents: int = 0
    credit_cents: int = 0
    product_id: str | None = None

    def reversed(self) -> Line:
        return replace(self, debit_cents=self.credit_cents, credit_cents=self.debit_cents)


@dataclass(frozen=True)
class Posting:
    cause: str
    cause_id: str
    occurred_at: datetime
    description: str
    lines: tuple[Line, ...]
    sale_id: str | None = None
    payment_method: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    reverses: str | None = None

    def __post_init__(self) -> None:
        if len(self.lines) < 2:
            raise PostingError("a posting needs at least two lines")
        for line in self.lines:
            if line.debit_cents < 0 or line.credit_cents < 0:
                raise PostingError("amounts are positive; the side says debit or credit")
            if (line.debit_cents == 0) == (line.credit_cents == 0):
                raise PostingError("each line is either a debit or a credit")
        debits = sum(line.debit_cents for line in self.lines)
        credits = sum(line.credit_cents for line in self.lines)
        if debits != credits:
            raise PostingError(f"debits {debits} and credits {credits} differ")

    def reversal(self, cause: str, cause_id: str, occurred_at: datetime, entry_id: str) -> Posting:
        return Posting(
            cause=cause,
            cause_id=cause_id,
            occurred_at=occurred_at,
            description=f"Estorno: {self.description}",
            lines=tuple(line.reversed() for line in self.lines),
            sale_id=self.sale_id,
            payment_method=self.payment_method,
            meta=dict(self.meta),
            reverses=entry_id,
        )


def payment_approved(
    event: PaymentApproved, items: list[tuple[str, int]], occurred_at: datetime
) -> Posting | None:
    """Money in: Dr caixa/banco/recebíveis, Cr receita de vendas split per cut; the card
    fee as an expense against the receivable. None for a zero sale."""
    amount = event.amount_cents
    if amount == 0:
        return None
    weights = [Decimal(total) for _, total in items]
    if items and sum(weights) > 0:
        parts = allocate(amount, weights)
        revenue = [
            Line("receita_vendas", credit_cents=part, product_id=product_id)
            for (product_id, _), part in zip(items, parts, strict=True)
            if part
        ]
    else:
        revenue = [Line("receita_vendas", credit_cents=amount)]
    lines = [Line(PAYMENT_ACCOUNT[event.method], debit_cents=amount), *revenue]
    if event.fee_cents:
        lines += [
            Line("taxas_cartao", debit_cents=event.fee_cents),
            Line("recebiveis_cartao", credit_cents=event.fee_cents),
        ]
    meta = {
        k: v
        for k, v in {
            "payment_id": event.payment_id,
            "attempt": event.attempt,
            "fee_cents": event.fee_cents,
            "installments": event.installments,
            "cash_received_cents": event.cash_received_cents,
            "change_cents": event.change_cents,
        }.items()
        if v is not None
    }
    return Posting(
        cause="payment.approved",
        cause_id=event.payment_id,
        occurred_at=occurred_at,
        description=f"Venda {event.sale_id[:8]} paga ({event.method})",
        lines=tuple(lines),
        sale_id=event.sale_id,
        payment_method=event.method,
        meta=meta,
    )


def movement(event: MovementRegistered, occurred_at: datetime) -> Posting | None:
    """Stock at cost: CMV on a sale, its reversal on a refund, the asset on a receipt,
    losses and count differences. A desossa moves value between cuts inside the
    inventory account, which changes no balance: it posts nothing."""
    value = abs(event.total_cost_cents)
    if value == 0 or event.kind in ("breakdown_in", "breakdown_out"):
        return None
    product = event.product_id
    debit: Line
    credit: Line
    if event.kind == "sale":
        debit, credit = (
            Line("cmv", debit_cents=value, product_id=product),
            Line("estoque", credit_cents=value),
        )
        text = "CMV da venda"
    elif event.kind == "refund":
        debit, credit = (
            Line("estoque", debit_cents=value),
            Line("cmv", credit_cents=value, product_id=product),
        )
        text = "Estorno de CMV (devolução)"
    elif event.kind == "receipt":
        account = PAID_WITH_ACCOUNT[event.paid_with or "payable"]
        debit, credit = Line("estoque", debit_cents=value), Line(account, credit_cents=value)
        text = "Entrada de mercadoria"
    elif event.kind == "loss":
        debit, credit = (
            Line("perdas_estoque", debit_cents=value),
            Line("estoque", credit_cents=value),
        )
        text = f"Perda de estoque ({event.reason or 'sem motivo'})"
    elif event.kind == "count" and event.quantity > 0:
        debit, credit = (
            Line("estoque", debit_cents=value),
            Line("perdas_estoque", credit_cents=value),
        )
        text = "Ajuste de inventário (sobra)"
    elif event.kind == "count":
        debit, credit = (
            Line("perdas_estoque", debit_cents=value),
            Line("estoque", credit_cents=value),
        )
        text = "Ajuste de inventário (falta)"
    else:  # pragma: no cover - the event contract lists every kind
        raise PostingError(f"unknown movement kind {event.kind}")
    return Posting(
        cause="inventory.movement",
        cause_id=event.movement_id,
        occurred_at=occurred_at,
        description=text,
        lines=(debit, credit),
        sale_id=event.cause.id if event.cause.type == "sale" else None,
        meta={"product_id": product, "kind": event.kind, "quantity": str(event.quantity)},
    )


def noon_of(day: date) -> datetime:
    """A date-only fact (an expense's day) sits mid-day in the shop's time zone."""
    return datetime.combine(day, time(12), SHOP_ZONE)


def expense(
    expense_id: str,
    category: ExpenseCategory,
    amount_cents: int,
    description: str,
    occurred_on: date,
    paid_with: Literal["cash", "bank"],
) -> Posting:
    if amount_cents <= 0:
        raise PostingError("an expense has a positive amount")
    return Posting(
        cause="expense",
        cause_id=expense_id,
        occurred_at=noon_of(occurred_on),
        description=description,
        lines=(
            Line(f"despesa_{category}", debit_cents=amount_cents),
            Line(PAID_WITH_ACCOUNT[paid_with], credit_cents=amount_cents),
        ),
        meta={"category": category, "paid_with": paid_with},
    )


def cash_operation(
    operation_id: str,
    kind: Literal["sangria", "suprimento"],
    amount_cents: int,
    reason: str,
    occurred_at: datetime,
) -> Posting:
    """Sangria takes cash out of the drawer (to the bank); suprimento brings change in."""
    if amount_cents <= 0:
        raise PostingError("a cash operation has a positive amount")
    drawer_out = kind == "sangria"
    return Posting(
        cause=kind,
        cause_id=operation_id,
        occurred_at=occurred_at,
        description=f"{'Sangria' if drawer_out else 'Suprimento'}: {reason}",
        lines=(
            Line("banco" if drawer_out else "caixa", debit_cents=amount_cents),
            Line("caixa" if drawer_out else "banco", credit_cents=amount_cents),
        ),
        meta={"reason": reason},
    )


# -- issue 17: the customer's account, returns and the operators' tills ----------------------


def customer_payment(event: CustomerPaymentReceived, occurred_at: datetime) -> Posting:
    """A customer pays (part of) their account: the money lands where its method's does
    (Dr caixa, banco or recebíveis de cartão), the debt goes down (Cr clientes a receber).
    Not revenue: that was recognised when the fiado sale was made. The entry carries the
    method, so the day's cash closing counts the money with the method it came by."""
    return Posting(
        cause="customer.payment_received",
        cause_id=event.payment_id,
        occurred_at=occurred_at,
        description=f"Recebimento de fiado, cliente {event.customer_id[:8]} ({event.method})",
        lines=(
            Line(PAYMENT_ACCOUNT[event.method], debit_cents=event.amount_cents),
            Line(CUSTOMER_RECEIVABLES, credit_cents=event.amount_cents),
        ),
        payment_method=event.method,
        meta={"customer_id": event.customer_id, "received_by": event.received_by},
    )


def _returned_per_product(event: SaleReturned) -> dict[str, int]:
    refunds: dict[str, int] = {}
    for item in event.items:
        refunds[item.product_id] = refunds.get(item.product_id, 0) + item.refund_cents
    return refunds


def sale_returned(
    event: SaleReturned, occurred_at: datetime, *, reverses: str | None = None
) -> Posting | None:
    """Part of a paid sale came back: the reversing entry of exactly that part. Dr receita
    de vendas per cut (each item's refund), Cr the account the sale's money landed in
    (PAYMENT_ACCOUNT of its method; fiado: clientes a receber, the customer's account goes
    down). The money line comes first, as a payment's does (the cash closing reads it there).

    The card fee is not given back: the acquirer keeps it on a partial refund, so the fee's
    expense of the sale's posting stays where it is (only a cancellation, which reverses
    everything left of the sale, takes it back). The stock's CMV comes back from
    inventory's own movement (kind "refund"), as for a cancellation. None when the part
    refunds nothing (a zero sale)."""
    refunds = _returned_per_product(event)
    total = sum(refunds.values())
    if total != event.refund_cents:
        raise PostingError(
            f"the returned items refund {total}, the return says {event.refund_cents}"
        )
    if total == 0:
        return None
    return Posting(
        cause="sale.returned",
        cause_id=event.return_id,
        occurred_at=occurred_at,
        description=f"Devolução parcial da venda {event.sale_id[:8]} ({event.payment_method})",
        lines=(
            Line(PAYMENT_ACCOUNT[event.payment_method], credit_cents=total),
            *(
                Line(REVENUE, debit_cents=cents, product_id=product)
                for product, cents in refunds.items()
                if cents
            ),
        ),
        sale_id=event.sale_id,
        payment_method=event.payment_method,
        meta={
            k: v
            for k, v in {
                "return_id": event.return_id,
                "reason": event.reason,
                "customer_id": event.customer_id,
                "till_session_id": event.till_session_id,
                "items": [
                    {
                        "product_id": i.product_id,
                        "quantity": str(i.quantity),
                        "refund_cents": i.refund_cents,
                    }
                    for i in event.items
                ],
            }.items()
            if v is not None
        },
        reverses=reverses,
    )


def returned_cents(returns: list[Posting]) -> int:
    """What returns gave back so far: the credits of their money lines."""
    return sum(r.lines[0].credit_cents for r in returns)


def refund_rest(
    sale: Posting,
    returns: list[Posting],
    cause: str,
    cause_id: str,
    occurred_at: datetime,
    entry_id: str,
) -> Posting | None:
    """A cancellation's refund after returns: the reversal of what is left of the sale's
    posting. The money line is reversed less what the returns gave back; each cut's
    revenue less what the returns took back from it (a centavo a return split otherwise
    than the sale may leave a cut a centavo over or under: it is reversed on whichever side
    it stands, and the entry still balances); every other line (the card fee) in full, as
    the plain reversal does. Sale, returns and this rest together net every account, and
    each cut's revenue, to zero. With no returns it is exactly `sale.reversal`; None when
    nothing is left to reverse."""
    if not returns:
        return sale.reversal(cause, cause_id, occurred_at, entry_id)
    money, *others = sale.lines
    revenue: dict[str | None, int] = {}  # net credit still standing per cut
    fee_lines = []
    for line in others:
        if line.account == REVENUE:
            revenue[line.product_id] = revenue.get(line.product_id, 0) + line.credit_cents
            revenue[line.product_id] -= line.debit_cents
        else:
            fee_lines.append(line.reversed())
    for posted in returns:
        for line in posted.lines[1:]:
            revenue[line.product_id] = revenue.get(line.product_id, 0) + line.credit_cents
            revenue[line.product_id] -= line.debit_cents
    rest = money.debit_cents - money.credit_cents - returned_cents(returns)
    lines: list[Line] = []
    if rest:
        lines.append(replace(money, debit_cents=max(-rest, 0), credit_cents=max(rest, 0)))
    lines += [
        Line(REVENUE, debit_cents=max(net, 0), credit_cents=max(-net, 0), product_id=product)
        for product, net in revenue.items()
        if net
    ]
    lines += fee_lines
    if len(lines) < 2:
        return None
    return Posting(
        cause=cause,
        cause_id=cause_id,
        occurred_at=occurred_at,
        description=f"Estorno do restante: {sale.description}",
        lines=tuple(lines),
        sale_id=sale.sale_id,
        payment_method=sale.payment_method,
        meta={**sale.meta, "returned_cents": returned_cents(returns)},
        reverses=entry_id,
    )


def till_movement(event: TillMovementRecorded, occurred_at: datetime) -> Posting:
    """An operator's sangria or suprimento, posted as the day's cash operations are
    (cash_operation), once per movement; the entry names the session and operator."""
    posting = cash_operation(
        event.movement_id, event.kind, event.amount_cents, event.reason, occurred_at
    )
    return replace(
        posting,
        meta={
            **posting.meta,
            "session_id": event.session_id,
            "operator_id": event.operator_id,
        },
    )
