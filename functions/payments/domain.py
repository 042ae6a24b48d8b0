"""The simulated acquirer and bank, deterministic so that tests and demos can rely on it
(DESIGN.md, "Payment simulation")."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.money import cents

DECLINED_ENDING = 13  # debit/credit totals ending in ,13 are declined
INSUFFICIENT_FUNDS = "saldo insuficiente"


@dataclass(frozen=True)
class Decision:
    approved: bool
    reason: str | None = None
    fee_cents: int = 0
    change_cents: int | None = None


def fee(amount_cents: int, basis_points: int) -> int:
    return cents(Decimal(amount_cents) * basis_points / 10_000)


def decide_card(amount_cents: int, fee_bps: int) -> Decision:
    if amount_cents % 100 == DECLINED_ENDING:
        return Decision(False, INSUFFICIENT_FUNDS)
    return Decision(True, fee_cents=fee(amount_cents, fee_bps))


def decide_cash(amount_cents: int, received_cents: int | None) -> Decision:
    if received_cents is None or received_cents < amount_cents:
        return Decision(False, "dinheiro insuficiente")
    return Decision(True, change_cents=received_cents - amount_cents)
