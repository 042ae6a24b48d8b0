"""Stock by weight: properties of quantities, average cost and desossa."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.inventory import domain
from functions.inventory.domain import EMPTY, ZERO, Output, RuleError, Stock
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


# -- literal boundaries and the user's messages -----------------------------------------

ON_HAND = Stock(Decimal("10.000"), Decimal("3290.000000"))


@pytest.mark.parametrize("quantity", ["0", "0.000", "-0.001"])
def test_nothing_moves_in_or_out_without_a_positive_quantity(quantity: str) -> None:
    with pytest.raises(RuleError, match=r"^quantity must be positive$"):
        domain.receive(EMPTY, Decimal(quantity), 0)
    with pytest.raises(RuleError, match=r"^quantity must be positive$"):
        domain.issue(ON_HAND, Decimal(quantity))


def test_a_receipt_cannot_have_a_negative_cost_but_may_be_free() -> None:
    with pytest.raises(RuleError, match=r"^cost cannot be negative$"):
        domain.receive(ON_HAND, Decimal("1.000"), -1)
    free = domain.receive(ON_HAND, Decimal("10.000"), 0)
    assert free == domain.Change(Decimal("10.000"), 0, Stock(Decimal("20.000"), Decimal("1645")))


def test_the_average_is_rounded_half_up_at_six_places() -> None:
    # 1 centavo for 128 kg: 0.0078125 per kg, a tie at the seventh place
    change = domain.receive(EMPTY, Decimal("128.000"), 1)
    assert change.after.average_cost == Decimal("0.007813")
    assert str(change.after.average_cost) == "0.007813"


def test_a_receipt_averages_with_what_is_on_hand() -> None:
    # 10 kg at 32,90 plus 5 kg for R$ 180,00: (32900 + 18000) / 15 = 3393.333333...
    change = domain.receive(ON_HAND, Decimal("5.000"), 18000)
    assert change == domain.Change(
        Decimal("5.000"), 18000, Stock(Decimal("15.000"), Decimal("3393.333333"))
    )


def test_a_receipt_is_valued_half_up() -> None:
    assert domain.receipt_value(Decimal("0.500"), 3291) == 1646  # 1645.5
    assert domain.receipt_value(Decimal("1.500"), 3290) == 4935


def test_an_issue_leaves_at_the_average_rounded_half_up() -> None:
    # 0.75 kg × 3290 = 2467.5
    change = domain.issue(ON_HAND, Decimal("0.750"))
    assert change == domain.Change(
        Decimal("-0.750"), -2468, Stock(Decimal("9.250"), Decimal("3290.000000"))
    )


def test_the_unit_cost_is_the_average_rounded_half_up() -> None:
    assert Stock(Decimal("1"), Decimal("1645.5")).unit_cost_cents == 1646
    assert Stock(Decimal("1"), Decimal("1645.499999")).unit_cost_cents == 1645


def test_a_count_of_zero_empties_the_stock() -> None:
    change = domain.count(ON_HAND, Decimal("0.000"))
    assert change == domain.Change(Decimal("-10.000"), -32900, Stock(ZERO, ON_HAND.average_cost))


def test_a_negative_count_is_refused_with_its_reason() -> None:
    with pytest.raises(RuleError, match=r"^a counted quantity cannot be negative$"):
        domain.count(ON_HAND, Decimal("-0.001"))


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([Decimal("1"), Decimal("-1")], "allocation weights cannot be negative"),
        ([Decimal("0"), Decimal("0")], "nothing to allocate to"),
        ([], "nothing to allocate to"),
    ],
)
def test_an_impossible_split_is_refused_in_the_shops_words(
    weights: list[Decimal], message: str
) -> None:
    with pytest.raises(RuleError, match=f"^{message}$"):
        domain.allocate(100, weights)


def _cuts(*quantities: str) -> list[Output]:
    return [Output(f"p{i}", Decimal(q), 1000) for i, q in enumerate(quantities)]


@pytest.mark.parametrize(
    ("source_quantity", "outputs", "allocation", "message"),
    [
        ("0", _cuts("1"), "weight", "the source quantity must be positive"),
        ("-1", _cuts("1"), "weight", "the source quantity must be positive"),
        ("10", [], "weight", "a breakdown needs at least one output"),
        ("10", _cuts("1", "0"), "weight", "every output quantity must be positive"),
        ("10", _cuts("1", "-0.001"), "weight", "every output quantity must be positive"),
        ("10", _cuts("6", "4.001"), "weight", "the outputs weigh more than the source"),
        (
            "10",
            [Output("a", Decimal("1"), 0), Output("b", Decimal("2"), 0)],
            "value",
            "value allocation needs at least one output with a price",
        ),
    ],
)
def test_an_impossible_desossa_is_refused_with_its_reason(
    source_quantity: str, outputs: list[Output], allocation: domain.Allocation, message: str
) -> None:
    with pytest.raises(RuleError, match=f"^{message}$"):
        domain.plan_breakdown(ON_HAND, Decimal(source_quantity), outputs, allocation)


def test_outputs_weighing_exactly_the_source_leave_no_loss() -> None:
    plan = domain.plan_breakdown(ON_HAND, Decimal("10.000"), _cuts("6.000", "4.000"), "weight")
    assert plan.yield_percent == Decimal("100.00")
    assert plan.output_costs == [19740, 13160]
    assert plan.source_out == domain.Change(
        Decimal("-10.000"), -32900, Stock(Decimal("0.000"), ON_HAND.average_cost)
    )
    assert plan.loss == domain.Change(
        Decimal("0.000"), 0, Stock(Decimal("0.000"), ON_HAND.average_cost)
    )


def test_a_desossa_of_part_of_the_stock_leaves_the_rest_at_the_average() -> None:
    """4 kg of the 10 on hand: 3 kg of cuts out with all 4 kg's cost, 1 kg lost at none."""
    plan = domain.plan_breakdown(ON_HAND, Decimal("4.000"), _cuts("2.000", "1.000"), "weight")
    assert plan.source_out == domain.Change(
        Decimal("-3.000"), -13160, Stock(Decimal("7.000"), ON_HAND.average_cost)
    )
    assert plan.loss == domain.Change(
        Decimal("-1.000"), 0, Stock(Decimal("6.000"), ON_HAND.average_cost)
    )
    # 13160 split 2:1 is 8773.33 and 4386.67: the larger remainder takes the odd centavo
    assert plan.output_costs == [8773, 4387]
    assert plan.yield_percent == Decimal("75.00")


def test_the_yield_is_rounded_half_up_to_two_places() -> None:
    # 12.345 of 100 kg: 12.345 %, a tie that half-even would round to 12.34
    plan = domain.plan_breakdown(
        Stock(Decimal("100.000"), Decimal("100")), Decimal("100.000"), _cuts("12.345"), "weight"
    )
    assert str(plan.yield_percent) == "12.35"


def test_a_desossa_of_one_kilogram_or_less_is_a_desossa() -> None:
    for source_quantity in ("1.000", "0.500"):
        plan = domain.plan_breakdown(ON_HAND, Decimal(source_quantity), _cuts("0.400"), "weight")
        assert plan.source_out.quantity == Decimal("-0.400")


def test_a_source_without_cost_gives_costless_cuts() -> None:
    plan = domain.plan_breakdown(
        Stock(Decimal("10.000"), Decimal("0")), Decimal("10.000"), _cuts("5", "3"), "value"
    )
    assert plan.output_costs == [0, 0]
    assert plan.source_out.total_cost_cents == 0


def test_weight_allocation_ignores_prices() -> None:
    outputs = [Output("a", Decimal("3.000"), 0), Output("b", Decimal("1.000"), 9000)]
    plan = domain.plan_breakdown(ON_HAND, Decimal("4.000"), outputs, "weight")
    assert plan.output_costs == [9870, 3290]


def test_the_largest_stock_is_allowed_and_one_gram_more_is_not() -> None:
    domain.check_stock_limit(Stock(Decimal("999999.999"), Decimal("1")))
    with pytest.raises(RuleError, match=r"^the stock of a product is at most 999999\.999$"):
        domain.check_stock_limit(Stock(Decimal("1000000.000"), Decimal("1")))


@pytest.mark.parametrize(
    ("min_stock", "before", "after", "crossed"),
    [
        ("0.500", "1", "0.400", True),  # a minimum below one unit still counts
        ("5", "6", "5", False),  # reaching the minimum is not yet below it
        ("5", "4.999", "4", False),  # already below: announced before
        ("-1", "0", "-2", False),  # no minimum below zero
    ],
)
def test_low_stock_boundaries(min_stock: str, before: str, after: str, crossed: bool) -> None:
    assert (
        domain.crossed_below_minimum(Decimal(min_stock), Decimal(before), Decimal(after)) is crossed
    )


def test_units_move_whole_with_a_reason() -> None:
    with pytest.raises(RuleError, match=r"^products sold by unit move in whole units$"):
        domain.whole_units_only("un", Decimal("0.001"))
    domain.whole_units_only("un", Decimal("3.000"))
