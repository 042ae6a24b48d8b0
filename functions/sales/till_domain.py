"""The till's arithmetic and rules: pure, no I/O (till_store reads the flows, till serves).

What a drawer session should hold, per method money arrives by (cash, pix, debit, credit):

    expected = opening (cash only) + suprimentos (cash) − sangrias (cash)
               + the session's paid sales by their method (a cash sale counts its total: the
                 change went back to the customer; a fiado sale is not money at all)
               + customers' account payments received into the session, by method
               − refunds of returns paid out of the session, by method

and at closing, the difference per method is counted − expected (negative: missing money).
All integer centavos, exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from shared.domain_errors import Conflict, Invalid
from shared.vocabulary import TILL_METHODS, TillMethod

MovementKind = Literal["sangria", "suprimento"]
# The most movements one session takes: its listing carries them all.
MAX_MOVEMENTS_PER_SESSION = 500


@dataclass(frozen=True)
class Amounts:
    """An amount per method money arrives by (fiado is never one of them)."""

    cash_cents: int = 0
    pix_cents: int = 0
    debit_cents: int = 0
    credit_cents: int = 0

    @classmethod
    def of(cls, by_method: Mapping[str, int]) -> Amounts:
        """From a {method: cents} mapping; methods that are not money (fiado) are left out."""
        return cls(**{f"{m}_cents": int(by_method.get(m, 0)) for m in TILL_METHODS})

    def get(self, method: TillMethod) -> int:
        return int(getattr(self, f"{method}_cents"))

    def __add__(self, other: Amounts) -> Amounts:
        return Amounts(**{f"{m}_cents": self.get(m) + other.get(m) for m in TILL_METHODS})

    def __sub__(self, other: Amounts) -> Amounts:
        return Amounts(**{f"{m}_cents": self.get(m) - other.get(m) for m in TILL_METHODS})

    def as_dict(self) -> dict[str, int]:
        return {f"{m}_cents": self.get(m) for m in TILL_METHODS}


def by_method(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Sum (method, cents) pairs per method, every method kept (fiado too: Amounts.of
    drops it)."""
    sums: dict[str, int] = {}
    for method, cents in pairs:
        sums[method] = sums.get(method, 0) + cents
    return sums


@dataclass(frozen=True)
class Flows:
    """Everything that moved a session's drawer, as the store found it."""

    opening_cents: int
    suprimentos_cents: int = 0
    sangrias_cents: int = 0
    sales: Mapping[str, int] | None = None  # paid sales' totals by payment method (fiado too)
    customer_payments: Mapping[str, int] | None = None  # by method
    refunds: Mapping[str, int] | None = None  # by method (a fiado refund is not drawer money)


def expected(flows: Flows) -> Amounts:
    """What the drawer should hold now, per method."""
    drawer = Amounts(
        cash_cents=flows.opening_cents + flows.suprimentos_cents - flows.sangrias_cents
    )
    return (
        drawer
        + Amounts.of(flows.sales or {})
        + Amounts.of(flows.customer_payments or {})
        - Amounts.of(flows.refunds or {})
    )


def difference(counted: Amounts, expected_now: Amounts) -> Amounts:
    """Counted − expected, per method: negative when money is missing, positive when over."""
    return counted - expected_now


# -- rules ------------------------------------------------------------------------------


def check_open_for(status: str) -> None:
    """Movements and closing act on an open session only."""
    if status != "open":
        raise Conflict("Este caixa já foi fechado.", code="till_closed")


def check_movement(
    status: str, kind: MovementKind, amount_cents: int, cash_now: int, movements_so_far: int
) -> None:
    """A sangria takes out at most the cash the drawer should hold."""
    check_open_for(status)
    if amount_cents <= 0:
        raise Invalid("O valor da movimentação deve ser positivo.")
    if movements_so_far >= MAX_MOVEMENTS_PER_SESSION:
        raise Invalid(
            f"Este caixa já tem {MAX_MOVEMENTS_PER_SESSION} movimentações, o máximo de uma"
            " sessão: feche-o e abra outro.",
            code="till_movements_limit",
        )
    if kind == "sangria" and amount_cents > cash_now:
        raise Invalid(
            f"Sangria de {brl(amount_cents)} maior que o dinheiro esperado no caixa"
            f" ({brl(max(cash_now, 0))}).",
            code="sangria_exceeds_cash",
            cash_cents=cash_now,
        )


def movement_effect(kind: MovementKind, amount_cents: int) -> int:
    """A movement's effect on the expected cash."""
    return amount_cents if kind == "suprimento" else -amount_cents


def brl(cents: int) -> str:
    """R$ 1.234,56, as the cashier reads it."""
    sign = "-" if cents < 0 else ""
    reais, centavos = divmod(abs(cents), 100)
    return f"{sign}R$ {reais:,}".replace(",", ".") + f",{centavos:02d}"
