"""A sale's totals at the boundaries: the discount runs from 0 to the subtotal, both
ends included, and nothing outside; the subtotal stops at R$ 1.000.000,00."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from functions.sales import domain
from functions.sales.domain import SaleError, Totals


@pytest.mark.parametrize(
    ("lines", "discount", "expected"),
    [
        ([4725, 1275], 0, Totals(6000, 0, 6000)),
        ([4725, 1275], 1, Totals(6000, 1, 5999)),
        ([4725, 1275], 5999, Totals(6000, 5999, 1)),
        ([4725, 1275], 6000, Totals(6000, 6000, 0)),  # the whole subtotal: a free sale
        ([1], 1, Totals(1, 1, 0)),
        ([0], 0, Totals(0, 0, 0)),
        ([], 0, Totals(0, 0, 0)),
        ([100_000_000], 100_000_000, Totals(100_000_000, 100_000_000, 0)),
    ],
)
def test_a_discount_up_to_the_subtotal_is_taken_off(
    lines: list[int], discount: int, expected: Totals
) -> None:
    assert domain.totals(lines, discount) == expected


@pytest.mark.parametrize(
    ("lines", "discount"),
    [
        ([4725, 1275], 6001),  # one centavo above the subtotal
        ([4725, 1275], 6002),
        ([4725, 1275], 12000),
        ([1], 2),
        ([0], 1),
        ([], 1),
    ],
)
def test_a_discount_above_the_subtotal_is_refused(lines: list[int], discount: int) -> None:
    with pytest.raises(SaleError, match=r"^the discount cannot exceed the subtotal$"):
        domain.totals(lines, discount)


@pytest.mark.parametrize(("lines", "discount"), [([6000], -1), ([6000], -6000), ([0], -1)])
def test_a_negative_discount_is_refused(lines: list[int], discount: int) -> None:
    with pytest.raises(SaleError, match=r"^the discount cannot be negative$"):
        domain.totals(lines, discount)


def test_the_subtotal_stops_at_one_million_reais() -> None:
    assert domain.totals([60_000_000, 40_000_000], 0).subtotal_cents == 100_000_000
    with pytest.raises(SaleError, match=r"^a sale totals at most 100000000 centavos$"):
        domain.totals([60_000_000, 40_000_001], 0)


@given(st.lists(st.integers(0, 10**6), max_size=10), st.integers(1, 10**6))
@example([6000], 1)
@example([], 1)
def test_any_discount_past_the_subtotal_is_refused(lines: list[int], excess: int) -> None:
    with pytest.raises(SaleError):
        domain.totals(lines, sum(lines) + excess)


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=10), st.integers(0, 10**7))
@example([6000], 6000)  # exactly the subtotal
@example([6000], 0)
def test_any_discount_within_the_subtotal_is_accepted(lines: list[int], wanted: int) -> None:
    subtotal = sum(lines)
    discount = min(wanted, subtotal)
    assert domain.totals(lines, discount) == Totals(subtotal, discount, subtotal - discount)


@pytest.mark.parametrize(
    ("grams", "quantity"),
    [
        (0, "0.000"),
        (1, "0.001"),
        (999, "0.999"),
        (1000, "1.000"),
        (2504, "2.504"),
        (99999, "99.999"),
    ],
)
def test_a_weight_label_in_grams_is_a_quantity_in_kilograms(grams: int, quantity: str) -> None:
    result = domain.quantity_from_grams(grams)
    assert result == Decimal(quantity)
    assert str(result) == quantity  # three places, as stock and the events spell it


@pytest.mark.parametrize(
    ("subtotal", "percent", "limit"),
    [
        (10000, 10, 1000),
        (9999, 10, 999),  # 999.9 rounds down: never a centavo past the limit
        (19, 10, 1),
        (9, 10, 0),
        (10000, 0, 0),
        (10000, 100, 10000),
        (0, 10, 0),
        (4725, 15, 708),  # 708.75
    ],
)
def test_the_sellers_discount_limit_is_a_percent_rounded_down(
    subtotal: int, percent: int, limit: int
) -> None:
    assert domain.discount_limit_cents(subtotal, percent) == limit
