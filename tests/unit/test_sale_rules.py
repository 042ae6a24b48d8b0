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


# -- literal boundaries and the seller's messages ----------------------------------------


@pytest.mark.parametrize("price", [0, -1])
def test_a_price_label_needs_a_priced_product(price: int) -> None:
    with pytest.raises(SaleError, match=r"^a price label needs a product with a price$"):
        domain.quantity_for_price(1000, price)


@pytest.mark.parametrize(
    ("total", "price", "quantity"),
    [
        (1000, 1, "1000.000"),
        (2845, 3290, "0.865"),  # 0.86474... rounds up
        (1, 2000, "0.001"),  # 0.0005: a tie, rounded half-up
        (1, 2001, "0.000"),
        (5, 2000, "0.003"),  # 0.0025: half-even would give 0.002
    ],
)
def test_a_price_label_derives_its_weight_half_up(total: int, price: int, quantity: str) -> None:
    assert str(domain.quantity_for_price(total, price)) == quantity


def test_a_line_holds_up_to_the_largest_quantity() -> None:
    domain.check_line_quantity(Decimal("9999.999"))
    with pytest.raises(SaleError, match=r"^a line holds at most 9999\.999 \(kg or units\)$"):
        domain.check_line_quantity(Decimal("10000.000"))


def test_a_line_total_is_rounded_half_up() -> None:
    assert domain.line_total(Decimal("0.500"), 3291) == 1646  # 1645.5
    assert domain.line_total(Decimal("1.250"), 3290) == 4113  # 4112.5
    assert domain.line_total(Decimal("2"), 0) == 0


@pytest.mark.parametrize(
    ("method", "total", "installments", "received", "message"),
    [
        ("cash", 4725, None, None, "cash needs cash_received_cents"),
        ("cash", 4725, None, 4724, "the cash received does not cover the total"),
        ("credit", 10000, 0, None, "credit accepts 1 to 12 installments"),
        ("credit", 10000, 13, None, "credit accepts 1 to 12 installments"),
        ("debit", 10000, 2, None, "only credit is paid in installments"),
        ("pix", 10000, 0, None, "only credit is paid in installments"),
        ("cash", 10000, 2, 10000, "only credit is paid in installments"),
        ("pix", 10000, None, 10000, "cash_received_cents is for cash payments"),
        ("debit", 10000, 1, 0, "cash_received_cents is for cash payments"),
    ],
)
def test_a_payment_the_counter_must_fix_is_refused_with_its_reason(
    method: str, total: int, installments: int | None, received: int | None, message: str
) -> None:
    with pytest.raises(SaleError, match=f"^{message}$"):
        domain.check_payment(method, total, installments, received)


@pytest.mark.parametrize(
    ("method", "installments", "received", "change"),
    [
        ("credit", 1, None, None),
        ("credit", 12, None, None),
        ("credit", None, None, None),
        ("debit", 1, None, None),
        ("debit", None, None, None),
        ("pix", None, None, None),
        ("cash", 1, 10001, 1),
        ("cash", None, 10000, 0),
    ],
)
def test_a_payment_within_the_rules_is_accepted(
    method: str, installments: int | None, received: int | None, change: int | None
) -> None:
    assert domain.check_payment(method, 10000, installments, received) == change


# -- the sale's state after each transition, in full -------------------------------------

PENDING = SaleState(Status.PENDING_PAYMENT)
SECOND_TRY = SaleState(Status.PENDING_PAYMENT, attempt=2)


APPROVED, DECLINED, REFUNDED = (
    domain.on_payment_approved,
    domain.on_payment_declined,
    domain.on_payment_refunded,
)


@pytest.mark.parametrize(
    ("step", "state", "after", "emit"),
    [
        # each keeps the attempt; a refund marks the sale as cancelled, asked or not
        (APPROVED, SECOND_TRY, SaleState(Status.PAID, 2, False), Emit.PAID),
        (DECLINED, SECOND_TRY, SaleState(Status.PAYMENT_FAILED, 2, False), Emit.PAYMENT_FAILED),
        (
            REFUNDED,
            SaleState(Status.PAID, 2, True),
            SaleState(Status.REFUNDED, 2, True),
            Emit.REFUNDED,
        ),
        (REFUNDED, SaleState(Status.PAID, 2), SaleState(Status.REFUNDED, 2, True), Emit.REFUNDED),
    ],
)
def test_a_payment_answer_for_the_current_attempt_moves_the_sale(
    step: Callable[[SaleState, int], domain.Transition],
    state: SaleState,
    after: SaleState,
    emit: Emit,
) -> None:
    assert step(state, 2) == domain.Transition(after, emit)


@pytest.mark.parametrize(
    ("step", "state"),
    [
        (domain.on_payment_approved, SaleState(Status.PAYMENT_FAILED, 2)),
        (domain.on_payment_approved, SaleState(Status.CANCELLED, 2, True)),
        (domain.on_payment_declined, SaleState(Status.PAID, 2)),
        (domain.on_payment_declined, SaleState(Status.CANCELLED, 2, True)),
        (domain.on_payment_refunded, SaleState(Status.PENDING_PAYMENT, 2)),
        (domain.on_payment_refunded, SaleState(Status.CANCELLED, 2, True)),
        (domain.on_payment_refunded, SaleState(Status.REFUNDED, 2, True)),
    ],
)
def test_a_payment_answer_at_the_wrong_moment_changes_nothing(
    step: Callable[[SaleState, int], domain.Transition], state: SaleState
) -> None:
    assert step(state, 2) == domain.Transition(state, None)


@pytest.mark.parametrize(
    "step", [domain.on_payment_approved, domain.on_payment_declined, domain.on_payment_refunded]
)
def test_an_answer_for_another_attempt_changes_nothing(
    step: Callable[[SaleState, int], domain.Transition],
) -> None:
    for state in (SECOND_TRY, SaleState(Status.PAID, 2)):
        assert step(state, 1) == domain.Transition(state, None)
        assert step(state, 3) == domain.Transition(state, None)


@pytest.mark.parametrize(
    ("state", "after"),
    [
        (SECOND_TRY, SaleState(Status.CANCELLED, 2, True)),
        (SaleState(Status.PAYMENT_FAILED, 2), SaleState(Status.CANCELLED, 2, True)),
        (SaleState(Status.PAID, 2), SaleState(Status.PAID, 2, True)),
    ],
)
def test_cancel_marks_the_request_and_keeps_the_attempt(state: SaleState, after: SaleState) -> None:
    assert domain.cancel(state) == domain.Transition(after, Emit.CANCELLED)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (SaleState(Status.PAID, 1, True), "a sale that is paid cannot be cancelled"),
        (SaleState(Status.CANCELLED, 1, True), "a sale that is cancelled cannot be cancelled"),
        (SaleState(Status.REFUNDED, 1, True), "a sale that is refunded cannot be cancelled"),
    ],
)
def test_what_cannot_be_cancelled_says_why(state: SaleState, message: str) -> None:
    with pytest.raises(domain.SaleConflict, match=f"^{message}$"):
        domain.cancel(state)


def test_a_retry_is_the_next_attempt_and_asks_for_payment() -> None:
    failed = SaleState(Status.PAYMENT_FAILED, 2)
    assert domain.retry_payment(failed) == domain.Transition(
        SaleState(Status.PENDING_PAYMENT, 3, False), Emit.PAYMENT_REQUESTED
    )


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (Status.PAID, "a sale that is paid takes no new payment"),
        (Status.PENDING_PAYMENT, "a sale that is pending_payment takes no new payment"),
        (Status.CANCELLED, "a sale that is cancelled takes no new payment"),
    ],
)
def test_only_a_declined_sale_takes_a_new_payment(status: Status, message: str) -> None:
    with pytest.raises(domain.SaleConflict, match=f"^{message}$"):
        domain.retry_payment(SaleState(status))


def test_the_events_and_states_keep_their_wire_names() -> None:
    """Subscribers and the database read these strings."""
    assert [s.value for s in Status] == [
        "pending_payment", "paid", "payment_failed", "cancelled", "refunded",
    ]  # fmt: skip
    assert [e.value for e in Emit] == [
        "sale.paid", "sale.payment_failed", "sale.refunded", "sale.cancelled",
        "sale.payment_requested",
    ]  # fmt: skip
    assert SaleState(Status.PAID) == SaleState(Status.PAID, 1, False)
