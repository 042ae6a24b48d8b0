"""The customers domain's rules (functions/customers/domain.py), no I/O: the fiado decision,
the account's arithmetic, the search's normalisation, and who may change what."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from functions.customers import domain
from shared.auth.principal import Role
from shared.contracts.customers import MAX_CREDIT_LIMIT_CENTS, CustomerIn, CustomerPatch
from shared.domain_errors import Forbidden, Invalid
from shared.events.sales import MAX_SALE_CENTS

limits = st.integers(min_value=0, max_value=MAX_CREDIT_LIMIT_CENTS)
cents = st.integers(min_value=0, max_value=MAX_SALE_CENTS)
positive = st.integers(min_value=1, max_value=MAX_SALE_CENTS)


# -- the fiado decision ------------------------------------------------------------------


@given(limit=limits, balance=st.integers(-MAX_SALE_CENTS, MAX_CREDIT_LIMIT_CENTS), amount=cents)
def test_an_active_customer_is_approved_exactly_within_the_limit(
    limit: int, balance: int, amount: int
) -> None:
    decision = domain.decide_fiado(domain.Account(limit, balance, True), amount)
    assert decision.approved == (balance + amount <= limit)
    assert decision.reason == (None if decision.approved else domain.OVER_LIMIT)


def test_the_limit_itself_is_allowed_one_centavo_more_is_not() -> None:
    account = domain.Account(10_000, 4_000, True)
    assert domain.decide_fiado(account, 6_000).approved
    assert domain.decide_fiado(account, 6_001).reason == "limite de fiado excedido"


@given(limit=limits, amount=cents)
def test_an_inactive_customer_is_declined_whatever_the_limit(limit: int, amount: int) -> None:
    decision = domain.decide_fiado(domain.Account(limit, 0, False), amount)
    assert (decision.approved, decision.reason) == (False, "cliente inativo")


@pytest.mark.parametrize(
    ("amount", "attempt"), [(-1, 1), (MAX_SALE_CENTS + 1, 1), (2**63, 1), (1, 0), (1, 2**31)]
)
def test_a_request_no_counter_could_make_is_refused(amount: int, attempt: int) -> None:
    with pytest.raises(Invalid):
        domain.check_charge(amount, attempt)


def test_an_unknown_customer_is_declined() -> None:
    decision = domain.decide_fiado(None, 1)
    assert (decision.approved, decision.reason) == (False, "cliente desconhecido")


# -- the account's arithmetic ------------------------------------------------------------

# One step of an account: a fiado sale, a payment or a refund of some centavos.
steps = st.lists(st.tuples(st.sampled_from(["sale", "payment", "refund"]), positive), max_size=40)


@given(limit=limits, steps=steps)
def test_the_balance_is_the_sum_of_the_entries_and_never_passes_the_limit_by_a_sale(
    limit: int, steps: list[tuple[str, int]]
) -> None:
    """Applying sales (when approved), payments (when not above the balance) and refunds
    keeps: balance == sum of entries; each entry's balance_after is the running sum; a sale
    never takes the balance past the limit; a payment never takes it below 0."""
    balance, entries, afters = 0, [], []
    for kind, amount in steps:
        if kind == "sale":
            if not domain.decide_fiado(domain.Account(limit, balance, True), amount).approved:
                continue
            balance = domain.after_charge(balance, amount)
            assert balance <= limit
            entries.append(amount)
        elif kind == "payment":
            if amount > balance:
                with pytest.raises(Invalid):
                    domain.after_payment(balance, amount)
                continue
            balance = domain.after_payment(balance, amount)
            assert balance >= 0
            entries.append(-amount)
        else:
            balance = domain.after_refund(balance, amount)
            entries.append(-amount)
        afters.append(balance)
    assert balance == sum(entries)
    assert domain.running_balances(0, entries) == afters


@given(balance=cents, amount=positive)
def test_a_payment_above_the_balance_is_refused(balance: int, amount: int) -> None:
    if amount > balance:
        with pytest.raises(Invalid) as caught:
            domain.after_payment(balance, amount)
        assert caught.value.status == 422
    else:
        assert domain.after_payment(balance, amount) == balance - amount


def test_a_payment_of_nothing_is_refused() -> None:
    with pytest.raises(Invalid):
        domain.after_payment(100, 0)


@given(limit=limits, balance=st.integers(-MAX_SALE_CENTS, MAX_SALE_CENTS))
def test_available_is_limit_minus_balance_never_below_zero(limit: int, balance: int) -> None:
    available = domain.available_cents(limit, balance)
    assert available == max(0, limit - balance)
    assert available >= 0


@given(charged=cents, data=st.data())
def test_returns_never_give_back_more_than_the_charge(charged: int, data: st.DataObject) -> None:
    returned = 0
    for amount in data.draw(st.lists(cents, max_size=6)):
        if returned + amount > charged:
            with pytest.raises(Invalid):
                domain.returnable(charged, returned, amount)
            continue
        returned = domain.returnable(charged, returned, amount)
    assert 0 <= returned <= charged
    assert domain.refundable_cents(charged, returned) == charged - returned


# -- search ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("João", "joao"),
        ("  CONCEIÇÃO   Araújo ", "conceicao araujo"),
        ("Ângela", "angela"),
        ("ﬁlé", "file"),  # NFKD takes the ligature apart too
    ],
)
def test_names_are_folded_without_accents_or_case(text: str, folded: str) -> None:
    assert domain.fold(text) == folded


@given(st.text(max_size=50))
def test_folding_is_idempotent(text: str) -> None:
    assert domain.fold(domain.fold(text)) == domain.fold(text)


def test_a_search_reads_digits_only_without_letters() -> None:
    assert domain.search_of("(11) 98765-4321") == domain.Search("(11) 98765-4321", "11987654321")
    assert domain.search_of("123.456.789-09") == domain.Search("123.456.789-09", "12345678909")
    assert domain.search_of("Ana 2") == domain.Search("ana 2", None)
    assert domain.search_of("José") == domain.Search("jose", None)
    assert domain.search_of("   ") is None


# -- who may change what -----------------------------------------------------------------


def test_only_an_admin_gives_a_new_customer_credit() -> None:
    body = CustomerIn(name="Maria", credit_limit_cents=5000)
    domain.check_create(Role.ADMIN, body.model_fields_set)
    with pytest.raises(Forbidden) as caught:
        domain.check_create(Role.VENDEDOR, body.model_fields_set)
    assert caught.value.status == 403
    assert "administrador" in caught.value.detail
    with pytest.raises(Forbidden):  # naming the limit at all, even 0
        domain.check_create(
            Role.VENDEDOR, CustomerIn(name="M", credit_limit_cents=0).model_fields_set
        )
    domain.check_create(Role.VENDEDOR, CustomerIn(name="Maria").model_fields_set)


@pytest.mark.parametrize(
    ("body", "vendedor_may"),
    [
        ({"name": "Maria"}, True),
        ({"phone": "11 98765-4321"}, True),
        ({"phone": None}, True),
        ({"credit_limit_cents": 1000}, False),
        ({"active": False}, False),
        ({"name": "Maria", "active": True}, False),
    ],
)
def test_a_vendedor_changes_only_name_and_phone(
    body: dict[str, object], vendedor_may: bool
) -> None:
    patch = CustomerPatch.model_validate(body)
    domain.check_patch(Role.ADMIN, patch)
    if vendedor_may:
        domain.check_patch(Role.VENDEDOR, patch)
    else:
        with pytest.raises(Forbidden):
            domain.check_patch(Role.VENDEDOR, patch)


@pytest.mark.parametrize("field", ["name", "credit_limit_cents", "active"])
def test_nobody_empties_a_required_field(field: str) -> None:
    with pytest.raises(Invalid):
        domain.check_patch(Role.ADMIN, CustomerPatch.model_validate({field: None}))


def test_a_cpf_with_wrong_check_digits_is_refused_by_the_contract() -> None:
    assert CustomerIn(name="M", cpf="529.982.247-25").cpf == "52998224725"
    with pytest.raises(ValidationError):
        CustomerIn(name="M", cpf="529.982.247-26")
