"""Finance's posting rules, pinned with literal account names and amounts: the account
each payment method lands in (for the sale, its refund and the card fee), the accounts of
every stock movement, expense and cash operation, and that every posting balances."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from functions.finance import domain as finance
from functions.finance.domain import Line, Posting, PostingError
from shared.events.inventory import Cause, MovementRegistered
from shared.events.payments import PaymentApproved

PaymentMethod = Literal["pix", "debit", "credit", "cash", "fiado"]
MovementKind = Literal[
    "receipt", "loss", "count", "breakdown_out", "breakdown_in", "sale", "refund"
]
WHEN = datetime(2026, 3, 14, 15, 0, tzinfo=UTC)
LATER = datetime(2026, 3, 14, 16, 0, tzinfo=UTC)
SALE = "5a1e0000-0000-4000-8000-000000000001"
PAYMENT = "9a7e0000-0000-4000-8000-000000000002"
PICANHA = "picanha"
FRALDINHA = "fraldinha"


def _approved(method: PaymentMethod, amount: int, fee: int = 0) -> PaymentApproved:
    return PaymentApproved(
        payment_id=PAYMENT,
        sale_id=SALE,
        attempt=1,
        method=method,
        amount_cents=amount,
        fee_cents=fee,
    )


def _balances(posting: Posting) -> None:
    debits = sum(line.debit_cents for line in posting.lines)
    credits = sum(line.credit_cents for line in posting.lines)
    assert debits == credits > 0


def _by_account(posting: Posting) -> dict[str, int]:
    """Net debit (positive) or credit (negative) per account."""
    net: dict[str, int] = {}
    for line in posting.lines:
        net[line.account] = net.get(line.account, 0) + line.debit_cents - line.credit_cents
    return net


# -- money in, per method ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "account"),
    [
        ("cash", "caixa"),
        ("pix", "banco"),
        ("debit", "recebiveis_cartao"),
        ("credit", "recebiveis_cartao"),
        ("fiado", "clientes_a_receber"),  # no money: the customer owes it
    ],
)
def test_each_payment_method_is_debited_to_its_account(method: PaymentMethod, account: str) -> None:
    posting = finance.payment_approved(_approved(method, 6000), [(PICANHA, 6000)], WHEN)
    assert posting is not None
    assert posting.lines == (
        Line(account, debit_cents=6000),
        Line("receita_vendas", credit_cents=6000, product_id=PICANHA),
    )
    assert posting.cause == "payment.approved"
    assert posting.cause_id == PAYMENT
    assert posting.sale_id == SALE
    assert posting.payment_method == method


@pytest.mark.parametrize(
    ("method", "account", "not_account"), [("pix", "banco", "caixa"), ("cash", "caixa", "banco")]
)
def test_pix_goes_to_the_bank_and_cash_to_the_drawer(
    method: PaymentMethod, account: str, not_account: str
) -> None:
    posting = finance.payment_approved(_approved(method, 4725), [(PICANHA, 4725)], WHEN)
    assert posting is not None
    net = _by_account(posting)
    assert net[account] == 4725
    assert not_account not in net


@pytest.mark.parametrize(
    ("method", "fee", "net"),
    [
        ("debit", 149, {"recebiveis_cartao": 14851, "receita_vendas": -15000, "taxas_cartao": 149}),
        (
            "credit",
            449,
            {"recebiveis_cartao": 14551, "receita_vendas": -15000, "taxas_cartao": 449},
        ),
    ],
)
def test_a_card_fee_is_an_expense_taken_from_the_receivable(
    method: PaymentMethod, fee: int, net: dict[str, int]
) -> None:
    posting = finance.payment_approved(_approved(method, 15000, fee), [(PICANHA, 15000)], WHEN)
    assert posting is not None
    assert posting.lines == (
        Line("recebiveis_cartao", debit_cents=15000),
        Line("receita_vendas", credit_cents=15000, product_id=PICANHA),
        Line("taxas_cartao", debit_cents=fee),
        Line("recebiveis_cartao", credit_cents=fee),
    )
    assert _by_account(posting) == net
    assert posting.meta["fee_cents"] == fee
    _balances(posting)


@pytest.mark.parametrize(
    ("method", "amount", "items", "revenue"),
    [
        # 333.33 / 666.67: the largest remainder takes the odd centavo
        ("pix", 1000, [(PICANHA, 1000), (FRALDINHA, 2000)], [(PICANHA, 333), (FRALDINHA, 667)]),
        # a discounted sale splits what was paid
        ("cash", 9000, [(PICANHA, 6000), (FRALDINHA, 4000)], [(PICANHA, 5400), (FRALDINHA, 3600)]),
        # no known items, or items worth nothing: one revenue line without a product
        ("cash", 500, [], [(None, 500)]),
        ("cash", 500, [(PICANHA, 0), (FRALDINHA, 0)], [(None, 500)]),
        # a cut whose share is zero gets no line; one worth a centavo takes it all
        ("cash", 2, [(PICANHA, 1), (FRALDINHA, 0), ("acem", 1)], [(PICANHA, 1), ("acem", 1)]),
        ("cash", 500, [(PICANHA, 1)], [(PICANHA, 500)]),
    ],
)
def test_revenue_is_split_per_cut_to_the_centavo(
    method: PaymentMethod,
    amount: int,
    items: list[tuple[str, int]],
    revenue: list[tuple[str | None, int]],
) -> None:
    posting = finance.payment_approved(_approved(method, amount), items, WHEN)
    assert posting is not None
    assert posting.lines == (
        Line({"pix": "banco", "cash": "caixa"}[method], debit_cents=amount),
        *(Line("receita_vendas", credit_cents=c, product_id=p) for p, c in revenue),
    )


def test_a_zero_sale_posts_nothing() -> None:
    assert finance.payment_approved(_approved("cash", 0), [(PICANHA, 0)], WHEN) is None


@pytest.mark.parametrize(
    ("method", "amount", "facts", "meta"),
    [
        (
            "cash",
            4725,
            {"attempt": 2, "cash_received_cents": 5000, "change_cents": 275},
            {"attempt": 2, "fee_cents": 0, "cash_received_cents": 5000, "change_cents": 275},
        ),
        (
            "credit",
            15000,
            {"fee_cents": 449, "installments": 3},
            {"attempt": 1, "fee_cents": 449, "installments": 3},
        ),
    ],
)
def test_a_payment_posting_says_what_was_paid_and_keeps_the_payments_facts(
    method: PaymentMethod, amount: int, facts: dict[str, int], meta: dict[str, int]
) -> None:
    """The facts left unset (None) stay out of the meta."""
    event = _approved(method, amount).model_copy(update=facts)
    posting = finance.payment_approved(event, [(PICANHA, amount)], WHEN)
    assert posting is not None
    assert posting.description == f"Venda 5a1e0000 paga ({method})"
    assert (posting.occurred_at, posting.reverses) == (WHEN, None)
    assert posting.meta == {"payment_id": PAYMENT, **meta}


# -- refunds: the reversal of the sale's posting -------------------------------------------


@pytest.mark.parametrize(
    ("method", "account", "fee"),
    [
        ("cash", "caixa", 0),
        ("pix", "banco", 0),
        ("debit", "recebiveis_cartao", 59),
        ("credit", "recebiveis_cartao", 179),
    ],
)
def test_a_refund_takes_the_money_back_out_of_the_same_account(
    method: PaymentMethod, account: str, fee: int
) -> None:
    sale = finance.payment_approved(_approved(method, 6000, fee), [(PICANHA, 6000)], WHEN)
    assert sale is not None
    refund = sale.reversal("payment.refunded", PAYMENT, LATER, "entry-1")
    card_fee = (
        (Line("taxas_cartao", credit_cents=fee), Line("recebiveis_cartao", debit_cents=fee))
        if fee
        else ()
    )
    assert refund.lines == (
        Line(account, credit_cents=6000),
        Line("receita_vendas", debit_cents=6000, product_id=PICANHA),
        *card_fee,
    )
    assert refund.cause == "payment.refunded"
    assert refund.cause_id == PAYMENT
    assert refund.reverses == "entry-1"
    assert refund.occurred_at == LATER
    assert refund.sale_id == SALE
    assert refund.payment_method == method
    assert refund.description == f"Estorno: Venda 5a1e0000 paga ({method})"
    assert refund.meta == sale.meta
    assert refund.meta is not sale.meta  # a copy: the sale's posting stays as it was
    _balances(refund)
    net_sale, net_refund = _by_account(sale), _by_account(refund)
    assert {account: -cents for account, cents in net_sale.items()} == net_refund


# -- stock movements at cost ---------------------------------------------------------------


def _movement(
    kind: MovementKind,
    quantity: str,
    total_cost_cents: int,
    *,
    paid_with: Literal["cash", "bank", "payable"] | None = None,
    cause: Cause | None = None,
    reason: str | None = None,
) -> MovementRegistered:
    return MovementRegistered.model_validate(
        {
            "movement_id": "mv-1",
            "product_id": PICANHA,
            "kind": kind,
            "quantity": quantity,
            "unit_cost_cents": 3290,
            "total_cost_cents": total_cost_cents,
            "balance_after": "10.000",
            "cause": cause or Cause(type="manual", id=None),
            "paid_with": paid_with,
            "reason": reason,
        }
    )


@pytest.mark.parametrize(
    ("event", "lines", "description"),
    [
        (
            _movement("sale", "-1.500", -4935, cause=Cause(type="sale", id=SALE)),
            (Line("cmv", debit_cents=4935, product_id=PICANHA), Line("estoque", credit_cents=4935)),
            "CMV da venda",
        ),
        (
            _movement("refund", "1.500", 4935, cause=Cause(type="sale", id=SALE)),
            (Line("estoque", debit_cents=4935), Line("cmv", credit_cents=4935, product_id=PICANHA)),
            "Estorno de CMV (devolução)",
        ),
        (
            _movement("receipt", "10.000", 32900, paid_with="cash"),
            (Line("estoque", debit_cents=32900), Line("caixa", credit_cents=32900)),
            "Entrada de mercadoria",
        ),
        (
            _movement("receipt", "10.000", 32900, paid_with="bank"),
            (Line("estoque", debit_cents=32900), Line("banco", credit_cents=32900)),
            "Entrada de mercadoria",
        ),
        (
            _movement("receipt", "10.000", 32900, paid_with="payable"),
            (Line("estoque", debit_cents=32900), Line("fornecedores_a_pagar", credit_cents=32900)),
            "Entrada de mercadoria",
        ),
        (
            _movement("receipt", "10.000", 32900),  # no paid_with: bought on credit
            (Line("estoque", debit_cents=32900), Line("fornecedores_a_pagar", credit_cents=32900)),
            "Entrada de mercadoria",
        ),
        (
            _movement("loss", "-0.200", -658),
            (Line("perdas_estoque", debit_cents=658), Line("estoque", credit_cents=658)),
            "Perda de estoque (sem motivo)",
        ),
        (
            _movement("count", "2.500", 8225),
            (Line("estoque", debit_cents=8225), Line("perdas_estoque", credit_cents=8225)),
            "Ajuste de inventário (sobra)",
        ),
        (
            _movement("count", "-0.750", -2468),
            (Line("perdas_estoque", debit_cents=2468), Line("estoque", credit_cents=2468)),
            "Ajuste de inventário (falta)",
        ),
        (
            _movement("count", "0.001", 3),  # the smallest surplus is still a surplus
            (Line("estoque", debit_cents=3), Line("perdas_estoque", credit_cents=3)),
            "Ajuste de inventário (sobra)",
        ),
        (
            _movement("count", "-0.001", -3),
            (Line("perdas_estoque", debit_cents=3), Line("estoque", credit_cents=3)),
            "Ajuste de inventário (falta)",
        ),
        (
            _movement("receipt", "1.000", 3290, cause=Cause(type="manual", id="nota-7")),
            (Line("estoque", debit_cents=3290), Line("fornecedores_a_pagar", credit_cents=3290)),
            "Entrada de mercadoria",  # a cause that is no sale names no sale
        ),
        (
            _movement("loss", "-0.200", -658, reason="avaria"),
            (Line("perdas_estoque", debit_cents=658), Line("estoque", credit_cents=658)),
            "Perda de estoque (avaria)",
        ),
        (
            _movement("sale", "-0.001", -1, cause=Cause(type="sale", id=SALE)),
            (Line("cmv", debit_cents=1, product_id=PICANHA), Line("estoque", credit_cents=1)),
            "CMV da venda",
        ),
    ],
)
def test_each_movement_kind_moves_its_accounts(
    event: MovementRegistered, lines: tuple[Line, ...], description: str
) -> None:
    posting = finance.movement(event, WHEN)
    assert posting is not None
    assert posting.lines == lines
    assert posting.description == description
    assert posting.cause == "inventory.movement"
    assert posting.cause_id == "mv-1"
    assert posting.occurred_at == WHEN
    assert (posting.payment_method, posting.reverses) == (None, None)
    assert posting.sale_id == (SALE if event.cause.type == "sale" else None)
    assert posting.meta == {
        "product_id": PICANHA,
        "kind": event.kind,
        "quantity": str(event.quantity),
    }
    _balances(posting)


@pytest.mark.parametrize(
    "event",
    [
        _movement("breakdown_out", "-5.000", -16450),
        _movement("breakdown_in", "4.000", 16450),
        _movement("count", "2.500", 0),
        _movement("loss", "-0.200", 0),
    ],
)
def test_a_desossa_or_a_movement_without_value_posts_nothing(event: MovementRegistered) -> None:
    assert finance.movement(event, WHEN) is None


# -- expenses and the drawer ---------------------------------------------------------------


@pytest.mark.parametrize(("paid_with", "account"), [("cash", "caixa"), ("bank", "banco")])
def test_an_expense_is_paid_from_the_drawer_or_the_bank(
    paid_with: Literal["cash", "bank"], account: str
) -> None:
    posting = finance.expense(
        "ex-1", "energia", 45000, "Conta de luz", date(2026, 3, 10), paid_with
    )
    assert posting.lines == (
        Line("despesa_energia", debit_cents=45000),
        Line(account, credit_cents=45000),
    )
    assert posting.occurred_at.hour == 12
    assert posting.occurred_at.date() == date(2026, 3, 10)
    assert posting.occurred_at == datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # noon, UTC-3
    assert posting.meta == {"category": "energia", "paid_with": paid_with}
    assert (posting.cause, posting.cause_id) == ("expense", "ex-1")
    assert posting.description == "Conta de luz"
    assert (posting.sale_id, posting.payment_method, posting.reverses) == (None, None, None)


def test_an_expense_of_one_centavo_is_posted() -> None:
    posting = finance.expense("ex-2", "outras", 1, "Sacola", date(2026, 3, 10), "cash")
    assert posting.lines == (Line("despesa_outras", debit_cents=1), Line("caixa", credit_cents=1))


@pytest.mark.parametrize("amount", [0, -1])
def test_an_expense_needs_a_positive_amount(amount: int) -> None:
    with pytest.raises(PostingError, match=r"^an expense has a positive amount$"):
        finance.expense("ex-1", "outras", amount, "x", date(2026, 3, 10), "cash")


@pytest.mark.parametrize(
    ("kind", "reason", "debited", "credited", "description"),
    [
        # sangria takes cash from the drawer to the bank; suprimento brings change back
        ("sangria", "depósito", "banco", "caixa", "Sangria: depósito"),
        ("suprimento", "troco", "caixa", "banco", "Suprimento: troco"),
    ],
)
def test_a_cash_operation_moves_money_between_drawer_and_bank(
    kind: Literal["sangria", "suprimento"],
    reason: str,
    debited: str,
    credited: str,
    description: str,
) -> None:
    posting = finance.cash_operation("op-1", kind, 20000, reason, WHEN)
    assert posting.lines == (Line(debited, debit_cents=20000), Line(credited, credit_cents=20000))
    assert (posting.cause, posting.cause_id, posting.occurred_at) == (kind, "op-1", WHEN)
    assert posting.description == description
    assert posting.meta == {"reason": reason}


def test_a_cash_operation_of_one_centavo_is_posted() -> None:
    posting = finance.cash_operation("op-3", "suprimento", 1, "troco", WHEN)
    assert posting.lines == (Line("caixa", debit_cents=1), Line("banco", credit_cents=1))


@pytest.mark.parametrize("amount", [0, -1])
def test_a_cash_operation_needs_a_positive_amount(amount: int) -> None:
    with pytest.raises(PostingError, match=r"^a cash operation has a positive amount$"):
        finance.cash_operation("op-1", "sangria", amount, "x", WHEN)


# -- every posting balances ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            (Line("caixa", debit_cents=100), Line("banco", credit_cents=99)),
            "debits 100 and credits 99 differ",
        ),
        ((Line("caixa", debit_cents=100),), "a posting needs at least two lines"),
        ((), "a posting needs at least two lines"),
        (
            (Line("caixa", debit_cents=100), Line("banco", credit_cents=100, debit_cents=1)),
            "each line is either a debit or a credit",
        ),
        (
            (Line("caixa", debit_cents=100), Line("banco")),
            "each line is either a debit or a credit",
        ),
        (
            (Line("caixa", debit_cents=-100), Line("banco", credit_cents=-100)),
            "amounts are positive; the side says debit or credit",
        ),
        (
            (Line("caixa", debit_cents=100), Line("banco", credit_cents=-100)),
            "amounts are positive; the side says debit or credit",
        ),
    ],
)
def test_malformed_postings_are_refused(lines: tuple[Line, ...], message: str) -> None:
    with pytest.raises(PostingError, match=f"^{re.escape(message)}$"):
        Posting("x", "1", WHEN, "x", lines)


def test_a_posting_of_two_one_centavo_lines_is_well_formed() -> None:
    posting = Posting("x", "1", WHEN, "x", (Line("caixa", 1), Line("banco", credit_cents=1)))
    assert (posting.meta, posting.reverses, posting.sale_id) == ({}, None, None)


def test_a_line_reverses_by_swapping_its_sides() -> None:
    line = Line("cmv", debit_cents=7, product_id=PICANHA)
    assert line.reversed() == Line("cmv", credit_cents=7, product_id=PICANHA)
    assert line.reversed().reversed() == line


methods = st.sampled_from(["cash", "pix", "debit", "credit", "fiado"])


@given(
    methods,
    st.integers(1, 100_000_000),
    st.integers(0, 3_000_000),
    st.lists(st.integers(0, 10_000_000), max_size=8),
)
@example("debit", 15000, 149, [15000])
@example("pix", 1, 0, [1, 1, 1])
@example("cash", 100_000_000, 0, [0, 0])
def test_every_payment_posting_balances_and_reverses_to_zero(
    method: PaymentMethod, amount: int, fee: int, totals: list[int]
) -> None:
    fee = fee if method in ("debit", "credit") else 0
    items = [(f"p{i}", total) for i, total in enumerate(totals)]
    posting = finance.payment_approved(_approved(method, amount, fee), items, WHEN)
    assert posting is not None
    _balances(posting)
    net = _by_account(posting)
    assert net["receita_vendas"] == -amount
    assert net.get("taxas_cartao", 0) == fee
    refund = posting.reversal("payment.refunded", PAYMENT, LATER, "entry-1")
    _balances(refund)
    combined = _by_account(refund)
    for account, cents in net.items():
        assert combined[account] + cents == 0


@given(
    st.sampled_from(["sale", "refund", "receipt", "loss", "count"]),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("9999.999"), places=3),
    st.integers(1, 10**9),
)
@example("count", Decimal("2.500"), 8225)
def test_every_movement_posting_balances_at_its_value(
    kind: MovementKind, quantity: Decimal, value: int
) -> None:
    signed = -1 if kind in ("sale", "loss") else 1
    event = _movement(kind, str(signed * quantity), signed * value)
    posting = finance.movement(event, WHEN)
    assert posting is not None
    _balances(posting)
    assert sum(line.debit_cents for line in posting.lines) == value
