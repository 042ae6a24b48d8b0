"""Sales rules: prices, totals, payment choice, and the sale's state machine."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.payments import domain as acquirer
from functions.sales import domain
from functions.sales.domain import Emit, SaleError, SaleState, Status

quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99999.999"), places=3)


@settings(max_examples=500)
@given(quantities, st.integers(0, 1_000_000))
def test_line_total_is_quantity_times_price_rounded_half_up(quantity: Decimal, price: int) -> None:
    exact = Fraction(quantity) * price
    total = domain.line_total(quantity, price)
    assert abs(Fraction(total) - exact) <= Fraction(1, 2)
    if exact - int(exact) == Fraction(1, 2):
        assert total == int(exact) + 1  # half-up, not banker's rounding


@settings(max_examples=500)
@given(st.integers(1, 1_000_000), st.integers(1, 500_000))
def test_price_label_weight_is_derived_to_three_places(total: int, price: int) -> None:
    quantity = domain.quantity_for_price(total, price)
    assert quantity == (Decimal(total) / price).quantize(Decimal("0.001"), ROUND_HALF_UP)
    assert abs(Fraction(quantity) * price - total) <= Fraction(price, 2000)


@given(st.lists(st.integers(0, 10**7), min_size=1, max_size=30), st.integers(0, 10**8))
def test_totals_never_go_below_zero(lines: list[int], discount: int) -> None:
    if discount > sum(lines):
        with pytest.raises(SaleError):
            domain.totals(lines, discount)
        return
    result = domain.totals(lines, discount)
    assert result.total_cents == sum(lines) - discount >= 0


def test_cash_change_and_refusals() -> None:
    assert domain.check_payment("cash", 4725, None, 5000) == 275
    assert domain.check_payment("cash", 4725, None, 4725) == 0
    with pytest.raises(SaleError, match="does not cover"):
        domain.check_payment("cash", 4725, None, 4700)
    with pytest.raises(SaleError):
        domain.check_payment("cash", 4725, None, None)
    assert domain.check_payment("credit", 10000, 12, None) is None
    with pytest.raises(SaleError):
        domain.check_payment("credit", 10000, 13, None)
    with pytest.raises(SaleError):
        domain.check_payment("debit", 10000, 3, None)
    with pytest.raises(SaleError):
        domain.check_payment("pix", 10000, None, 10000)


@pytest.mark.parametrize(
    ("total", "approved"),
    [(10013, False), (13, False), (10012, True), (10113, False), (10000, True)],
)
def test_cards_decline_totals_ending_in_13(total: int, approved: bool) -> None:
    decision = acquirer.decide_card(total, 299)
    assert decision.approved is approved
    if not approved:
        assert decision.reason == "saldo insuficiente"
    else:
        assert decision.fee_cents == 299  # literal: 2.99 % of 10012 is 299.3588, of 10000 299


# -- the state machine under every order ------------------------------------------------

Step = Callable[[SaleState], domain.Transition]
STEPS: dict[str, Step] = {
    "approved#1": lambda s: domain.on_payment_approved(s, 1),
    "approved#2": lambda s: domain.on_payment_approved(s, 2),
    "declined#1": lambda s: domain.on_payment_declined(s, 1),
    "refunded#1": lambda s: domain.on_payment_refunded(s, 1),
    "cancel": domain.cancel,
    "retry": domain.retry_payment,
}
# What a subscriber concludes from each announced event (a cancel of a paid sale only asks
# for the refund: the sale stays paid until the money is back).
ANNOUNCES = {
    Emit.PAID: Status.PAID,
    Emit.PAYMENT_FAILED: Status.PAYMENT_FAILED,
    Emit.PAYMENT_REQUESTED: Status.PENDING_PAYMENT,
    Emit.CANCELLED: Status.CANCELLED,
    Emit.REFUNDED: Status.REFUNDED,
}
ALLOWED = {
    (Status.PENDING_PAYMENT, Status.PAID),
    (Status.PENDING_PAYMENT, Status.PAYMENT_FAILED),
    (Status.PENDING_PAYMENT, Status.CANCELLED),
    (Status.PAYMENT_FAILED, Status.PENDING_PAYMENT),  # only by a new attempt (retry)
    (Status.PAYMENT_FAILED, Status.CANCELLED),
    (Status.PAID, Status.REFUNDED),
}


def _as_announced(emitted: list[Emit]) -> Status:
    """The status a subscriber that saw only the emitted events would hold."""
    status = Status.PENDING_PAYMENT
    for emit in emitted:
        if not (emit is Emit.CANCELLED and status is Status.PAID):
            status = ANNOUNCES[emit]
    return status


def _run(order: tuple[str, ...]) -> tuple[SaleState, list[Emit]]:
    state, emitted = SaleState(Status.PENDING_PAYMENT), []
    for name in order:
        try:
            transition = STEPS[name](state)
        except SaleError:
            continue  # the counter's command is refused (409); nothing changes
        before, state = state, transition.state
        if before.status is not state.status:
            assert (before.status, state.status) in ALLOWED, (order, before, state)
            if (before.status, state.status) == (Status.PAYMENT_FAILED, Status.PENDING_PAYMENT):
                assert state.attempt == before.attempt + 1
        if transition.emit:
            emitted.append(transition.emit)
        # every change of status is announced: the events so far tell where the sale is
        assert _as_announced(emitted) is state.status, (order, emitted, state)
    return state, emitted


@pytest.mark.parametrize(
    "events",
    [
        ("approved#1", "declined#1", "refunded#1", "cancel"),
        ("approved#1", "approved#1", "cancel", "refunded#1", "refunded#1"),
        ("declined#1", "retry", "approved#2", "approved#1", "cancel", "refunded#1"),
        ("declined#1", "retry", "approved#1", "declined#1", "cancel", "retry"),
    ],
)
def test_every_order_of_events_keeps_the_sale_consistent(events: tuple[str, ...]) -> None:
    for order in set(itertools.permutations(events)):
        state, emitted = _run(order)
        assert emitted.count(Emit.PAID) <= 1
        assert emitted.count(Emit.REFUNDED) <= 1
        if Emit.REFUNDED in emitted:
            assert emitted.index(Emit.PAID) < emitted.index(Emit.REFUNDED)
            assert state.status is Status.REFUNDED
        if state.status is Status.PAID:
            assert Emit.PAID in emitted
            assert Emit.REFUNDED not in emitted


def test_a_paid_sale_is_cancelled_once_then_refunded() -> None:
    paid = domain.on_payment_approved(SaleState(Status.PENDING_PAYMENT), 1).state
    asked = domain.cancel(paid)
    assert (asked.state.status, asked.emit) == (Status.PAID, Emit.CANCELLED)
    with pytest.raises(SaleError):
        domain.cancel(asked.state)
    done = domain.on_payment_refunded(asked.state, 1)
    assert (done.state.status, done.emit) == (Status.REFUNDED, Emit.REFUNDED)


def test_a_late_answer_for_an_old_attempt_changes_nothing() -> None:
    failed = domain.on_payment_declined(SaleState(Status.PENDING_PAYMENT), 1).state
    retried = domain.retry_payment(failed).state
    assert domain.on_payment_approved(retried, 1).state == retried
    assert domain.on_payment_approved(retried, 2).state.status is Status.PAID


def test_a_wrong_moment_is_a_conflict_and_a_wrong_value_is_not() -> None:
    """409 or 422 is decided by the error's type, never by its text."""
    from functions.sales.domain import (
        SaleConflict,
        SaleError,
        SaleState,
        Status,
        cancel,
        retry_payment,
        totals,
    )

    with pytest.raises(SaleConflict):
        retry_payment(SaleState(Status.PAID))
    with pytest.raises(SaleConflict):
        cancel(SaleState(Status.REFUNDED))
    with pytest.raises(SaleError) as wrong_value:
        totals([100], 101)
    assert not isinstance(wrong_value.value, SaleConflict)
