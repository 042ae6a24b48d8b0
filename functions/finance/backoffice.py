"""The back office's posting rules and bill figures (issue 18), free of I/O: paying a
supplier's bill, reversing an expense, other income; which receipts open a bill."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any, Literal

from functions.finance.domain import PAID_WITH_ACCOUNT, Line, Posting, PostingError, noon_of
from shared.domain_errors import Invalid
from shared.events.inventory import MovementRegistered

SUPPLIERS = PAID_WITH_ACCOUNT["payable"]
OTHER_INCOME = "outras_receitas"
# The ledger's causes of the back office's entries (UNIQUE (cause, cause_id) makes each once).
PAYABLE_PAYMENT = "payable.payment"
EXPENSE_REVERSAL = "expense.reversal"
INCOME = "income"


def opens_bill(event: MovementRegistered) -> bool:
    """A receipt credited to fornecedores a pagar (domain.movement: paid_with "payable", or
    none, as receipts were before the field) opens a bill of what it cost; one that cost
    nothing owes nothing."""
    return (
        event.kind == "receipt"
        and (event.paid_with or "payable") == "payable"
        and event.total_cost_cents != 0
    )


def bill_amount(event: MovementRegistered) -> int:
    return abs(event.total_cost_cents)


def open_cents(amount_cents: int, paid_cents: int) -> int:
    return amount_cents - paid_cents


def check_payment(amount_cents: int, paid_cents: int, paying_cents: int) -> None:
    """A payment takes at most what the bill still has open (the bill's row is locked)."""
    if paying_cents <= 0:
        raise Invalid("O valor do pagamento deve ser positivo.")
    left = open_cents(amount_cents, paid_cents)
    if paying_cents > left:
        raise Invalid(
            f"O pagamento de {paying_cents} centavos é mais do que os {left} em aberto"
            " nesta conta.",
            open_cents=left,
        )


def bill_status(amount_cents: int, paid_cents: int) -> Literal["open", "paid"]:
    return "paid" if paid_cents >= amount_cents else "open"


def overdue(due_on: date | None, amount_cents: int, paid_cents: int, today: date) -> bool:
    """Past its due date (the shop's today) and not paid; a bill without one never is."""
    return due_on is not None and due_on < today and paid_cents < amount_cents


def payable_payment(
    payment_id: str,
    bill: dict[str, Any],
    amount_cents: int,
    paid_with: Literal["cash", "bank"],
    paid_on: date,
) -> Posting:
    """Dr fornecedores a pagar / Cr caixa or banco, on the shop day it was paid: the debt
    and the money go down together; the result does not move (the receipt's cost went to
    stock, and to CMV as it sells)."""
    if amount_cents <= 0:
        raise PostingError("a payment has a positive amount")
    supplier = bill.get("supplier_name") or "fornecedor não informado"
    return Posting(
        cause=PAYABLE_PAYMENT,
        cause_id=payment_id,
        occurred_at=noon_of(paid_on),
        description=f"Pagamento a {supplier} (conta {str(bill['id'])[:8]})",
        lines=(
            Line(SUPPLIERS, debit_cents=amount_cents),
            Line(PAID_WITH_ACCOUNT[paid_with], credit_cents=amount_cents),
        ),
        meta={
            "payable_id": str(bill["id"]),
            "supplier_id": str(bill["supplier_id"]) if bill.get("supplier_id") else None,
            "movement_id": str(bill["movement_id"]),
            "paid_with": paid_with,
        },
    )


def expense_reversal(expense_entry_id: str, expense: Posting, reason: str) -> Posting:
    """The expense's entry reversed line by line, on the expense's own day: a mistyped
    expense leaves the result of its period as if it had never been posted. Its cause_id is
    the expense's entry id, so the ledger's key refuses a second reversal."""
    if expense.cause != "expense":
        raise PostingError("only an expense is reversed here")
    reversal = expense.reversal(
        EXPENSE_REVERSAL, expense_entry_id, expense.occurred_at, expense_entry_id
    )
    return replace(reversal, meta={**reversal.meta, "reason": reason})


def income(
    income_id: str,
    description: str,
    amount_cents: int,
    received_with: Literal["cash", "bank"],
    occurred_on: date,
) -> Posting:
    """Dr caixa or banco / Cr outras receitas, mid-day of its shop day (as an expense)."""
    if amount_cents <= 0:
        raise PostingError("an income has a positive amount")
    return Posting(
        cause=INCOME,
        cause_id=income_id,
        occurred_at=noon_of(occurred_on),
        description=description,
        lines=(
            Line(PAID_WITH_ACCOUNT[received_with], debit_cents=amount_cents),
            Line(OTHER_INCOME, credit_cents=amount_cents),
        ),
        meta={"received_with": received_with},
    )


def reversal_view(row: dict[str, Any]) -> dict[str, Any] | None:
    if row.get("reversal_id") is None:
        return None
    at: datetime = row["reversal_at"]
    return {
        "id": str(row["reversal_id"]),
        "reason": row["reversal_reason"],
        "at": at,
        "actor": row["reversal_actor"],
    }
