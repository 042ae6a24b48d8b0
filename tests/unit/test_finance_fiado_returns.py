"""Finance's posting rules of issue 17, pinned with literal accounts and amounts: a fiado
sale and its refund, a customer's payment on the account, a return of part of a sale (and a
cancellation's refund of what the returns left), an operator's sangria/suprimento; every
posting balances, and sale + returns + refund net every account to zero."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from functions.finance import domain as finance
from functions.finance.domain import Line, Posting, PostingError
from shared.events.customers import CustomerPaymentReceived
from shared.events.payments import PaymentApproved
from shared.events.sales import SaleReturned
from shared.events.till import TillMovementRecorded

WHEN = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
SALE = "5a1e0000-0000-4000-8000-000000000001"
PAYMENT = "9a7e0000-0000-4000-8000-000000000002"
RETURN = "7e700000-0000-4000-8000-000000000003"
CUSTOMER = "c0570000-0000-4000-8000-000000000004"
PICANHA, FRALDINHA, ACEM = "picanha", "fraldinha", "acem"


def _approved(method: Any, amount: int, fee: int = 0) -> PaymentApproved:
    return PaymentApproved(
        payment_id=PAYMENT,
        sale_id=SALE,
        attempt=1,
        method=method,
        amount_cents=amount,
        fee_cents=fee,
        customer_id=CUSTOMER if method == "fiado" else None,
    )


def _returned(
    method: Any, items: list[tuple[str, str, int]], return_id: str = RETURN
) -> SaleReturned:
    return SaleReturned.model_validate(
        {
            "sale_id": SALE,
            "return_id": return_id,
            "seller_id": None,
            "items": [{"product_id": p, "quantity": q, "refund_cents": c} for p, q, c in items],
            "refund_cents": sum(c for _, _, c in items),
            "payment_method": method,
            "customer_id": CUSTOMER if method == "fiado" else None,
            "reason": "veio com osso",
        }
    )


def _balances(posting: Posting) -> int:
    debits = sum(line.debit_cents for line in posting.lines)
    assert debits == sum(line.credit_cents for line in posting.lines) > 0
    return debits


def _net(*postings: Posting | None) -> dict[tuple[str, str | None], int]:
    """Net debit (positive) or credit (negative) per account and cut, zeros left out."""
    net: dict[tuple[str, str | None], int] = {}
    for posting in postings:
        for line in posting.lines if posting else ():
            key = (line.account, line.product_id)
            net[key] = net.get(key, 0) + line.debit_cents - line.credit_cents
    return {k: v for k, v in net.items() if v}


def _accounts(*postings: Posting | None) -> dict[str, int]:
    net: dict[str, int] = {}
    for (account, _), cents in _net(*postings).items():
        net[account] = net.get(account, 0) + cents
    return {k: v for k, v in net.items() if v}


# -- a fiado sale ----------------------------------------------------------------------------


def test_fiado_lands_on_the_customers_account() -> None:
    assert finance.PAYMENT_ACCOUNT["fiado"] == "clientes_a_receber"


def test_a_fiado_sale_is_owed_by_the_customer_and_its_revenue_split_per_cut() -> None:
    posting = finance.payment_approved(
        _approved("fiado", 9000), [(PICANHA, 6000), (FRALDINHA, 4000)], WHEN
    )
    assert posting is not None
    assert posting.lines == (
        Line("clientes_a_receber", debit_cents=9000),
        Line("receita_vendas", credit_cents=5400, product_id=PICANHA),
        Line("receita_vendas", credit_cents=3600, product_id=FRALDINHA),
    )
    assert posting.payment_method == "fiado"
    assert (posting.cause, posting.cause_id, posting.sale_id) == ("payment.approved", PAYMENT, SALE)
    refund = posting.reversal("payment.refunded", PAYMENT, LATER, "entry-1")
    assert refund.lines[0] == Line("clientes_a_receber", credit_cents=9000)
    assert _accounts(posting, refund) == {}


# -- a customer's payment on the account -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "account"),
    [
        ("cash", "caixa"),
        ("pix", "banco"),
        ("debit", "recebiveis_cartao"),
        ("credit", "recebiveis_cartao"),
    ],
)
def test_a_customers_payment_lands_by_its_method_and_lowers_the_account(
    method: Any, account: str
) -> None:
    event = CustomerPaymentReceived(
        payment_id="cp-1",
        customer_id=CUSTOMER,
        amount_cents=2500,
        method=method,
        received_by="op-1",
    )
    posting = finance.customer_payment(event, WHEN)
    assert posting.lines == (
        Line(account, debit_cents=2500),
        Line("clientes_a_receber", credit_cents=2500),
    )
    assert (posting.cause, posting.cause_id) == ("customer.payment_received", "cp-1")
    assert (posting.occurred_at, posting.payment_method, posting.sale_id) == (WHEN, method, None)
    assert posting.meta == {"customer_id": CUSTOMER, "received_by": "op-1"}
    assert "receita_vendas" not in _accounts(posting)  # revenue was the fiado sale's


def test_a_customers_payment_is_never_fiado() -> None:
    with pytest.raises(ValueError, match="method"):
        CustomerPaymentReceived.model_validate(
            {
                "payment_id": "cp-1",
                "customer_id": CUSTOMER,
                "amount_cents": 1,
                "method": "fiado",
                "received_by": "op-1",
            }
        )


# -- a return ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "account"),
    [
        ("cash", "caixa"),
        ("pix", "banco"),
        ("debit", "recebiveis_cartao"),
        ("credit", "recebiveis_cartao"),
        ("fiado", "clientes_a_receber"),
    ],
)
def test_a_return_reverses_that_part_from_the_sales_account(method: Any, account: str) -> None:
    event = _returned(method, [(PICANHA, "0.500", 2700), (FRALDINHA, "1.000", 1800)])
    posting = finance.sale_returned(event, LATER, reverses="entry-1")
    assert posting is not None
    assert posting.lines == (
        Line(account, credit_cents=4500),
        Line("receita_vendas", debit_cents=2700, product_id=PICANHA),
        Line("receita_vendas", debit_cents=1800, product_id=FRALDINHA),
    )
    assert (posting.cause, posting.cause_id, posting.sale_id) == ("sale.returned", RETURN, SALE)
    assert (posting.payment_method, posting.reverses, posting.occurred_at) == (
        method,
        "entry-1",
        LATER,
    )
    assert posting.meta["reason"] == "veio com osso"
    assert posting.meta["items"][0] == {
        "product_id": PICANHA,
        "quantity": "0.500",
        "refund_cents": 2700,
    }
    assert _balances(posting) == 4500


def test_a_returned_product_named_twice_gets_one_revenue_line() -> None:
    event = _returned("cash", [(PICANHA, "0.500", 2700), (PICANHA, "0.250", 1350), (ACEM, "1", 0)])
    posting = finance.sale_returned(event, LATER)
    assert posting is not None
    assert posting.lines == (
        Line("caixa", credit_cents=4050),
        Line("receita_vendas", debit_cents=4050, product_id=PICANHA),
    )


def test_a_return_that_refunds_nothing_posts_nothing() -> None:
    assert finance.sale_returned(_returned("pix", [(PICANHA, "1.000", 0)]), LATER) is None


def test_a_return_whose_items_disagree_with_its_total_is_refused() -> None:
    event = _returned("pix", [(PICANHA, "1.000", 100)]).model_copy(update={"refund_cents": 99})
    with pytest.raises(PostingError, match="refund 100, the return says 99"):
        finance.sale_returned(event, LATER)


def test_a_card_return_leaves_the_fee_with_the_shop() -> None:
    """The acquirer keeps its fee on a partial refund: the return touches no fee line."""
    sale = finance.payment_approved(_approved("credit", 15000, 449), [(PICANHA, 15000)], WHEN)
    back = finance.sale_returned(_returned("credit", [(PICANHA, "1.000", 5000)]), LATER)
    assert back is not None
    assert "taxas_cartao" not in _accounts(back)
    assert _accounts(sale, back) == {
        "recebiveis_cartao": 15000 - 449 - 5000,
        "receita_vendas": -10000,
        "taxas_cartao": 449,
    }


# -- a cancellation's refund after returns: the rest -------------------------------------------


def test_a_refund_with_no_returns_is_the_plain_reversal() -> None:
    sale = finance.payment_approved(_approved("debit", 6000, 59), [(PICANHA, 6000)], WHEN)
    assert sale is not None
    assert finance.refund_rest(sale, [], "payment.refunded", PAYMENT, LATER, "e1") == (
        sale.reversal("payment.refunded", PAYMENT, LATER, "e1")
    )


def test_a_refund_after_a_return_reverses_only_the_rest_and_the_whole_fee() -> None:
    sale = finance.payment_approved(
        _approved("credit", 10000, 300), [(PICANHA, 6000), (FRALDINHA, 4000)], WHEN
    )
    assert sale is not None
    back = finance.sale_returned(_returned("credit", [(PICANHA, "1.000", 3000)]), LATER)
    assert back is not None
    rest = finance.refund_rest(sale, [back], "payment.refunded", PAYMENT, LATER, "e1")
    assert rest is not None
    assert rest.lines == (
        Line("recebiveis_cartao", credit_cents=7000),
        Line("receita_vendas", debit_cents=3000, product_id=PICANHA),
        Line("receita_vendas", debit_cents=4000, product_id=FRALDINHA),
        Line("taxas_cartao", credit_cents=300),
        Line("recebiveis_cartao", debit_cents=300),
    )
    assert (rest.cause, rest.cause_id, rest.reverses) == ("payment.refunded", PAYMENT, "e1")
    assert (rest.sale_id, rest.payment_method) == (SALE, "credit")
    assert rest.meta["returned_cents"] == 3000
    assert _net(sale, back, rest) == {}


def test_a_cut_a_return_took_a_centavo_too_much_from_is_evened_on_the_other_side() -> None:
    """Sales splits a returned part its own way; a cut may be a centavo over: the rest puts
    it back, and the entry still balances."""
    sale = finance.payment_approved(
        _approved("pix", 1000), [(PICANHA, 1000), (FRALDINHA, 2000)], WHEN
    )  # 333 / 667
    assert sale is not None
    back = finance.sale_returned(_returned("pix", [(PICANHA, "1.000", 334)]), LATER)
    assert back is not None
    rest = finance.refund_rest(sale, [back], "payment.refunded", PAYMENT, LATER, "e1")
    assert rest is not None
    assert rest.lines == (
        Line("banco", credit_cents=666),
        Line("receita_vendas", credit_cents=1, product_id=PICANHA),
        Line("receita_vendas", debit_cents=667, product_id=FRALDINHA),
    )
    assert _net(sale, back, rest) == {}


def test_nothing_is_left_to_refund_after_everything_came_back() -> None:
    sale = finance.payment_approved(_approved("fiado", 500), [(PICANHA, 500)], WHEN)
    assert sale is not None
    back = finance.sale_returned(_returned("fiado", [(PICANHA, "1.000", 500)]), LATER)
    assert back is not None
    assert finance.refund_rest(sale, [back], "payment.refunded", PAYMENT, LATER, "e1") is None


def test_a_card_sale_fully_returned_then_cancelled_gives_back_only_the_fee() -> None:
    sale = finance.payment_approved(_approved("debit", 500, 10), [(PICANHA, 500)], WHEN)
    assert sale is not None
    back = finance.sale_returned(_returned("debit", [(PICANHA, "1.000", 500)]), LATER)
    assert back is not None
    rest = finance.refund_rest(sale, [back], "payment.refunded", PAYMENT, LATER, "e1")
    assert rest is not None
    assert rest.lines == (
        Line("taxas_cartao", credit_cents=10),
        Line("recebiveis_cartao", debit_cents=10),
    )
    assert _net(sale, back, rest) == {}


cuts = st.lists(st.integers(0, 2_000_000), min_size=1, max_size=5)


@given(
    st.sampled_from(["cash", "pix", "debit", "credit", "fiado"]),
    st.integers(1, 100_000_000),
    st.integers(0, 300_000),
    cuts,
    st.lists(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 10**8)), max_size=4), max_size=4),
    st.booleans(),
)
@example("pix", 1000, 0, [1000, 2000], [[(0, 334)], [(1, 666)]], True)
@example("credit", 10000, 300, [6000, 4000], [[(0, 3000)]], True)
@example("fiado", 1, 0, [1], [[(0, 1)]], False)
def test_sale_returns_and_refund_always_balance_and_net_to_zero(
    method: Any,
    amount: int,
    fee: int,
    totals: list[int],
    returns: list[list[tuple[int, int]]],
    cancelled: bool,
) -> None:
    """Any sale, any returns that together give back at most what was paid (split over
    the cuts in any way), then a cancellation: each posting balances, the returns touch
    neither the fee nor another account than the sale's, and with the cancellation every
    account and every cut's revenue is back to zero."""
    fee = fee if method in ("debit", "credit") else 0
    products = [f"p{i}" for i in range(len(totals))]
    sale = finance.payment_approved(
        _approved(method, amount, fee), list(zip(products, totals, strict=True)), WHEN
    )
    assert sale is not None
    _balances(sale)
    left = amount
    backs: list[Posting] = []
    for n, parts in enumerate(returns):
        items = []
        for index, cents in parts:
            take = min(cents, left)
            left -= take
            items.append((products[index % len(products)], "1.000", take))
        if not items:
            continue
        back = finance.sale_returned(_returned(method, items, return_id=f"r{n}"), LATER)
        if back is None:
            continue
        assert _balances(back) == sum(c for _, _, c in items)
        assert set(_accounts(back)) <= {finance.PAYMENT_ACCOUNT[method], "receita_vendas"}
        backs.append(back)
    assert finance.returned_cents(backs) == amount - left
    money = finance.PAYMENT_ACCOUNT[method]
    standing = _accounts(sale, *backs)
    assert standing.get("receita_vendas", 0) == -left
    assert standing.get("taxas_cartao", 0) == fee
    assert standing.get(money, 0) == left - fee
    if cancelled:
        rest = finance.refund_rest(sale, backs, "payment.refunded", PAYMENT, LATER, "e1")
        if rest is None:
            assert (left, fee) == (0, 0)
        else:
            _balances(rest)
            if left:
                assert rest.lines[0] == Line(money, credit_cents=left)
        assert _net(sale, *backs, rest) == {}


# -- an operator's sangria / suprimento -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "debited", "credited"),
    [("sangria", "banco", "caixa"), ("suprimento", "caixa", "banco")],
)
def test_a_till_movement_is_a_cash_operation_naming_its_session(
    kind: Any, debited: str, credited: str
) -> None:
    event = TillMovementRecorded(
        movement_id="mv-9",
        session_id="ses-1",
        operator_id="op-1",
        kind=kind,
        amount_cents=20000,
        reason="depósito",
    )
    posting = finance.till_movement(event, WHEN)
    assert posting.lines == (Line(debited, debit_cents=20000), Line(credited, credit_cents=20000))
    assert (posting.cause, posting.cause_id, posting.occurred_at) == (kind, "mv-9", WHEN)
    assert posting.meta == {"reason": "depósito", "session_id": "ses-1", "operator_id": "op-1"}
    assert posting.payment_method is None


def test_quantities_in_a_return_keep_their_places() -> None:
    event = _returned("cash", [(PICANHA, "0.5", 100)])
    assert event.items[0].quantity == Decimal("0.500")
