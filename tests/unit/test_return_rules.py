"""Returns (issue 17): what part of a paid sale may come back and what it refunds.

A part refunds its share of what the customer paid (line totals less the discount, split
exactly); partial returns are cumulative, so any sequence of them refunds at most the total,
and everything returned refunds the total to the centavo."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from functions.sales import domain
from functions.sales.return_rules import (
    ReturnConflict,
    ReturnRefused,
    SoldLine,
    check_reason,
    check_returnable,
    paid_share,
    plan_return,
    sold_products,
)
from shared.money import allocate

BEEF, PORK, SALT = uuid4(), uuid4(), uuid4()


def line(product_id: UUID, quantity: str, unit_price_cents: int, name: str = "Picanha") -> SoldLine:
    q = Decimal(quantity)
    return SoldLine(product_id, name, "kg", q, domain.line_total(q, unit_price_cents))


# -- the sale's state ---------------------------------------------------------------------


def test_only_a_paid_sale_takes_a_return() -> None:
    check_returnable("paid", False)
    for status, words in [
        ("pending_payment", "aguardando pagamento"),
        ("payment_failed", "pagamento recusado"),
        ("cancelled", "cancelada"),
        ("refunded", "estornada"),
    ]:
        with pytest.raises(ReturnConflict, match=words) as caught:
            check_returnable(status, False)
        assert caught.value.status == 409


def test_a_sale_being_cancelled_takes_no_return() -> None:
    """Its cancellation refunds everything: a return on top would refund twice."""
    with pytest.raises(ReturnConflict, match="sendo cancelada"):
        check_returnable("paid", True)


def test_a_blank_reason_is_refused() -> None:
    assert check_reason("  peça estragada ") == "peça estragada"
    with pytest.raises(ReturnRefused) as caught:
        check_reason("   ")
    assert caught.value.status == 422


# -- what may come back ---------------------------------------------------------------------


def test_a_product_not_in_the_sale_is_refused() -> None:
    with pytest.raises(ReturnRefused, match="não está nesta venda") as caught:
        plan_return([line(BEEF, "1.000", 5000)], 5000, {}, [(PORK, Decimal("1"))])
    assert caught.value.status == 422


def test_more_than_was_sold_is_refused() -> None:
    lines = [line(BEEF, "1.500", 5000)]
    with pytest.raises(ReturnRefused, match=r"só resta 1\.500 kg"):
        plan_return(lines, 7500, {}, [(BEEF, Decimal("1.501"))])
    # After an earlier return of 1 kg, only 0.500 kg is left.
    with pytest.raises(ReturnRefused, match=r"só resta 0\.500 kg") as caught:
        plan_return(lines, 7500, {BEEF: Decimal("1.000")}, [(BEEF, Decimal("0.501"))])
    assert caught.value.extra["available"] == "0.500"
    assert plan_return(lines, 7500, {BEEF: Decimal("1.000")}, [(BEEF, Decimal("0.5"))])


def test_a_product_named_twice_counts_its_quantities_together() -> None:
    lines = [line(BEEF, "1.000", 5000)]
    plan = plan_return(lines, 5000, {}, [(BEEF, Decimal("0.400")), (BEEF, Decimal("0.600"))])
    assert [(p.quantity, p.refund_cents) for p in plan.items] == [(Decimal("1.000"), 5000)]
    with pytest.raises(ReturnRefused):
        plan_return(lines, 5000, {}, [(BEEF, Decimal("0.600")), (BEEF, Decimal("0.600"))])


def test_a_product_on_several_lines_may_come_back_in_full() -> None:
    """Two scale labels of the same cut: 0.8 + 0.7 kg may come back as 1.5 kg."""
    lines = [line(BEEF, "0.800", 5000), line(PORK, "1.000", 2000), line(BEEF, "0.700", 5000)]
    plan = plan_return(lines, 9500, {}, [(BEEF, Decimal("1.500"))])
    assert plan.refund_cents == 7500


# -- what it refunds ----------------------------------------------------------------------


def test_without_a_discount_a_part_refunds_its_price() -> None:
    lines = [line(BEEF, "2.000", 5000), line(PORK, "1.000", 2000)]
    plan = plan_return(lines, 12000, {}, [(BEEF, Decimal("0.500")), (PORK, Decimal("1"))])
    assert [p.refund_cents for p in plan.items] == [2500, 2000]
    assert plan.refund_cents == 4500


def test_a_discount_is_shared_by_what_comes_back() -> None:
    """R$ 100 of beef and R$ 50 of pork, R$ 15 off: the customer paid 90 % of each."""
    lines = [line(BEEF, "2.000", 5000), line(PORK, "1.000", 5000)]
    plan = plan_return(lines, 13500, {}, [(BEEF, Decimal("1.000"))])
    assert plan.refund_cents == 4500


def test_partial_returns_add_up_to_the_total_exactly() -> None:
    """Three thirds of R$ 100,00 of one cut: 33,33 + 33,34 + 33,33, never 99,99."""
    lines = [line(BEEF, "3.000", 3333), line(SALT, "1.000", 1)]  # 99,99 + 0,01
    returned: dict[UUID, Decimal] = {}
    refunds = []
    for _ in range(3):
        plan = plan_return(lines, 10000, returned, [(BEEF, Decimal(1))])
        refunds.append(plan.refund_cents)
        returned[BEEF] = returned.get(BEEF, Decimal(0)) + 1
    refunds.append(plan_return(lines, 10000, returned, [(SALT, Decimal(1))]).refund_cents)
    assert sum(refunds) == 10000
    assert all(r >= 0 for r in refunds)


def test_the_paid_shares_are_the_exact_split_of_the_total() -> None:
    lines = [line(BEEF, "1.000", 3333), line(PORK, "1.000", 3333), line(SALT, "1.000", 3334)]
    products = sold_products(lines, 9000)
    assert [p.paid_cents for p in products.values()] == allocate(
        9000, [Decimal(3333), Decimal(3333), Decimal(3334)]
    )


def test_a_free_sale_refunds_nothing() -> None:
    lines = [line(BEEF, "1.000", 0)]
    assert plan_return(lines, 0, {}, [(BEEF, Decimal(1))]).refund_cents == 0
    lines = [line(BEEF, "1.000", 5000)]
    assert plan_return(lines, 0, {}, [(BEEF, Decimal(1))]).refund_cents == 0  # 100 % off


# -- properties -------------------------------------------------------------------------

PRODUCTS = [uuid4() for _ in range(4)]


@st.composite
def sales_and_returns(
    draw: st.DrawFn,
) -> tuple[list[SoldLine], int, list[list[tuple[UUID, Decimal]]], bool]:
    """A sale (1-6 lines of up to 4 products, a discount up to the subtotal) and a
    sequence of returns of it, each within what is left; `whole`: the last ones take
    back everything left."""
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        thousandths = draw(st.integers(1, 9_999_999))
        price = draw(st.integers(0, 30_000))
        q = Decimal(thousandths) / 1000
        lines.append(
            SoldLine(draw(st.sampled_from(PRODUCTS)), "x", "kg", q, domain.line_total(q, price))
        )
    subtotal = sum(li.total_cents for li in lines)
    discount = draw(st.integers(0, subtotal))
    left: dict[UUID, int] = {}
    for li in lines:
        left[li.product_id] = left.get(li.product_id, 0) + int(li.quantity * 1000)
    returns: list[list[tuple[UUID, Decimal]]] = []
    for _ in range(draw(st.integers(0, 6))):
        items = []
        for product_id in draw(
            st.lists(st.sampled_from(sorted(left)), min_size=1, max_size=3, unique=True)
        ):
            if left[product_id] == 0:
                continue
            take = draw(st.integers(1, min(left[product_id], 9_999_999)))
            left[product_id] -= take
            items.append((product_id, Decimal(take) / 1000))
        if items:
            returns.append(items)
    whole = draw(st.booleans())
    if whole:
        for product_id, thousandths in left.items():
            while thousandths > 0:  # a return carries at most 9999.999 of a product
                take = min(thousandths, 9_999_999)
                returns.append([(product_id, Decimal(take) / 1000)])
                thousandths -= take
    return lines, subtotal - discount, returns, whole


@settings(max_examples=400, deadline=None)
@given(sales_and_returns())
@example(
    (
        [SoldLine(PRODUCTS[0], "x", "kg", Decimal("3.000"), 10000)],
        9999,
        [[(PRODUCTS[0], Decimal(1))]] * 3,
        True,
    )
)
def test_refunds_never_pass_the_total_and_all_of_it_refunds_the_total(
    case: tuple[list[SoldLine], int, list[list[tuple[UUID, Decimal]]], bool],
) -> None:
    lines, total, returns, whole = case
    returned: dict[UUID, Decimal] = {}
    refunded = 0
    for items in returns:
        plan = plan_return(lines, total, returned, items)
        for part in plan.items:
            assert isinstance(part.refund_cents, int)
            assert part.refund_cents >= 0
            returned[part.product_id] = returned.get(part.product_id, Decimal(0)) + part.quantity
        assert plan.refund_cents == sum(p.refund_cents for p in plan.items)
        refunded += plan.refund_cents
        assert refunded <= total
    if whole:
        assert refunded == total


@settings(max_examples=300, deadline=None)
@given(
    paid=st.integers(0, 100_000_000),
    sold=st.integers(1, 99_999_999),
    data=st.data(),
)
def test_a_share_grows_with_the_quantity_from_nothing_to_all_it_was_paid(
    paid: int, sold: int, data: st.DataObject
) -> None:
    product = sold_products([SoldLine(BEEF, "x", "kg", Decimal(sold) / 1000, max(paid, 1))], paid)[
        BEEF
    ]
    a, b = sorted(data.draw(st.lists(st.integers(0, sold), min_size=2, max_size=2)))
    assert paid_share(product, Decimal(0)) == 0
    assert paid_share(product, Decimal(sold) / 1000) == paid
    assert 0 <= paid_share(product, Decimal(a) / 1000) <= paid_share(product, Decimal(b) / 1000)
