"""`cents()` rounds half-up (away from zero on a tie): pinned with literal values, never
with a second rounding computed the same way."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shared.money import allocate, cents


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # ties: half-even would give 0, 2, 2, 4, 10
        ("0.5", 1),
        ("1.5", 2),
        ("2.5", 3),
        ("3.5", 4),
        ("10.5", 11),
        ("9.50", 10),
        ("12344.500000", 12345),
        # not ties
        ("0.4999999", 0),
        ("0.5000001", 1),
        ("2.4", 2),
        ("2.6", 3),
        ("0", 0),
        ("7", 7),
    ],
)
def test_cents_rounds_half_up_at_literal_ties(value: str, expected: int) -> None:
    assert cents(Decimal(value)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # ROUND_HALF_UP in decimal rounds a negative tie away from zero, symmetric
        ("-0.5", -1),
        ("-1.5", -2),
        ("-2.5", -3),
        ("-2.4", -2),
        ("-2.6", -3),
    ],
)
def test_negative_ties_round_away_from_zero(value: str, expected: int) -> None:
    assert cents(Decimal(value)) == expected


@given(st.integers(-(10**9), 10**9))
@example(0)
@example(2)
@example(-2)
def test_every_even_tie_rounds_up_in_magnitude(whole: int) -> None:
    """n + 0.5 → n + 1 for n ≥ 0 (and symmetric below zero): half-even would keep every
    even n."""
    tie = Decimal(whole) + (Decimal("0.5") if whole >= 0 else Decimal("-0.5"))
    assert cents(tie) == (whole + 1 if whole >= 0 else whole - 1)


# -- allocate: literal splits ------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (1000, ["1", "2"], [333, 667]),  # 333.33 / 666.67: the larger remainder
        (1, ["1", "1"], [1, 0]),  # equal remainders, equal weights: the first
        (2, ["1", "3"], [0, 2]),  # 0.5 / 1.5: equal remainders, the heavier weight wins
        (2, ["3", "1"], [2, 0]),
        (5, ["0", "1"], [0, 5]),  # a zero weight is allowed and gets nothing
        (7, ["1"], [7]),
        (0, ["1", "2"], [0, 0]),
        (10, ["0.5", "0.5"], [5, 5]),  # weights summing to one
        (100, ["1", "1", "1"], [34, 33, 33]),
    ],
)
def test_allocate_splits_exactly_by_the_largest_remainder(
    total: int, weights: list[str], parts: list[int]
) -> None:
    assert allocate(total, [Decimal(w) for w in weights]) == parts


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (["1", "-1"], "allocation weights cannot be negative"),
        (["-0.001"], "allocation weights cannot be negative"),
        (["0", "0"], "nothing to allocate to"),
        ([], "nothing to allocate to"),
    ],
)
def test_allocate_refuses_what_cannot_be_split(weights: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        allocate(100, [Decimal(w) for w in weights])
