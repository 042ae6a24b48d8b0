"""The till's arithmetic (functions.sales.till_domain), against a plain running tally of
every flow one by one: exact sums per method, fiado never in the drawer, the difference is
counted − expected; and the rules a cashier meets (sangria bounded by the cash, a closed
till takes nothing)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from functions.sales import till_domain
from functions.sales.till_domain import Amounts, Flows
from shared.domain_errors import Conflict, Invalid
from shared.events.sales import MAX_SALE_CENTS
from shared.vocabulary import PAYMENT_METHODS, TILL_METHODS

cents = st.integers(min_value=1, max_value=MAX_SALE_CENTS)
flow = st.one_of(
    st.tuples(st.just("sale"), st.sampled_from(PAYMENT_METHODS), cents),
    st.tuples(st.just("payment"), st.sampled_from(TILL_METHODS), cents),
    st.tuples(st.just("refund"), st.sampled_from(TILL_METHODS), cents),
    st.tuples(st.sampled_from(["sangria", "suprimento"]), st.just("cash"), cents),
)
amounts = st.builds(
    Amounts,
    cash_cents=st.integers(0, 10 * MAX_SALE_CENTS),
    pix_cents=st.integers(0, 10 * MAX_SALE_CENTS),
    debit_cents=st.integers(0, 10 * MAX_SALE_CENTS),
    credit_cents=st.integers(0, 10 * MAX_SALE_CENTS),
)


def flows_of(opening: int, moves: list[tuple[str, str, int]]) -> Flows:
    """What the store hands the arithmetic: sums by kind and method."""
    return Flows(
        opening_cents=opening,
        suprimentos_cents=sum(c for k, _, c in moves if k == "suprimento"),
        sangrias_cents=sum(c for k, _, c in moves if k == "sangria"),
        sales=till_domain.by_method((m, c) for k, m, c in moves if k == "sale"),
        customer_payments=till_domain.by_method((m, c) for k, m, c in moves if k == "payment"),
        refunds=till_domain.by_method((m, c) for k, m, c in moves if k == "refund"),
    )


def tally(opening: int, moves: list[tuple[str, str, int]]) -> dict[str, int]:
    """The drawer, one flow at a time, as a cashier would keep it on paper."""
    drawer: dict[str, int] = {m: 0 for m in TILL_METHODS}
    drawer["cash"] = opening
    for kind, method, amount in moves:
        if kind == "sale" and method == "fiado":
            continue  # on the customer's account: no money changed hands
        sign = -1 if kind in ("refund", "sangria") else 1
        drawer[method] += sign * amount
    return {f"{m}_cents": v for m, v in drawer.items()}


@given(st.integers(0, MAX_SALE_CENTS), st.lists(flow, max_size=60))
@example(0, [("sale", "cash", 4725), ("sale", "pix", 1275), ("sangria", "cash", 4725)])
@example(100, [("sale", "fiado", MAX_SALE_CENTS)])
def test_expected_is_the_exact_tally_of_every_flow(
    opening: int, moves: list[tuple[str, str, int]]
) -> None:
    assert till_domain.expected(flows_of(opening, moves)).as_dict() == tally(opening, moves)


@given(st.integers(0, MAX_SALE_CENTS), st.lists(flow, max_size=40), st.lists(cents, max_size=10))
def test_fiado_never_counts_in_the_drawer(
    opening: int, moves: list[tuple[str, str, int]], fiado: list[int]
) -> None:
    with_fiado = moves + [("sale", "fiado", c) for c in fiado]
    assert till_domain.expected(flows_of(opening, with_fiado)) == till_domain.expected(
        flows_of(opening, moves)
    )


@given(st.integers(0, MAX_SALE_CENTS), st.lists(flow, max_size=40), st.randoms())
def test_the_order_of_the_flows_does_not_matter(
    opening: int, moves: list[tuple[str, str, int]], rnd: Any
) -> None:
    shuffled = list(moves)
    rnd.shuffle(shuffled)
    assert till_domain.expected(flows_of(opening, shuffled)) == till_domain.expected(
        flows_of(opening, moves)
    )


@given(amounts, st.integers(0, MAX_SALE_CENTS), st.lists(flow, max_size=40))
def test_the_difference_is_counted_minus_expected_per_method(
    counted: Amounts, opening: int, moves: list[tuple[str, str, int]]
) -> None:
    expected = till_domain.expected(flows_of(opening, moves))
    difference = till_domain.difference(counted, expected)
    for method in TILL_METHODS:
        assert difference.get(method) == counted.get(method) - expected.get(method)
    assert expected + difference == counted
    assert till_domain.difference(expected, expected) == Amounts()


@given(st.lists(st.tuples(st.sampled_from(PAYMENT_METHODS), st.integers(0, MAX_SALE_CENTS))))
def test_sums_by_method_are_exact_and_drop_nothing(pairs: list[tuple[str, int]]) -> None:
    sums = till_domain.by_method(pairs)
    assert sum(sums.values()) == sum(c for _, c in pairs)
    money = Amounts.of(sums)
    assert sum(money.as_dict().values()) == sum(c for m, c in pairs if m != "fiado")


def test_a_cash_sale_counts_its_total_not_what_was_handed_over() -> None:
    # R$ 47,25 paid with R$ 50,00: R$ 2,75 went back as change, R$ 47,25 stays.
    flows = Flows(opening_cents=10000, sales={"cash": 4725})
    assert till_domain.expected(flows) == Amounts(cash_cents=14725)


def test_a_session_with_nothing_but_its_opening() -> None:
    assert till_domain.expected(Flows(opening_cents=5000)) == Amounts(cash_cents=5000)


# -- rules ------------------------------------------------------------------------------


@given(st.integers(0, MAX_SALE_CENTS), cents)
def test_a_sangria_takes_at_most_the_expected_cash(cash: int, amount: int) -> None:
    if amount <= cash:
        till_domain.check_movement("open", "sangria", amount, cash, 0)
    else:
        with pytest.raises(Invalid) as refused:
            till_domain.check_movement("open", "sangria", amount, cash, 0)
        assert refused.value.extra["code"] == "sangria_exceeds_cash"
        assert refused.value.status == 422


def test_a_sangria_of_exactly_the_cash_empties_the_drawer() -> None:
    till_domain.check_movement("open", "sangria", 1700, 1700, 0)
    with pytest.raises(Invalid, match="maior que o dinheiro esperado"):
        till_domain.check_movement("open", "sangria", 1701, 1700, 0)
    with pytest.raises(Invalid):  # an overdrawn drawer (refunds) gives nothing
        till_domain.check_movement("open", "sangria", 1, -500, 0)


def test_a_suprimento_needs_no_cash() -> None:
    till_domain.check_movement("open", "suprimento", MAX_SALE_CENTS, 0, 0)
    assert till_domain.movement_effect("suprimento", 300) == 300
    assert till_domain.movement_effect("sangria", 300) == -300


@pytest.mark.parametrize("kind", ["sangria", "suprimento"])
def test_a_closed_till_takes_no_movement(kind: Any) -> None:
    with pytest.raises(Conflict, match="já foi fechado") as refused:
        till_domain.check_movement("closed", kind, 1, 10_000, 0)
    assert refused.value.status == 409
    with pytest.raises(Conflict):
        till_domain.check_open_for("closed")
    till_domain.check_open_for("open")


def test_a_session_takes_a_bounded_number_of_movements() -> None:
    limit = till_domain.MAX_MOVEMENTS_PER_SESSION
    till_domain.check_movement("open", "suprimento", 1, 0, limit - 1)
    with pytest.raises(Invalid) as refused:
        till_domain.check_movement("open", "suprimento", 1, 0, limit)
    assert refused.value.extra["code"] == "till_movements_limit"


@pytest.mark.parametrize("amount", [0, -1])
def test_a_movement_is_positive(amount: int) -> None:
    with pytest.raises(Invalid):
        till_domain.check_movement("open", "suprimento", amount, 0, 0)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "R$ 0,00"),
        (5, "R$ 0,05"),
        (123456, "R$ 1.234,56"),
        (100_000_000, "R$ 1.000.000,00"),
        (-2750, "-R$ 27,50"),
    ],
)
def test_amounts_read_as_a_cashier_reads_them(value: int, shown: str) -> None:
    assert till_domain.brl(value) == shown


def test_amounts_of_a_mapping_keep_only_money_methods() -> None:
    assert Amounts.of({"cash": 1, "pix": 2, "debit": 3, "credit": 4, "fiado": 99}) == Amounts(
        1, 2, 3, 4
    )
    assert Amounts.of({}) == Amounts()
