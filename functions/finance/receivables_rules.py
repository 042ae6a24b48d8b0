"""When the acquirer pays a card payment's money, free of I/O.

The ledger booked a card payment's net (amount − fee) in recebíveis de cartão when it was
approved; these rules say which days that net reaches the bank, and post it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.finance.domain import Line, Posting, noon_of
from shared.domain_errors import Invalid

CARD_METHODS = ("debit", "credit")
RECEIVABLES = "recebiveis_cartao"
BANK = "banco"
SETTLEMENT_CAUSE = "card.settlement"
# The most installments a credit sale takes (shared/events/sales.py says 12); the table
# allows up to 99, so an acquirer offering more needs only this bound raised.
MAX_INSTALLMENTS = 24


class ReceivableSettings(BaseSettings):
    """The acquirer's calendar, read when the function starts (a bad value stops it)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # A debit card's money arrives this many days after the sale (D+1).
    card_debit_settlement_days: int = Field(default=1, ge=0, le=60)
    # A credit sale's k-th installment arrives k times this many days after the sale.
    card_credit_installment_days: int = Field(default=30, ge=0, le=120)


@dataclass(frozen=True)
class Expected:
    """One settlement the acquirer owes: its day and its money."""

    installment: int
    installments: int
    expected_on: date
    gross_cents: int
    fee_cents: int
    kind: Literal["installment", "refund", "return"] = "installment"

    @property
    def net_cents(self) -> int:
        return self.gross_cents - self.fee_cents


def split(total_cents: int, parts: int) -> list[int]:
    """`total_cents` in `parts` whole centavos that add up to it exactly and differ by at
    most one: the centavos left over go to the first parts (the acquirer pays them first)."""
    if parts < 1:
        raise ValueError("split into at least one part")
    if total_cents < 0:
        raise ValueError("split a non-negative amount")
    base, left = divmod(total_cents, parts)
    return [base + (1 if k < left else 0) for k in range(parts)]


def schedule(
    method: str,
    amount_cents: int,
    fee_cents: int,
    installments: int | None,
    approved_on: date,
    settings: ReceivableSettings,
) -> list[Expected]:
    """A card payment's settlements: debit once, `card_debit_settlement_days` after the
    sale's day; credit once per installment, the k-th `k × card_credit_installment_days`
    after it. Gross and fee are each split exactly (`split`), so each part's net is the
    gross part less the fee part and the nets add up to what the ledger booked. Nothing for
    another method or a zero sale."""
    if method not in CARD_METHODS or amount_cents == 0:
        return []
    if method == "debit":
        days = settings.card_debit_settlement_days
        return [Expected(1, 1, approved_on + timedelta(days=days), amount_cents, fee_cents)]
    count = installments or 1
    if not 1 <= count <= MAX_INSTALLMENTS:
        raise Invalid(f"A credit payment in {count} installments (1 to {MAX_INSTALLMENTS}).")
    step = settings.card_credit_installment_days
    return [
        Expected(k, count, approved_on + timedelta(days=k * step), gross, fee)
        for k, (gross, fee) in enumerate(
            zip(split(amount_cents, count), split(fee_cents, count), strict=True), start=1
        )
    ]


def refund_netting(settled: list[dict[str, Any]], installments: int, on: date) -> Expected | None:
    """What a refund leaves to take back: the acquirer already paid the `settled` rows, so it
    withholds their net from a later settlement (the row is settled as any other: its
    negative net moves the money back, Dr recebíveis / Cr banco). The settled rows of
    returns count too, negative: what they took back already is not taken twice (after a
    return settled before anything was paid the row is positive: the acquirer gives it
    back). None when nothing had been paid."""
    gross = sum(int(r["gross_cents"]) for r in settled)
    fee = sum(int(r["fee_cents"]) for r in settled)
    if gross == 0 and fee == 0:
        return None
    return Expected(0, installments, on, -gross, -fee, kind="refund")


def return_take_back(refund_cents: int, installments: int, on: date) -> Expected:
    """A partial return of a card sale: the ledger credited recebíveis de cartão with what
    the return gave back (`domain.sale_returned`: sale.returned's refund_cents; the acquirer
    keeps the fee, so no fee comes back), which the acquirer will not pay: it withholds it
    from a later settlement. One negative row, due `on`, as a refund's take-back."""
    if refund_cents <= 0:
        raise ValueError("a return takes back a positive amount")
    return Expected(0, installments, on, -refund_cents, 0, kind="return")


def settlement(row: dict[str, Any]) -> Posting | None:
    """The money of one settlement reaching the bank on its day: Dr banco / Cr recebíveis
    of its net (a refund's row, negative, the other way round). None for a zero net."""
    net = int(row["net_cents"])
    if net == 0:
        return None
    into, out = (BANK, RECEIVABLES) if net > 0 else (RECEIVABLES, BANK)
    if row["kind"] == "refund":
        what = "estorno retido pela adquirente"
    elif row["kind"] == "return":
        what = "devolução retida pela adquirente"
    else:
        what = f"parcela {row['installment']}/{row['installments']}"
    return Posting(
        cause=SETTLEMENT_CAUSE,
        cause_id=str(row["id"]),
        occurred_at=noon_of(row["expected_on"]),
        description=f"Cartão ({row['method']}) liquidado, {what}, venda {str(row['sale_id'])[:8]}",
        lines=(Line(into, debit_cents=abs(net)), Line(out, credit_cents=abs(net))),
        sale_id=str(row["sale_id"]),
        payment_method=row["method"],
        meta={
            "payment_id": str(row["payment_id"]),
            "installment": row["installment"],
            "gross_cents": int(row["gross_cents"]),
            "fee_cents": int(row["fee_cents"]),
        },
    )
