"""Stock by weight: properties of quantities, average cost and desossa."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.inventory import domain
from functions.inventory.domain import EMPTY, Output, RuleError, Stock
from shared.money import cents

quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("500"), places=3)
prices = st.integers(min_value=0, max_value=20_000)  # centavos per kg or unit
operations = st.lists(
    st.one_of(
        st.tuples(st.just("receive"), quantities, prices),
        st.tuples(st.just("issue"), quantities, st.just(0)),
        st.tuples(st.just("count"), st.decimals(min_value=0, max_value=500, places=3), st.just(0)),
    ),
    max_size=40,
)


def _reference_average(
    on_hand: Decimal, average: Decimal, quantity: Decimal, value: int
) -> Decimal:
    """The rule as the shop states it, computed apart: negative stock holds no value."""
    base = on_hand if on_hand > 0 else Decimal(0)
    exact = Fraction(base) * Fraction(average) + value
    result = exact / (Fraction(base) + Fraction(quantity))
    return (Decimal(result.numerator) / Decimal(result.denominator)).quantize(
        Decimal("0.000001"), ROUND_HALF_UP
    )


@settings(max_examples=500)
@given(operations)
def test_stock_is_the_sum_of_movements_and_the_average_follows_the_rule(
    ops: list[tuple[str, Decimal, int]],
) -> None:
    stock, total = EMPTY, Decimal("0.000")
    for kind, quantity, unit_cost in ops:
        if kind == "receive":
            value = domain.receipt_value(quantity, unit_cost)
            expected_average = _reference_average(
                stock.quantity, stock.average_cost, quantity, value
            )
            change = domain.receive(stock, quantity, value)
            assert change.after.average_cost == expected_average
        elif kind == "issue":
            change = domain.issue(stock, quantity)
            assert change.after.average_cost == stock.average_cost
            assert change.total_cost_cents == -cents(quantity * stock.average_cost)
        else:
            change = domain.count(stock, quantity)
            assert change.after.quantity == quantity
        total += change.quantity
        stock = change.after
        assert stock.quantity == total
        assert stock.average_cost >= 0


@settings(max_examples=500)
@given(
    st.integers(0, 10_000_000), st.lists(st.decimals(0, 1000, places=3), min_size=1, max_size=12)
)
def test_allocation_is_exact_and_fair(total: int, weights: list[Decimal]) -> None:
    if not any(weights):
        with pytest.raises(RuleError):
            domain.allocate(total, weights)
        return
    parts = domain.allocate(total, weights)
    assert sum(parts) == total
    whole = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        share = Fraction(total) * Fraction(weight) / Fraction(whole)
        assert abs(Fraction(part) - share) < 1
        if weight == 0:
            assert part == 0


@settings(max_examples=500)
@given(
    st.decimals(min_value=Decimal("10"), max_value=Decimal("300"), places=3),
    st.integers(1000, 4000),
    st.lists(st.tuples(st.integers(1, 100), prices), min_size=1, max_size=8),
    st.sampled_from(["weight", "value"]),
)
def test_desossa_conserves_the_source_cost(
    source_quantity: Decimal,
    average_cents: int,
    shares: list[tuple[int, int]],
    allocation: domain.Allocation,
) -> None:
    stock = Stock(source_quantity, Decimal(average_cents))
    # Outputs take at most 95% of the source's weight, in the drawn proportions.
    scale = source_quantity * Decimal("0.95") / sum(s for s, _ in shares)
    outputs = [
        Output(f"p{i}", (scale * s).quantize(Decimal("0.001"), rounding="ROUND_DOWN"), price)
        for i, (s, price) in enumerate(shares)
    ]
    outputs = [o for o in outputs if o.quantity > 0]
    if not outputs or (allocation == "value" and not any(o.price_cents for o in outputs)):
        return
    plan = domain.plan_breakdown(stock, source_quantity, outputs, allocation)
    source_cost = cents(source_quantity * stock.average_cost)
    assert sum(plan.output_costs) == source_cost == -plan.source_out.total_cost_cents
    assert plan.loss.total_cost_cents == 0
    produced = sum(o.quantity for o in outputs)
    assert -plan.source_out.quantity - plan.loss.quantity == source_quantity
    assert plan.yield_percent == (produced * 100 / source_quantity).quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )
    if allocation == "value":
        for output, cost in zip(outputs, plan.output_costs, strict=True):
            if output.price_cents == 0:
                assert cost == 0


def test_a_worked_desossa() -> None:
    """Dianteiro 100 kg at R$ 20,00/kg → cuts by value; the bone gets no cost."""
    source = Stock(Decimal("100.000"), Decimal("2000"))
    outputs = [
        Output("acem", Decimal("40.000"), 3500),
        Output("musculo", Decimal("30.000"), 3000),
        Output("osso", Decimal("20.000"), 0),
    ]
    plan = domain.plan_breakdown(source, Decimal("100.000"), outputs, "value")
    assert plan.yield_percent == Decimal("90.00")
    assert plan.loss.quantity == Decimal("-10.000")
    assert plan.output_costs == [121739, 78261, 0]  # 200.000,00 split 140:90
    assert sum(plan.output_costs) == 200000


def test_receipt_into_negative_stock_takes_its_own_cost() -> None:
    after_sale = domain.issue(Stock(Decimal("1.000"), Decimal("3000")), Decimal("3.000")).after
    assert after_sale.quantity == Decimal("-2.000")
    received = domain.receive(after_sale, Decimal("10.000"), 25000)
    assert received.after.quantity == Decimal("8.000")
    assert received.after.average_cost == Decimal("2500.000000")


@pytest.mark.parametrize(
    ("min_stock", "before", "after", "crossed"),
    [
        ("5", "6", "4", True),
        ("5", "5", "4.999", True),
        ("5", "4", "3", False),
        ("0", "1", "-1", False),
    ],
)
def test_low_stock_is_announced_when_crossing_the_minimum(
    min_stock: str, before: str, after: str, crossed: bool
) -> None:
    assert (
        domain.crossed_below_minimum(Decimal(min_stock), Decimal(before), Decimal(after)) is crossed
    )


def test_units_move_whole() -> None:
    with pytest.raises(RuleError):
        domain.whole_units_only("un", Decimal("1.500"))
    domain.whole_units_only("kg", Decimal("1.500"))
