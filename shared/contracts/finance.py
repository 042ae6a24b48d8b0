"""The finance part of the HTTP API."""

from __future__ import annotations

from datetime import date
from typing import Literal, Self

from pydantic import Field, model_validator

from shared.contracts.catalog import Strict

ExpenseCategory = Literal[
    "aluguel", "energia", "agua", "salarios", "fornecedores", "manutencao", "impostos", "outras"
]


class ExpenseIn(Strict):
    category: ExpenseCategory
    amount_cents: int = Field(gt=0, le=1_000_000_000, strict=True)
    description: str = Field(min_length=1, max_length=200)
    occurred_on: date
    paid_with: Literal["cash", "bank"]


class CashOperationIn(Strict):
    """The drawer's float at opening, a sangria (cash out) or a suprimento (cash in)."""

    kind: Literal["opening", "sangria", "suprimento"]
    amount_cents: int = Field(ge=0, le=100_000_000, strict=True)
    reason: str | None = Field(default=None, max_length=200)
    day: date | None = None

    @model_validator(mode="after")
    def _reason(self) -> Self:
        if self.kind != "opening":
            if not self.reason:
                raise ValueError("a sangria or suprimento needs a reason")
            if self.amount_cents == 0:
                raise ValueError("amount_cents must be positive")
        return self


class CountedIn(Strict):
    cash: int = Field(ge=0, strict=True)
    pix: int = Field(default=0, ge=0, strict=True)
    debit: int = Field(default=0, ge=0, strict=True)
    credit: int = Field(default=0, ge=0, strict=True)


class CashClosingIn(Strict):
    day: date
    counted: CountedIn


# -- issue 18: the back office ----------------------------------------------------------

# The most one operation of the back office moves: R$ 10.000.000,00.
MAX_BACKOFFICE_CENTS = 1_000_000_000


class PayablePaymentIn(Strict):
    """A payment (whole or part) of a supplier's bill: Dr fornecedores / Cr caixa or banco."""

    amount_cents: int = Field(gt=0, le=MAX_BACKOFFICE_CENTS, strict=True)
    paid_with: Literal["cash", "bank"]
    paid_on: date


class SettleIn(Strict):
    """Settle every expected card settlement due up to `until` (inclusive, the shop's day)."""

    until: date


class ExpenseReversalIn(Strict):
    reason: str = Field(min_length=1, max_length=200)


class IncomeIn(Strict):
    """Income that is not a sale (a rebate, selling the fat to a renderer...): Cr outras
    receitas."""

    description: str = Field(min_length=1, max_length=200)
    amount_cents: int = Field(gt=0, le=MAX_BACKOFFICE_CENTS, strict=True)
    received_with: Literal["cash", "bank"]
    occurred_on: date
