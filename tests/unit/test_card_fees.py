"""The acquirer's card fee: amount × basis points ÷ 10 000, rounded half-up to the
centavo. Every expected fee here is a literal, worked out by hand, so that a fee of 0 or
a fee rounded half-even fails."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from functions.payments import domain as acquirer
from functions.payments.settings import PaymentSettings

DEBIT_BPS = 99
CREDIT_BPS = 299


def test_default_fee_rates_are_the_documented_ones() -> None:
    fields = PaymentSettings.model_fields
    assert fields["debit_fee_bps"].default == DEBIT_BPS
    assert fields["credit_fee_bps"].default == CREDIT_BPS


@pytest.mark.parametrize(
    ("amount", "bps", "expected"),
    [
        # debit, 0.99 %: ties where half-even would round down to an even centavo
        (15000, DEBIT_BPS, 149),  # 148.5
        (35000, DEBIT_BPS, 347),  # 346.5
        (5000, DEBIT_BPS, 50),  # 49.5
        (25000, DEBIT_BPS, 248),  # 247.5
        # credit, 2.99 %
        (15000, CREDIT_BPS, 449),  # 448.5
        (35000, CREDIT_BPS, 1047),  # 1046.5
        (5000, CREDIT_BPS, 150),  # 149.5
        (25000, CREDIT_BPS, 748),  # 747.5
        # small ties: half-even gives 0
        (50, 100, 1),  # 0.5
        (100, 50, 1),  # 0.5
        # just below and just above a half
        (50, DEBIT_BPS, 0),  # 0.495
        (51, DEBIT_BPS, 1),  # 0.5049
        (50, CREDIT_BPS, 1),  # 1.495
        (51, CREDIT_BPS, 2),  # 1.5249
        # exact and plain values
        (10000, DEBIT_BPS, 99),
        (10000, CREDIT_BPS, 299),
        (10012, CREDIT_BPS, 299),  # 299.3588
        (1, CREDIT_BPS, 0),  # 0.0299
        (0, CREDIT_BPS, 0),
        (12345, 0, 0),
    ],
)
def test_fee_is_rounded_half_up_to_the_centavo(amount: int, bps: int, expected: int) -> None:
    assert acquirer.fee(amount, bps) == expected


@pytest.mark.parametrize(
    ("amount", "bps", "expected"),
    [
        (15000, DEBIT_BPS, 149),
        (35000, DEBIT_BPS, 347),
        (15000, CREDIT_BPS, 449),
        (35000, CREDIT_BPS, 1047),
        (10000, CREDIT_BPS, 299),
        (4725, DEBIT_BPS, 47),  # 46.7775
        (4725, CREDIT_BPS, 141),  # 141.2775
    ],
)
def test_an_approved_card_payment_carries_its_fee(amount: int, bps: int, expected: int) -> None:
    decision = acquirer.decide_card(amount, bps)
    assert decision.approved is True
    assert decision.reason is None
    assert decision.fee_cents == expected
    assert decision.change_cents is None


def test_a_declined_card_payment_has_no_fee() -> None:
    decision = acquirer.decide_card(10013, CREDIT_BPS)
    assert decision.approved is False
    assert decision.fee_cents == 0


@given(st.integers(0, 10**9), st.integers(0, 2000))
@example(15000, DEBIT_BPS)
@example(15000, CREDIT_BPS)
@example(50, 100)
@example(1, 1)
def test_fee_is_within_half_a_centavo_and_ties_go_up(amount: int, bps: int) -> None:
    """Integer arithmetic only: 2 × fee × 10 000 against 2 × amount × bps."""
    fee = acquirer.fee(amount, bps)
    exact_twice = 2 * amount * bps  # the exact fee × 20 000
    assert abs(fee * 20_000 - exact_twice) <= 10_000
    if exact_twice % 20_000 == 10_000:  # a tie: the fee ends in exactly half a centavo
        assert fee * 20_000 == exact_twice + 10_000


@pytest.mark.parametrize(
    ("amount", "received", "change"),
    [(4725, 5000, 275), (4725, 4725, 0), (1, 1, 0), (0, 0, 0), (4725, 10000, 5275)],
)
def test_cash_covering_the_total_is_approved_with_its_change(
    amount: int, received: int, change: int
) -> None:
    """Exactly the total is enough: the change is then zero, not a refusal."""
    assert acquirer.decide_cash(amount, received) == acquirer.Decision(
        approved=True, reason=None, fee_cents=0, change_cents=change
    )


@pytest.mark.parametrize(("amount", "received"), [(4725, 4724), (4725, None), (1, 0), (4725, 0)])
def test_cash_short_of_the_total_is_declined(amount: int, received: int | None) -> None:
    assert acquirer.decide_cash(amount, received) == acquirer.Decision(
        approved=False, reason="dinheiro insuficiente", fee_cents=0, change_cents=None
    )


def test_a_declined_card_says_why_and_carries_nothing_else() -> None:
    assert acquirer.decide_card(4713, DEBIT_BPS) == acquirer.Decision(
        approved=False, reason="saldo insuficiente", fee_cents=0, change_cents=None
    )
