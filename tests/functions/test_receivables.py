"""Card receivables (issue 18) on the real PostgreSQL: the `receivables` function's entry
point (events, API with tokens and roles, the daily ping) beside post-ledger-entry's
subscriber, each test on a fresh database so that recebíveis de cartão's balance is this
test's alone. The invariant checked after every step: the trial balance is balanced and
recebíveis de cartão equals the net of the settlements still expected."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from functions.finance import receivables, reports, service, store
from functions.finance.receivables_rules import ReceivableSettings, schedule, split
from shared import shop_time
from shared.auth.principal import Principal, Role
from shared.auth.tokens import StaticKeys, TokenIssuer, TokenVerifier
from shared.contracts import endpoints as api
from shared.db.migrations import role_name
from shared.domain_errors import Invalid, NotYet
from shared.events.envelope import PING_TYPE, Envelope, new_envelope
from shared.events.payments import PaymentApproved, PaymentFacts, PaymentRefunded, decider_of
from shared.events.registry import Payload, type_of
from shared.events.sales import SaleCompleted, SaleReturned
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber
from tests.functions.support import function_runtime
from tests.support import database as test_database
from tests.support.database import ProvisionedDatabase
from tooling.manifests import REPO_ROOT

ISSUER = TokenIssuer(
    Ed25519PrivateKey.generate(), issuer="acougue-auth", audience="acougue", ttl_seconds=900
)
LIST = "/api/finance/receivables"
SETTLE = "/api/finance/receivables/settle"
PING_SOURCE = "/apis/v1/namespaces/acougue-system/pingsources/settle-receivables"
# 12:00 in São Paulo on a day long past: every settlement of it is due.
NOON = datetime(2020, 3, 10, 15, tzinfo=UTC)
DAY = date(2020, 3, 10)
RACERS = 6


def person(role: Role) -> Principal:
    return Principal(user_id=str(uuid.uuid4()), username=f"u-{role}", role=role)


ADMIN = person(Role.ADMIN)


def auth(who: Principal = ADMIN) -> dict[str, str]:
    return {"Authorization": f"Bearer {ISSUER.issue(who).token}"}


def _asgi(runtime: Runtime, events: Subscriber, calls: Any) -> Any:
    """main.py's `receivables` target: the same `answer` over the same parts."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await receivables.answer(Request(scope, receive), runtime, events, calls)
        await response(scope, receive, send)

    return app


@dataclass
class Shop:
    runtime: Runtime
    ledger: Subscriber
    cards: Subscriber
    http: httpx.AsyncClient
    products: dict[str, str] = field(default_factory=dict)  # each sale's one cut

    async def sale(self, amount: int) -> str:
        """A completed sale finance knows (its items, for revenue per cut)."""
        sale = SaleCompleted.model_validate(
            {
                "sale_id": str(uuid.uuid4()),
                "seller_id": None,
                "attempt": 1,
                "total_cents": amount,
                "payment": {"method": "credit"},
                "items": [
                    {
                        "product_id": str(uuid.uuid4()),
                        "quantity": "1.000",
                        "unit_price_cents": amount,
                        "total_cents": amount,
                        "name": "Picanha",
                    }
                ],
                "subtotal_cents": amount,
                "discount_cents": 0,
            }
        )
        async with await self.runtime.unit_of_work() as uow:
            await service.sale_completed(uow, sale)
            await uow.commit()
        self.products[sale.sale_id] = sale.items[0].product_id
        return sale.sale_id

    async def deliver(self, payload: Payload, when: datetime) -> Envelope:
        """The same event to both subscribers of the finance schema, as the broker does."""
        event = _envelope(payload, when)
        assert await self.ledger.apply(event) is True
        assert await self.cards.apply(event) is True
        return event

    async def approve(
        self,
        method: str,
        amount: int,
        fee: int,
        when: datetime = NOON,
        installments: int | None = None,
    ) -> PaymentApproved:
        payment = PaymentApproved(
            payment_id=str(uuid.uuid4()),
            sale_id=await self.sale(amount),
            attempt=1,
            method=method,
            amount_cents=amount,
            fee_cents=fee,
            installments=installments,
        )
        await self.deliver(payment, when)
        return payment

    async def refund(self, payment: PaymentApproved, when: datetime) -> None:
        refund = PaymentRefunded(
            payment_id=payment.payment_id,
            sale_id=payment.sale_id,
            attempt=payment.attempt,
            method=payment.method,
            amount_cents=payment.amount_cents,
            fee_cents=payment.fee_cents,
        )
        await self.deliver(refund, when)

    def returned(
        self,
        payment: PaymentApproved,
        cents: int,
        return_id: str | None = None,
        method: str | None = None,
    ) -> SaleReturned:
        """Part of the sale back, as return-sale tells it."""
        return SaleReturned.model_validate(
            {
                "sale_id": payment.sale_id,
                "return_id": return_id or str(uuid.uuid4()),
                "seller_id": None,
                "items": [
                    {
                        "product_id": self.products[payment.sale_id],
                        "quantity": "0.100",
                        "refund_cents": cents,
                    }
                ],
                "refund_cents": cents,
                "payment_method": method or payment.method,
                "reason": "Devolução parcial",
            }
        )

    async def give_back(self, part: SaleReturned, when: datetime) -> Envelope:
        """A return delivered to both subscribers, as the broker does."""
        return await self.deliver(part, when)

    async def rows(self, payment_id: str | None = None) -> list[dict[str, Any]]:
        answer = await self.http.get(LIST, params={"limit": "5000"}, headers=auth())
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return [r for r in items if payment_id is None or r["payment_id"] == payment_id]

    async def settle(self, until: date) -> dict[str, int]:
        async with await self.runtime.unit_of_work() as uow:
            result = await receivables.settle(uow, until, shop_time.today())
            await uow.commit()
        return result

    async def balances(self) -> dict[str, int]:
        """Each account's balance on its normal side; asserts the books balance and the
        invariant: recebíveis de cartão is the net still expected."""
        async with await self.runtime.unit_of_work() as uow:
            trial = reports.trial_balance(await store.trial_balance(uow.conn, None))
            cursor = await uow.conn.execute(
                "SELECT coalesce(sum(net_cents), 0) AS net FROM card_settlements"
                " WHERE status = 'expected'"
            )
            expected = int((await cursor.fetchone() or {"net": 0})["net"])
        assert trial["total_debit_cents"] == trial["total_credit_cents"]
        found = {a["account"]: a["balance_cents"] for a in trial["accounts"]}
        assert found["recebiveis_cartao"] == expected
        return found

    async def sql(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        async with await self.runtime.unit_of_work() as uow:
            cursor = await uow.conn.execute(query, params)
            return list(await cursor.fetchall())


def _envelope(payload: Payload, when: datetime) -> Envelope:
    if isinstance(payload, SaleReturned):
        envelope = new_envelope(
            type_=type_of(SaleReturned),
            source="/acougue/return-sale",
            subject=payload.sale_id,
            data=payload.model_dump(mode="json"),
        )
        return envelope.model_copy(update={"time": when})
    assert isinstance(payload, PaymentFacts)
    envelope = new_envelope(
        type_=type_of(type(payload)),
        source=decider_of(payload.method),
        subject=payload.payment_id,
        data=payload.model_dump(mode="json"),
    )
    return envelope.model_copy(update={"time": when})


@pytest.fixture(scope="module")
async def template(admin_database_url: str) -> AsyncIterator[ProvisionedDatabase]:
    """Every domain provisioned once; each test gets a copy of it."""
    db = await test_database.create(admin_database_url)
    yield db
    test_database.drop(admin_database_url, db)


@pytest.fixture
def fresh(admin_database_url: str, template: ProvisionedDatabase) -> Iterator[ProvisionedDatabase]:
    """A database of this test's own (a copy of the template: same roles, fresh rows): the
    ledger is append-only and recebíveis' balance must be this test's alone."""
    name = f"{template.name}_{secrets.token_hex(3)}"
    with psycopg.connect(admin_database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template.name)
            )
        )
        # A role's search path is set per database (migrations): the copy needs its own.
        conn.execute(
            sql.SQL("ALTER ROLE {} IN DATABASE {} SET search_path TO finance").format(
                sql.Identifier(role_name(template.role_prefix, "finance")), sql.Identifier(name)
            )
        )
    params = conninfo_to_dict(template.admin_dsn)
    params["dbname"] = name
    admin_dsn = make_conninfo(**{k: str(v) for k, v in params.items()})
    yield ProvisionedDatabase(admin_dsn, name, template.role_prefix, template.passwords)
    with psycopg.connect(admin_database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
async def shop(fresh: ProvisionedDatabase) -> AsyncIterator[Shop]:
    runtime = function_runtime(
        fresh, "finance", "receivables", k_sink=None, db_pool_min=1, db_pool_max=RACERS + 2
    )
    runtime.verifier = TokenVerifier(
        StaticKeys(ISSUER.jwks()), issuer="acougue-auth", audience="acougue"
    )
    ledger_runtime = function_runtime(fresh, "finance", "post_ledger_entry", k_sink=None)
    ledger = Subscriber(
        ledger_runtime,
        [
            On.applying(SaleCompleted, service.sale_completed),
            On(PaymentApproved, service.payment_approved),
            On(PaymentRefunded, service.payment_refunded),
            On(SaleReturned, service.sale_returned),
        ],
    )
    cards = receivables.subscriber(runtime, ReceivableSettings())
    app = _asgi(runtime, cards, receivables.http(runtime))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r") as h:
        yield Shop(runtime, ledger, cards, h)
    await runtime.pool.close()
    await ledger_runtime.pool.close()


# -- the rules ------------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=24))
def test_a_split_adds_up_exactly_and_its_parts_differ_by_at_most_a_centavo(
    total: int, parts: int
) -> None:
    found = split(total, parts)
    assert len(found) == parts
    assert sum(found) == total
    assert min(found) >= 0
    assert max(found) - min(found) <= 1
    assert found == sorted(found, reverse=True)  # the spare centavos go first


@given(
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=0, max_value=2000),
    st.integers(min_value=1, max_value=12),
)
def test_a_credit_schedule_splits_gross_and_fee_and_nets_to_what_the_ledger_booked(
    amount: int, bps: int, installments: int
) -> None:
    fee = amount * bps // 10_000
    rows = schedule("credit", amount, fee, installments, DAY, ReceivableSettings())
    assert [r.installment for r in rows] == list(range(1, installments + 1))
    assert sum(r.gross_cents for r in rows) == amount
    assert sum(r.fee_cents for r in rows) == fee
    assert sum(r.net_cents for r in rows) == amount - fee
    for part in ("gross_cents", "fee_cents"):
        values = [getattr(r, part) for r in rows]
        assert min(values) >= 0
        assert max(values) - min(values) <= 1
    assert all(r.net_cents >= 0 for r in rows)


def test_the_settings_fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ReceivableSettings().card_debit_settlement_days == 1
    assert ReceivableSettings().card_credit_installment_days == 30
    for name, value in [
        ("CARD_DEBIT_SETTLEMENT_DAYS", "-1"),
        ("CARD_DEBIT_SETTLEMENT_DAYS", "61"),
        ("CARD_CREDIT_INSTALLMENT_DAYS", "trinta"),
        ("CARD_CREDIT_INSTALLMENT_DAYS", "121"),
    ]:
        monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match=name.lower()):
            ReceivableSettings()
        monkeypatch.delenv(name)
    monkeypatch.setenv("CARD_CREDIT_INSTALLMENT_DAYS", "28")
    assert ReceivableSettings().card_credit_installment_days == 28


def test_main_wires_the_receivables_target() -> None:
    """main.py's own subscriber for `receivables` (imported in a child: it configures
    logging) takes both payment events, with an inbox key of its own."""
    code = (
        "import json\n"
        "from functions.finance import main\n"
        "sub = main._receivables_events\n"
        "print(json.dumps([type(sub).__name__, getattr(sub, 'consumer', None),"
        " sorted(sub.handlers)]))\n"
    )
    env = {
        **os.environ,
        "FUNCTION_TARGET": "receivables",
        "DATABASE_URL": "postgresql://unused@127.0.0.1:1/unused",
        "AUTH_JWKS_URL": "http://127.0.0.1:1/unused",
        "EVENT_AUTHENTICATION": "off",
    }
    answer = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=REPO_ROOT,
        env=env,
    )
    assert answer.returncode == 0, answer.stderr
    kind, consumer, handles = json.loads(answer.stdout.strip().splitlines()[-1])
    assert kind == "Subscriber"
    assert consumer == "receivables"
    assert handles == sorted(type_of(m) for m in (PaymentApproved, PaymentRefunded, SaleReturned))


# -- expected settlements -------------------------------------------------------------------


async def test_a_debit_card_settles_the_next_day(shop: Shop) -> None:
    # 23:30 in São Paulo (02:30 UTC the next day): the shop's day is still the 10th.
    late = datetime(2020, 3, 11, 2, 30, tzinfo=UTC)
    payment = await shop.approve("debit", 15000, 149, when=late)
    [row] = await shop.rows(payment.payment_id)
    assert row == {
        "id": row["id"],
        "payment_id": payment.payment_id,
        "sale_id": payment.sale_id,
        "method": "debit",
        "kind": "installment",
        "installment": 1,
        "installments": 1,
        "approved_on": "2020-03-10",
        "expected_on": "2020-03-11",
        "gross_cents": 15000,
        "fee_cents": 149,
        "net_cents": 14851,
        "status": "expected",
        "settled_on": None,
    }
    assert (await shop.balances())["recebiveis_cartao"] == 14851


async def test_a_credit_sale_in_three_installments_splits_exactly(shop: Shop) -> None:
    payment = await shop.approve("credit", 10001, 299, installments=3)
    rows = await shop.rows(payment.payment_id)
    assert [
        (r["installment"], r["installments"], r["expected_on"], r["gross_cents"], r["fee_cents"])
        for r in rows
    ] == [
        (1, 3, "2020-04-09", 3334, 100),
        (2, 3, "2020-05-09", 3334, 100),
        (3, 3, "2020-06-08", 3333, 99),
    ]
    assert [r["net_cents"] for r in rows] == [3234, 3234, 3234]
    assert (await shop.balances())["recebiveis_cartao"] == 10001 - 299


async def test_other_methods_expect_nothing(shop: Shop) -> None:
    for method in ("pix", "cash"):
        await shop.approve(method, 5000, 0)
    assert await shop.rows() == []
    await shop.balances()


async def test_a_redelivered_approval_adds_nothing(shop: Shop) -> None:
    payment = await shop.approve("credit", 9000, 270, installments=3)
    again = _envelope(payment, NOON)  # the same event again: the inbox takes one
    assert sorted(await asyncio.gather(*(shop.cards.apply(again) for _ in range(3)))) == [
        False,
        False,
        True,
    ]
    # A republish under a new id: the rows' own key (payment, installment) holds.
    assert await shop.cards.apply(_envelope(payment, NOON)) is True
    assert len(await shop.rows(payment.payment_id)) == 3
    await shop.balances()


async def test_a_wrong_decider_is_refused(shop: Shop) -> None:
    payment = PaymentApproved(
        payment_id=str(uuid.uuid4()),
        sale_id=str(uuid.uuid4()),
        attempt=1,
        method="credit",
        amount_cents=1000,
        fee_cents=30,
    )
    forged = _envelope(payment, NOON).model_copy(update={"source": decider_of("fiado")})
    with pytest.raises(Invalid):
        await shop.cards.apply(forged)
    assert await shop.rows() == []


# -- refunds ---------------------------------------------------------------------------------


async def test_a_refund_cancels_what_is_still_expected(shop: Shop) -> None:
    payment = await shop.approve("credit", 30000, 897, installments=3)
    await shop.refund(payment, NOON + timedelta(days=2))
    rows = await shop.rows(payment.payment_id)
    assert [r["status"] for r in rows] == ["cancelled"] * 3
    assert (await shop.balances())["recebiveis_cartao"] == 0


async def test_a_refund_after_a_settled_installment_takes_it_back(shop: Shop) -> None:
    payment = await shop.approve("credit", 30000, 897, installments=3)
    first = (await shop.rows(payment.payment_id))[0]
    assert await shop.settle(date.fromisoformat(first["expected_on"])) == {
        "settled": 1,
        "net_cents": first["net_cents"],
    }
    before = await shop.balances()
    await shop.refund(payment, datetime(2020, 4, 20, 15, tzinfo=UTC))
    rows = await shop.rows(payment.payment_id)
    by_installment = {r["installment"]: r for r in rows}
    assert [by_installment[k]["status"] for k in (1, 2, 3)] == ["settled", "cancelled", "cancelled"]
    netting = by_installment[0]
    assert (netting["kind"], netting["status"], netting["expected_on"]) == (
        "refund",
        "expected",
        "2020-04-21",
    )
    assert netting["net_cents"] == -first["net_cents"]
    assert netting["gross_cents"] == -first["gross_cents"]
    after = await shop.balances()  # recebíveis now below zero: owed back to the acquirer
    assert after["recebiveis_cartao"] == -first["net_cents"]
    assert after["banco"] == before["banco"]
    # The acquirer withholds it: the bank gives back what it had received, and the
    # payment nets to zero on both accounts.
    assert await shop.settle(date(2020, 4, 21)) == {"settled": 1, "net_cents": -first["net_cents"]}
    final = await shop.balances()
    assert (final["recebiveis_cartao"], final["banco"]) == (0, 0)
    # A second refund delivery (new id) changes nothing.
    await shop.refund(payment, datetime(2020, 4, 20, 16, tzinfo=UTC))
    assert len(await shop.rows(payment.payment_id)) == 4
    assert (await shop.balances())["banco"] == 0


async def test_a_refund_before_its_approval_waits(shop: Shop) -> None:
    payment = PaymentApproved(
        payment_id=str(uuid.uuid4()),
        sale_id=str(uuid.uuid4()),
        attempt=1,
        method="debit",
        amount_cents=1000,
        fee_cents=10,
    )
    refund = PaymentRefunded(**payment.model_dump(include=set(PaymentRefunded.model_fields)))
    answer = await shop.http.post(
        "/",
        content=json.dumps(refund.model_dump(mode="json")),
        headers={
            "ce-specversion": "1.0",
            "ce-id": str(uuid.uuid4()),
            "ce-type": type_of(PaymentRefunded),
            "ce-source": decider_of("debit"),
            "content-type": "application/json",
        },
    )
    assert answer.status_code == 409, answer.text  # retried until the approval is here


# -- partial returns ---------------------------------------------------------------------------


async def test_a_partial_return_takes_back_what_the_ledger_credited(shop: Shop) -> None:
    """A return of part of a credit sale, one installment already paid: what the ledger
    credited to recebíveis (the refund_cents; the fee stays with the acquirer) becomes one
    negative row, due the day after the return, once however often its event arrives."""
    payment = await shop.approve("credit", 30000, 897, installments=3)
    first = (await shop.rows(payment.payment_id))[0]
    await shop.settle(date.fromisoformat(first["expected_on"]))
    before = await shop.balances()
    part = shop.returned(payment, 5000)
    await shop.give_back(part, datetime(2020, 4, 20, 15, tzinfo=UTC))
    after = await shop.balances()  # the invariant holds
    assert before["recebiveis_cartao"] - after["recebiveis_cartao"] == 5000
    [row] = [r for r in await shop.rows(payment.payment_id) if r["kind"] == "return"]
    assert (row["gross_cents"], row["fee_cents"], row["net_cents"]) == (-5000, 0, -5000)
    assert (row["status"], row["expected_on"], row["installment"]) == ("expected", "2020-04-21", 0)
    # The same return again, under a new event id: nothing more (the ledger posts it once).
    await shop.give_back(part, datetime(2020, 4, 20, 16, tzinfo=UTC))
    assert len(await shop.rows(payment.payment_id)) == 4
    assert await shop.balances() == after
    # Everything settled: the bank has the sale's net less what came back.
    await shop.settle(shop_time.today())
    final = await shop.balances()
    assert final["recebiveis_cartao"] == 0
    assert final["banco"] == 30000 - 897 - 5000


async def test_a_refund_after_returns_nets_what_they_settled(shop: Shop) -> None:
    payment = await shop.approve("debit", 20000, 198)  # due 2020-03-11
    await shop.give_back(shop.returned(payment, 3000), NOON)  # due 2020-03-11 as well
    await shop.settle(date(2020, 3, 11))
    await shop.give_back(shop.returned(payment, 1000), NOON + timedelta(days=5))  # expected
    await shop.balances()
    await shop.refund(payment, NOON + timedelta(days=6))
    rows = {(r["kind"], r["status"], r["net_cents"]) for r in await shop.rows(payment.payment_id)}
    assert rows == {
        ("installment", "settled", 19802),
        ("return", "settled", -3000),
        ("return", "cancelled", -1000),
        ("refund", "expected", -(19802 - 3000)),
    }
    await shop.balances()
    await shop.settle(shop_time.today())
    final = await shop.balances()
    assert (final["recebiveis_cartao"], final["banco"]) == (0, 0)
    # A return after the refund: the refund took it back already, here as in the ledger.
    await shop.give_back(shop.returned(payment, 500), NOON + timedelta(days=7))
    assert len(await shop.rows(payment.payment_id)) == 4
    assert await shop.balances() == final


async def test_returns_the_ledger_refuses_are_refused_here_too(shop: Shop) -> None:
    payment = await shop.approve("credit", 10000, 299, installments=2)
    await shop.give_back(shop.returned(payment, 6000), NOON)
    before = await shop.balances()
    for part in (
        shop.returned(payment, 4001),  # more than the sale was paid, with the earlier one
        shop.returned(payment, 100, method="debit"),  # the other card
    ):
        event = _envelope(part, NOON)
        for subscriber in (shop.ledger, shop.cards):
            with pytest.raises(Invalid):
                await subscriber.apply(event)
    assert await shop.balances() == before
    assert len(await shop.rows(payment.payment_id)) == 3
    # Exactly what is left is fine.
    await shop.give_back(shop.returned(payment, 4000), NOON)
    assert (await shop.balances())["recebiveis_cartao"] == before["recebiveis_cartao"] - 4000


async def test_a_return_before_its_approval_waits(shop: Shop) -> None:
    unknown = PaymentApproved(
        payment_id=str(uuid.uuid4()),
        sale_id=await shop.sale(1000),
        attempt=1,
        method="debit",
        amount_cents=1000,
        fee_cents=10,
    )
    event = _envelope(shop.returned(unknown, 100), NOON)
    for subscriber in (shop.ledger, shop.cards):
        with pytest.raises(NotYet):
            await subscriber.apply(event)


_return_steps = st.lists(
    st.one_of(
        st.tuples(st.just("return"), st.integers(min_value=0, max_value=10_000)),
        st.tuples(st.just("settle"), st.integers(min_value=0, max_value=200)),
        st.tuples(st.just("refund"), st.integers(min_value=0, max_value=200)),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["debit", "credit"]),
    amount=st.integers(min_value=1, max_value=50_000),
    bps=st.integers(min_value=0, max_value=300),
    installments=st.integers(min_value=1, max_value=6),
    steps=_return_steps,
)
async def test_any_returns_settles_and_refund_keep_recebiveis_the_net_still_expected(
    shop: Shop, method: str, amount: int, bps: int, installments: int, steps: list[Any]
) -> None:
    """Returns (in ten-thousandths of what is left), settles and at most one refund in any
    order: after every step the trial balance has recebíveis de cartão = the net still
    expected; once all is settled, the bank holds the sale's net less what came back (or
    nothing, after a refund)."""
    start = await shop.balances()
    fee = amount * bps // 10_000
    payment = await shop.approve(
        method, amount, fee, installments=installments if method == "credit" else None
    )
    await shop.balances()
    day = shop_time.today(NOON)
    returned = 0
    refunded = False
    for kind, figure in steps:
        when = NOON + timedelta(days=figure)
        if kind == "return":
            cents = (amount - returned) * figure // 10_000
            await shop.give_back(shop.returned(payment, cents), NOON + timedelta(hours=1))
            if not refunded:
                returned += cents
        elif kind == "settle":
            await shop.settle(min(day + timedelta(days=figure), shop_time.today()))
        elif not refunded:
            await shop.refund(payment, when)
            refunded = True
        await shop.balances()
    await shop.settle(shop_time.today())
    final = await shop.balances()
    assert final["recebiveis_cartao"] == start.get("recebiveis_cartao", 0) == 0
    banked = final.get("banco", 0) - start.get("banco", 0)
    assert banked == (0 if refunded else amount - fee - returned)


# -- settling --------------------------------------------------------------------------------


async def _report(shop: Shop, first: date, last: date) -> dict[str, Any]:
    async with await shop.runtime.unit_of_work() as uow:
        found = await store.report(uow.conn, first, last, "day")
    return reports.result(first, last, "day", found)


async def test_settling_moves_exactly_the_net_to_the_bank_once(shop: Shop) -> None:
    debit = await shop.approve("debit", 15000, 149)  # due 2020-03-11
    credit = await shop.approve("credit", 10001, 299, installments=3)  # 04-09, 05-09, 06-08
    report_before = await _report(shop, date(2020, 1, 1), date(2020, 12, 31))
    before = await shop.balances()

    assert await shop.settle(date(2020, 4, 9)) == {"settled": 2, "net_cents": 14851 + 3234}
    after = await shop.balances()
    assert after["banco"] - before["banco"] == 14851 + 3234
    assert before["recebiveis_cartao"] - after["recebiveis_cartao"] == 14851 + 3234
    assert await _report(shop, date(2020, 1, 1), date(2020, 12, 31)) == report_before
    rows = {(r["payment_id"], r["installment"]): r for r in await shop.rows()}
    assert rows[(debit.payment_id, 1)]["status"] == "settled"
    assert rows[(debit.payment_id, 1)]["settled_on"] == "2020-03-11"
    assert rows[(credit.payment_id, 1)]["settled_on"] == "2020-04-09"
    assert rows[(credit.payment_id, 2)]["status"] == "expected"
    entries = await shop.sql(
        "SELECT e.occurred_at, l.account, l.debit_cents, l.credit_cents FROM entries e"
        " JOIN entry_lines l ON l.entry_id = e.id WHERE e.cause = 'card.settlement'"
        " AND e.cause_id = %s ORDER BY l.line",
        (rows[(debit.payment_id, 1)]["id"],),
    )
    assert [(e["account"], e["debit_cents"], e["credit_cents"]) for e in entries] == [
        ("banco", 14851, 0),
        ("recebiveis_cartao", 0, 14851),
    ]
    assert shop_time.today(entries[0]["occurred_at"]) == date(2020, 3, 11)  # the day it arrived
    # Each settlement's entry is announced once, by receivables, as every posting is.
    announced = await shop.sql(
        "SELECT attributes->>'source' AS source, data FROM outbox"
        " WHERE event_type = 'com.acougue.ledger.entry.posted'"
        " AND data->>'cause' = 'card.settlement' ORDER BY id"
    )
    settled = [rows[(debit.payment_id, 1)], rows[(credit.payment_id, 1)]]
    assert [e["data"]["cause_id"] for e in announced] == [r["id"] for r in settled]
    assert [e["data"]["amount_cents"] for e in announced] == [14851, 3234]
    assert {e["source"].rsplit("/", 1)[-1] for e in announced} == {"receivables"}
    assert all(e["data"]["accounts"] == ["banco", "recebiveis_cartao"] for e in announced)

    assert await shop.settle(date(2020, 4, 9)) == {"settled": 0, "net_cents": 0}
    assert await shop.balances() == after
    assert len(await shop.sql("SELECT 1 FROM outbox WHERE data->>'cause' = 'card.settlement'")) == 2


async def test_settle_through_the_api_and_its_refusals(shop: Shop) -> None:
    await shop.approve("debit", 2000, 20)
    answer = await shop.http.post(SETTLE, json={"until": "2020-03-11"}, headers=auth())
    assert (answer.status_code, answer.json()) == (200, {"settled": 1, "net_cents": 1980})
    tomorrow = shop_time.today() + timedelta(days=1)
    answer = await shop.http.post(SETTLE, json={"until": tomorrow.isoformat()}, headers=auth())
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    for body in ({"until": "ontem"}, {}, {"until": "2020-03-11", "extra": 1}):
        answer = await shop.http.post(SETTLE, json=body, headers=auth())
        assert answer.status_code == 422, body
    answer = await shop.http.get(
        LIST, params={"from": "2020-03-12", "to": "2020-03-11"}, headers=auth()
    )
    assert answer.status_code == 422
    answer = await shop.http.get(LIST, params={"status": "cancelled"}, headers=auth())
    assert answer.status_code == 422


async def test_the_list_filters_and_totals(shop: Shop) -> None:
    await shop.approve("debit", 15000, 149)  # 03-11
    await shop.approve("credit", 10001, 299, installments=3)  # 04-09, 05-09, 06-08
    await shop.settle(date(2020, 3, 31))

    async def listing(**params: str) -> dict[str, Any]:
        answer = await shop.http.get(LIST, params=params, headers=auth())
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        return data

    everything = await listing()
    assert [r["expected_on"] for r in everything["items"]] == [
        "2020-03-11",
        "2020-04-09",
        "2020-05-09",
        "2020-06-08",
    ]
    assert everything["totals"] == {
        "expected_count": 3,
        "expected_net_cents": 9702,
        "settled_count": 1,
        "settled_net_cents": 14851,
    }
    expected = await listing(status="expected", **{"from": "2020-04-10", "to": "2020-06-08"})
    assert [r["expected_on"] for r in expected["items"]] == ["2020-05-09", "2020-06-08"]
    assert expected["totals"]["expected_net_cents"] == 6468
    assert expected["totals"]["settled_count"] == 0
    settled = await listing(status="settled")
    assert [r["status"] for r in settled["items"]] == ["settled"]
    assert len((await listing(limit="2"))["items"]) == 2
    assert (await listing(limit="2"))["totals"] == everything["totals"]


async def test_concurrent_settles_settle_each_row_once(shop: Shop) -> None:
    for k in range(10):
        await shop.approve("debit", 1000 + k, 10, when=NOON + timedelta(days=k))
    before = await shop.balances()
    results = await asyncio.gather(*(shop.settle(date(2020, 12, 31)) for _ in range(RACERS)))
    assert sum(r["settled"] for r in results) == 10
    assert sum(r["net_cents"] for r in results) == sum(1000 + k - 10 for k in range(10))
    [count] = await shop.sql("SELECT count(*) AS n FROM entries WHERE cause = 'card.settlement'")
    assert count["n"] == 10
    after = await shop.balances()
    assert after["banco"] - before["banco"] == sum(1000 + k - 10 for k in range(10))


async def test_a_settle_racing_a_refund_never_loses_a_centavo(shop: Shop) -> None:
    payments = [
        await shop.approve("credit", 9000 + k, 270, installments=3, when=NOON - timedelta(days=k))
        for k in range(RACERS)
    ]
    await asyncio.gather(
        shop.settle(date(2020, 5, 31)),
        *(shop.refund(p, datetime(2020, 4, 30, 15, tzinfo=UTC)) for p in payments),
    )
    await shop.balances()
    await shop.settle(shop_time.today())
    final = await shop.balances()
    assert (final["recebiveis_cartao"], final["banco"]) == (0, 0)


# -- the daily ping --------------------------------------------------------------------------


def _ping(source: str = PING_SOURCE, data: Any = None) -> dict[str, Any]:
    return {
        "content": json.dumps({"settle": "receivables"} if data is None else data),
        "headers": {
            "ce-specversion": "1.0",
            "ce-id": str(uuid.uuid4()),
            "ce-type": PING_TYPE,
            "ce-source": source,
            "content-type": "application/json",
        },
    }


async def test_the_daily_ping_settles_everything_due_up_to_today(shop: Shop) -> None:
    now = datetime.now(UTC)
    today = shop_time.today(now)
    # Due today (a debit of yesterday), and one installment due 15 days ago of a credit
    # sale whose second one falls due in 15 days.
    await shop.approve("debit", 5000, 50, when=now - timedelta(days=1))
    credit = await shop.approve("credit", 6000, 180, installments=2, when=now - timedelta(days=45))
    answer = await shop.http.post("/", **_ping())
    assert (answer.status_code, answer.json()) == (200, {"settled": 2, "net_cents": 4950 + 2910})
    rows = {(r["payment_id"], r["installment"]): r for r in await shop.rows()}
    assert rows[(credit.payment_id, 2)]["status"] == "expected"
    assert date.fromisoformat(rows[(credit.payment_id, 2)]["expected_on"]) > today
    assert all(
        r["status"] == "settled"
        for r in rows.values()
        if date.fromisoformat(r["expected_on"]) <= today
    )
    await shop.balances()
    again = await shop.http.post("/", **_ping())
    assert again.json() == {"settled": 0, "net_cents": 0}


async def test_only_the_settle_receivables_ping_is_taken(shop: Shop) -> None:
    await shop.approve("debit", 5000, 50)
    outbox = "/apis/v1/namespaces/acougue-system/pingsources/outbox-sweep"
    for ping in (_ping(source=outbox), _ping(data={"sweep": "outboxes"})):
        answer = await shop.http.post("/", **ping)
        assert answer.status_code == 400, answer.text
    assert [r["status"] for r in await shop.rows()] == ["expected"]


# -- who may -----------------------------------------------------------------------------------


def test_only_an_admin_may_list_or_settle() -> None:
    assert api.LIST_RECEIVABLES.roles == frozenset({Role.ADMIN})
    assert api.SETTLE_RECEIVABLES.roles == frozenset({Role.ADMIN})
    assert api.LIST_RECEIVABLES.function == api.SETTLE_RECEIVABLES.function == "receivables"


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
async def test_other_roles_are_refused(shop: Shop, role: Role) -> None:
    await shop.approve("debit", 5000, 50)
    who = person(role)
    assert (await shop.http.get(LIST, headers=auth(who))).status_code == 403
    answer = await shop.http.post(SETTLE, json={"until": "2020-03-11"}, headers=auth(who))
    assert answer.status_code == 403
    assert (await shop.http.get(LIST)).status_code == 401
    assert (await shop.http.post(SETTLE, json={"until": "2020-03-11"})).status_code == 401
    assert [r["status"] for r in await shop.rows()] == ["expected"]
