"""A stock count values its difference at the product's average cost, both ways: a
surplus comes into stock at the average (Dr estoque, Cr perdas_estoque), a shortage
leaves it at the average. Literal values throughout."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from functions.finance import domain as finance
from functions.finance.domain import Line
from functions.inventory import domain as inventory
from functions.inventory.domain import Change, RuleError, Stock
from shared.events.inventory import Cause, MovementRegistered

WHEN = datetime(2026, 3, 14, 15, 0, tzinfo=UTC)
PICANHA = "3f0c2a9e-0000-4000-8000-000000000001"
# 10 kg of picanha at R$ 32,90 a kg
ON_HAND = Stock(Decimal("10.000"), Decimal("3290.000000"))


@pytest.mark.parametrize(
    ("stock", "counted", "quantity", "value"),
    [
        (ON_HAND, Decimal("12.500"), Decimal("2.500"), 8225),  # 2.5 kg × 3290
        (ON_HAND, Decimal("10.001"), Decimal("0.001"), 3),  # 3.29 → 3
        # 0.5 kg × 3291 = 1645.5: a tie, rounded half-up
        (Stock(Decimal("1.000"), Decimal("3291.000000")), Decimal("1.500"), Decimal("0.500"), 1646),
        # an average with six places: 0.3 × 3333.333333 = 999.9999999 → 1000
        (Stock(Decimal("1.000"), Decimal("3333.333333")), Decimal("1.300"), Decimal("0.300"), 1000),
        # negative stock counted back up: the whole difference at the average
        (
            Stock(Decimal("-2.000"), Decimal("3290.000000")),
            Decimal("1.000"),
            Decimal("3.000"),
            9870,
        ),
    ],
)
def test_a_surplus_is_valued_at_the_average_cost(
    stock: Stock, counted: Decimal, quantity: Decimal, value: int
) -> None:
    change = inventory.count(stock, counted)
    assert change == Change(quantity, value, Stock(counted, stock.average_cost))


def test_a_shortage_is_valued_at_the_average_cost() -> None:
    # 0.75 kg × 3290 = 2467.5: a tie, rounded half-up
    change = inventory.count(ON_HAND, Decimal("9.250"))
    assert change == Change(Decimal("-0.750"), -2468, Stock(Decimal("9.250"), ON_HAND.average_cost))


def test_a_count_that_matches_moves_nothing() -> None:
    change = inventory.count(ON_HAND, Decimal("10.000"))
    assert change.quantity == 0
    assert change.total_cost_cents == 0
    assert change.after == ON_HAND


def test_a_surplus_at_no_cost_is_worth_nothing() -> None:
    change = inventory.count(Stock(Decimal("0.000"), Decimal("0.000000")), Decimal("4.000"))
    assert (change.quantity, change.total_cost_cents) == (Decimal("4.000"), 0)


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(RuleError):
        inventory.count(ON_HAND, Decimal("-0.001"))


def _registered(change: Change) -> MovementRegistered:
    return MovementRegistered(
        movement_id="mv-1",
        product_id=PICANHA,
        kind="count",
        quantity=change.quantity,
        unit_cost_cents=change.after.unit_cost_cents,
        total_cost_cents=change.total_cost_cents,
        balance_after=change.after.quantity,
        cause=Cause(type="manual", id=None),
    )


@pytest.mark.parametrize(
    ("counted", "debited", "credited", "value", "description"),
    [
        ("12.500", "estoque", "perdas_estoque", 8225, "Ajuste de inventário (sobra)"),
        ("9.250", "perdas_estoque", "estoque", 2468, "Ajuste de inventário (falta)"),
    ],
)
def test_a_counted_difference_is_posted_at_its_value(
    counted: str, debited: str, credited: str, value: int, description: str
) -> None:
    """A surplus comes into stock, a shortage leaves it: both at the average cost."""
    posting = finance.movement(_registered(inventory.count(ON_HAND, Decimal(counted))), WHEN)
    assert posting is not None
    assert posting.lines == (Line(debited, debit_cents=value), Line(credited, credit_cents=value))
    assert posting.description == description
