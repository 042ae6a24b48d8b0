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
from shared.events.inventory import MovementRegistered
from shared.events.payments import PaymentApproved
from shared.money import allocate
from shared.shop_time import SHOP_ZONE
from shared.vocabulary import PaymentMethod

# Where each payment method's money lands (pinned by tests/unit/test_posting_rules.py).
PAYMENT_ACCOUNT: dict[PaymentMethod, str] = {
    "cash": "caixa",
    "pix": "banco",
    "debit": "recebiveis_cartao",
    "credit": "recebiveis_cartao",
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
