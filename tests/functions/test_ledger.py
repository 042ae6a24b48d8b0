"""The ledger on the real PostgreSQL: balance and immutability enforced by the database,
postings once per event, figures computed in SQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any, LiteralString

import psycopg
import psycopg.sql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.finance import service, store
from shared.contracts.finance import ExpenseIn
from shared.events.envelope import Envelope, new_envelope
from shared.events.inventory import Cause, MovementRegistered
from shared.events.payments import PaymentApproved, PaymentRefunded, decider_of
from shared.events.sales import SaleCompleted
from shared.runtime import Runtime
from tests.functions.support import function_runtime
from tests.support.database import ProvisionedDatabase

SAO_PAULO = timedelta(hours=-3)
_years = count(1900)  # each example posts in its own far-off year: the ledger is append-only


@pytest.fixture
def runtime(database: ProvisionedDatabase) -> Runtime:
    return function_runtime(database, "finance", "post_ledger_entry", k_sink=None)


def _event(type_: str, data: Any, when: datetime) -> Envelope:
    # A payment decision counts only from its method's decider (check_decider).
    source = decider_of(data["method"]) if "method" in data else "/tests"
    envelope = new_envelope(type_=type_, source=source, subject="s", data=data)
    return envelope.model_copy(update={"time": when})


async def _sale(runtime: Runtime, items: list[tuple[str, int]]) -> str:
    sale_id = str(uuid.uuid4())
    sale = SaleCompleted.model_validate(
        {
            "sale_id": sale_id,
            "seller_id": None,
            "attempt": 1,
            "total_cents": sum(t for _, t in items),
            "payment": {"method": "pix"},
            "items": [
                {
                    "product_id": p,
                    "quantity": "1.000",
                    "unit_price_cents": t,
                    "total_cents": t,
                    "name": f"P{p[:4]}",
                }
                for p, t in items
            ],
            "subtotal_cents": sum(t for _, t in items),
            "discount_cents": 0,
        }
    )
    async with await runtime.unit_of_work() as uow:
        await service.sale_completed(uow, sale)
        await uow.commit()
    return sale_id


def _approved(sale_id: str, amount: int, method: str, fee: int = 0) -> PaymentApproved:
    return PaymentApproved(
        payment_id=str(uuid.uuid4()),
        sale_id=sale_id,
        attempt=1,
        method=method,
        amount_cents=amount,
        fee_cents=fee,
    )


def _movement(
    kind: str, product_id: str, quantity: str, total: int, sale_id: str | None = None
) -> MovementRegistered:
    return MovementRegistered(
        movement_id=str(uuid.uuid4()),
        product_id=product_id,
        kind=kind,
        quantity=Decimal(quantity),
        unit_cost_cents=0,
        total_cost_cents=total,
        balance_after=Decimal("0"),
        cause=Cause(type="sale" if sale_id else "manual", id=sale_id),
        paid_with="payable" if kind == "receipt" else None,
    )


async def _entry(conn: psycopg.AsyncConnection[Any], occurred_at: LiteralString) -> uuid.UUID:
    """An entry written straight to the table, for the database's own checks to judge the
    lines a test adds (`occurred_at` is SQL: now() is the transaction's time)."""
    entry = uuid.uuid4()
    insert = psycopg.sql.SQL(
        "INSERT INTO entries (id, occurred_at, cause, cause_id, description)"
        " VALUES (%s, {}, 'test', %s, 'x')"
    ).format(psycopg.sql.SQL(occurred_at))
    await conn.execute(insert, (entry, str(entry)))
    return entry


async def test_the_database_refuses_an_unbalanced_entry(database: ProvisionedDatabase) -> None:
    async with await psycopg.AsyncConnection.connect(database.role_dsn("finance")) as conn:
        entry = await _entry(conn, "now()")
        await conn.execute(
            "INSERT INTO entry_lines (entry_id, line, account, debit_cents, occurred_at)"
            " VALUES (%s, 1, 'caixa', 100, now())",
            (entry,),
        )
        await conn.execute(
            "INSERT INTO entry_lines (entry_id, line, account, credit_cents, occurred_at)"
            " VALUES (%s, 2, 'receita_vendas', 99, now())",
            (entry,),
        )
        with pytest.raises(psycopg.errors.CheckViolation, match="does not balance"):
            await conn.commit()


async def test_entries_are_immutable(runtime: Runtime, database: ProvisionedDatabase) -> None:
    async with await runtime.unit_of_work() as uow:
        await service.expense(
            uow,
            ExpenseIn(
                category="energia",
                amount_cents=35000,
                description="Conta de luz",
                occurred_on=date(2026, 11, 5),
                paid_with="bank",
            ),
        )
        await uow.commit()
    async with await psycopg.AsyncConnection.connect(database.role_dsn("finance")) as conn:
        for statement in (
            "UPDATE entry_lines SET debit_cents = 1 WHERE account = 'despesa_energia'",
            "DELETE FROM entries",
            "TRUNCATE entry_lines",
        ):
            with pytest.raises(psycopg.Error, match=r"immutable|permission denied"):
                await conn.execute(statement)
            await conn.rollback()


async def test_a_payment_is_posted_once_however_often_it_arrives(runtime: Runtime) -> None:
    product = str(uuid.uuid4())
    sale_id = await _sale(runtime, [(product, 5000)])
    payment = _approved(sale_id, 5000, "credit", fee=150)
    event = _event(
        "com.acougue.payment.approved", payment.model_dump(mode="json"), datetime.now(UTC)
    )

    async def apply() -> None:
        async with await runtime.unit_of_work() as uow:
            await service.payment_approved(uow, event, payment)
            await uow.commit()

    await asyncio.gather(*(apply() for _ in range(3)), return_exceptions=True)
    await apply()
    async with await runtime.unit_of_work() as uow:
        found = await store.posted(uow.conn, "payment.approved", payment.payment_id)
    assert found is not None
    _, posting = found
    assert [(line.account, line.debit_cents, line.credit_cents) for line in posting.lines] == [
        ("recebiveis_cartao", 5000, 0),
        ("receita_vendas", 0, 5000),
        ("taxas_cartao", 150, 0),
        ("recebiveis_cartao", 0, 150),
    ]


async def _report(runtime: Runtime, day: date) -> dict[str, Any]:
    async with await runtime.unit_of_work() as uow:
        rows = (await store.report(uow.conn, day, day, "day"))["series"]
    return rows[0] if rows else {}


async def test_a_sale_at_half_past_eleven_at_night_belongs_to_that_local_day(
    runtime: Runtime,
) -> None:
    product = str(uuid.uuid4())
    sale_id = await _sale(runtime, [(product, 1234)])
    late = datetime(1899, 3, 10, 23, 30, tzinfo=UTC) - SAO_PAULO  # 02:30 UTC on the 11th
    payment = _approved(sale_id, 1234, "cash")
    async with await runtime.unit_of_work() as uow:
        await service.payment_approved(uow, _event("t", {"method": "cash"}, late), payment)
        await uow.commit()
    assert (await _report(runtime, date(1899, 3, 10)))["revenue_cents"] == 1234
    assert await _report(runtime, date(1899, 3, 11)) == {}


events = st.lists(
    st.one_of(
        st.tuples(
            st.just("sale"),
            st.integers(1, 500_000),
            st.sampled_from(["pix", "cash", "debit", "credit"]),
            st.integers(0, 3000),
            st.booleans(),
        ),
        st.tuples(
            st.just("movement"),
            st.sampled_from(["sale", "refund", "receipt", "loss", "count+", "count-"]),
            st.integers(0, 300_000),
        ),
        st.tuples(
            st.just("expense"),
            st.sampled_from(["aluguel", "energia", "salarios", "outras"]),
            st.integers(1, 900_000),
        ),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events)
async def test_any_sequence_of_events_keeps_the_books_balanced_and_the_figures_exact(
    runtime: Runtime, sequence: list[tuple[Any, ...]]
) -> None:
    year = next(_years)
    when = datetime(year, 6, 15, 15, tzinfo=UTC)
    revenue = cogs = expenses = losses = 0
    for step in sequence:
        async with await runtime.unit_of_work() as uow:
            if step[0] == "sale":
                _, amount, method, fee, refunded = step
                fee = min(fee, amount) if method in ("debit", "credit") else 0
                products = [str(uuid.uuid4()), str(uuid.uuid4())]
                await uow.commit()
                sale_id = await _sale(
                    runtime, [(products[0], amount // 3 + 1), (products[1], amount)]
                )
                payment = _approved(sale_id, amount, method, fee)
                async with await runtime.unit_of_work() as inner:
                    await service.payment_approved(
                        inner, _event("t", {"method": method}, when), payment
                    )
                    if refunded:
                        refund = PaymentRefunded(
                            **payment.model_dump(
                                exclude={
                                    "installments",
                                    "cash_received_cents",
                                    "change_cents",
                                    "pix",
                                    "customer_id",
                                    "customer_name",
                                }
                            )
                        )
                        await service.payment_refunded(
                            inner, _event("t", {"method": method}, when), refund
                        )
                    await inner.commit()
                if not refunded:
                    revenue += amount
                    expenses += fee
                continue
            if step[0] == "movement":
                _, kind, value = step
                product = str(uuid.uuid4())
                signed = {
                    "sale": -value,
                    "refund": value,
                    "receipt": value,
                    "loss": -value,
                    "count+": value,
                    "count-": -value,
                }[kind]
                quantity = "1.000" if signed >= 0 else "-1.000"
                moved = _movement(
                    kind.rstrip("+-"),
                    product,
                    quantity,
                    signed,
                    sale_id=str(uuid.uuid4()) if kind in ("sale", "refund") else None,
                )
                await service.movement(uow, _event("t", {}, when), moved)
                cogs += value if kind == "sale" else -value if kind == "refund" else 0
                losses += value if kind in ("loss", "count-") else -value if kind == "count+" else 0
            else:
                _, category, amount = step
                await service.expense(
                    uow,
                    ExpenseIn(
                        category=category,
                        amount_cents=amount,
                        description="x",
                        occurred_on=(when - timedelta(hours=3)).date(),
                        paid_with="cash",
                    ),
                )
                expenses += amount
            await uow.commit()
    figures = await _report(runtime, date(year, 6, 15)) or {
        "revenue_cents": 0,
        "cogs_cents": 0,
        "expenses_cents": 0,
        "losses_cents": 0,
    }
    assert (figures["revenue_cents"], figures["cogs_cents"]) == (revenue, cogs)
    assert (figures["expenses_cents"], figures["losses_cents"]) == (expenses, losses)
    async with await runtime.unit_of_work() as uow:
        balance = await store.trial_balance(uow.conn, None)
    assert sum(r["debit_cents"] for r in balance) == sum(r["credit_cents"] for r in balance)


async def test_lines_cannot_drift_from_their_entry(database: ProvisionedDatabase) -> None:
    async with await psycopg.AsyncConnection.connect(database.role_dsn("finance")) as conn:
        entry = await _entry(conn, "'2026-01-02 12:00Z'")
        for line, account, debit, credit, when in (
            (1, "caixa", 100, 0, "2026-01-02 12:00Z"),
            (2, "receita_vendas", 0, 100, "2026-02-02 12:00Z"),
        ):
            await conn.execute(
                "INSERT INTO entry_lines (entry_id, line, account, debit_cents, credit_cents,"
                " occurred_at) VALUES (%s, %s, %s, %s, %s, %s)",
                (entry, line, account, debit, credit, when),
            )
        with pytest.raises(psycopg.errors.CheckViolation, match="entry's time"):
            await conn.commit()
