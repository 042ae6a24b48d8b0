"""The ledger's daily totals (finance migration 002) on the real PostgreSQL: after any
postings they equal the lines' sums per shop day, the report read from them equals the
report summed from the lines, nothing but the lines writes them, and the migration builds
them for a ledger that existed before it."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.rows import dict_row

from functions.finance import reports, store
from functions.finance.domain import Line, Posting
from shared import shop_time
from shared.db.migrations import Domain, provision, role_name
from shared.db.pool import Conn
from tests.support.database import ProvisionedDatabase, _with_database, drop
from tooling.manifests import REPO_ROOT
from tooling.runner.database import role_dsn

MIGRATIONS = REPO_ROOT / "functions" / "finance" / "migrations"
ACCOUNTS = (
    "caixa",
    "banco",
    "recebiveis_cartao",
    "estoque",
    "capital",
    "receita_vendas",
    "cmv",
    "taxas_cartao",
    "perdas_estoque",
    "despesa_aluguel",
)
PRODUCTS = tuple(str(uuid.UUID(int=n)) for n in range(1, 4))
METHODS = (None, "pix", "cash", "debit", "credit")
# São Paulo's last summer time: it began at midnight on 2018-11-04 (no 00:00-00:59 that
# day) and ended at midnight on 2019-02-17 (23:00-23:59 on the 16th twice). Postings fall
# around both, so a day computed with a fixed offset, in UTC or in the session's zone
# would put some of them on the wrong day.
WINDOWS = (datetime(2018, 11, 2, tzinfo=UTC), datetime(2019, 2, 15, tzinfo=UTC))

# The report as it was before the daily totals: one scan of the lines of the range. The
# reference the totals must reproduce.
LINES_REPORT = """
SELECT
    grouping(period) = 0 AS by_period,
    grouping(payment_method) = 0 AS by_method,
    grouping(product_id) = 0 AS by_product,
    period, payment_method, product_id,
    coalesce(sum(credit_cents - debit_cents) FILTER (WHERE report = 'revenue'), 0)
        AS revenue_cents,
    coalesce(sum(debit_cents - credit_cents) FILTER (WHERE report = 'cogs'), 0) AS cogs_cents,
    coalesce(sum(debit_cents - credit_cents) FILTER (WHERE report = 'expense'), 0)
        AS expenses_cents,
    coalesce(sum(debit_cents - credit_cents) FILTER (WHERE report = 'loss'), 0) AS losses_cents
FROM (
    SELECT date_trunc(%(unit)s, l.occurred_at AT TIME ZONE %(zone)s)::date AS period,
           l.payment_method, l.product_id, a.report, l.debit_cents, l.credit_cents
    FROM entry_lines l JOIN accounts a ON a.code = l.account
    WHERE l.occurred_at >= %(since)s AND l.occurred_at < %(until)s AND a.report IS NOT NULL
) AS lines
GROUP BY GROUPING SETS ((period), (payment_method), (product_id))
"""


async def _connect(dsn: str, zone: str = "UTC") -> Conn:
    conn = await psycopg.AsyncConnection.connect(dsn, row_factory=dict_row)
    await conn.execute(sql.SQL("SET TIME ZONE {}").format(sql.Literal(zone)))
    await conn.commit()
    return conn


# -- what the totals must be, computed here from the lines ------------------------------


async def _expected(conn: Conn) -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    """The lines' sums per shop day (Python's zoneinfo, not the database's), account and
    method, and per shop day, account and cut: each key's debits and credits."""
    cursor = await conn.execute(
        "SELECT occurred_at, account, payment_method, product_id, debit_cents, credit_cents"
        " FROM entry_lines"
    )
    by_method: Counter[tuple[Any, ...]] = Counter()
    by_cut: Counter[tuple[Any, ...]] = Counter()
    for r in await cursor.fetchall():
        day = shop_time.today(r["occurred_at"])
        for side in ("debit_cents", "credit_cents"):
            by_method[(day, r["account"], r["payment_method"], side)] += r[side]
            if r["product_id"] is not None:
                by_cut[(day, r["account"], r["product_id"], side)] += r[side]
    return by_method, by_cut


async def _totals(conn: Conn) -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    by_method: Counter[tuple[Any, ...]] = Counter()
    by_cut: Counter[tuple[Any, ...]] = Counter()
    for table, key, found in (
        ("daily_totals", "payment_method", by_method),
        ("daily_product_totals", "product_id", by_cut),
    ):
        cursor = await conn.execute(
            sql.SQL("SELECT day, account, {}, debit_cents, credit_cents FROM {}").format(
                sql.Identifier(key), sql.Identifier(table)
            )
        )
        for r in await cursor.fetchall():
            for side in ("debit_cents", "credit_cents"):
                found[(r["day"], r["account"], r[key], side)] += r[side]
    return by_method, by_cut


async def _assert_totals_equal_the_lines(conn: Conn) -> None:
    expected_by_method, expected_by_cut = await _expected(conn)
    by_method, by_cut = await _totals(conn)
    # Counter equality ignores zero counts: a key present on one side must hold the same
    # sums; the rows' keys are compared below, zeros included.
    assert by_method == expected_by_method
    assert by_cut == expected_by_cut
    assert set(by_method) == set(expected_by_method)
    assert set(by_cut) == set(expected_by_cut)


async def _lines_report(conn: Conn, first: date, last: date, group_by: str) -> dict[str, Any]:
    since, until = reports.bounds(first, last)
    cursor = await conn.execute(
        LINES_REPORT,
        {"unit": group_by, "zone": shop_time.ZONE_NAME, "since": since, "until": until},
    )
    found: dict[str, list[dict[str, Any]]] = {"series": [], "methods": [], "products": []}
    for row in await cursor.fetchall():
        if row["by_period"]:
            found["series"].append(row)
        elif row["by_method"] and row["payment_method"] is not None:
            found["methods"].append(row)
        elif row["by_product"] and row["product_id"] is not None:
            row["name"] = str(row["product_id"])  # no names in these tests
            found["products"].append(row)
    return _shaped(first, last, group_by, found)


def _shaped(
    first: date, last: date, group_by: Any, found: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    result = reports.result(first, last, group_by, found)
    # Cuts with equal revenue come in no particular order, from either query.
    result["margin_by_product"].sort(key=lambda m: (-m["revenue_cents"], m["product_id"]))
    return result


# -- random postings --------------------------------------------------------------------


@st.composite
def postings(draw: st.DrawFn) -> Posting:
    debits = draw(st.lists(st.integers(1, 100_000), min_size=1, max_size=3))
    total = sum(debits)
    credits_count = draw(st.integers(1, 3)) if total >= 3 else 1
    credits = [total // credits_count] * (credits_count - 1)
    credits.append(total - sum(credits))
    account, product = st.sampled_from(ACCOUNTS), st.sampled_from((None, *PRODUCTS))
    lines = [Line(draw(account), debit_cents=d, product_id=draw(product)) for d in debits]
    lines += [Line(draw(account), credit_cents=c, product_id=draw(product)) for c in credits]
    start = draw(st.sampled_from(WINDOWS))
    when = start + timedelta(minutes=draw(st.integers(0, 4 * 24 * 60)))
    return Posting(
        cause="test",
        cause_id=str(uuid.uuid4()),
        occurred_at=when,
        description="x",
        lines=tuple(draw(st.permutations(lines))),
        payment_method=draw(st.sampled_from(METHODS)),
    )


# A transaction: its postings, each maybe reversed later (a refund or a correction), and
# whether its lines go in as one statement for every entry (as a bulk load would).
transactions = st.lists(
    st.tuples(
        st.lists(st.tuples(postings(), st.none() | st.integers(0, 3 * 24 * 60)), max_size=4),
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
)


async def _post_in_one_statement(conn: Conn, batch: list[Posting]) -> None:
    """Several entries' lines in one INSERT: the trigger sums one statement's lines."""
    ids = [uuid.uuid4() for _ in batch]
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO entries (id, occurred_at, cause, cause_id, description, payment_method)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (i, p.occurred_at, p.cause, p.cause_id, p.description, p.payment_method)
                for i, p in zip(ids, batch, strict=True)
            ],
        )
    rows = [
        (
            i,
            n,
            line.account,
            line.debit_cents,
            line.credit_cents,
            line.product_id,
            p.occurred_at,
            p.payment_method,
        )
        for i, p in zip(ids, batch, strict=True)
        for n, line in enumerate(p.lines, start=1)
    ]
    if rows:
        values = sql.SQL(", ").join([sql.SQL("(%s, %s, %s, %s, %s, %s, %s, %s)")] * len(rows))
        await conn.execute(
            sql.SQL(
                "INSERT INTO entry_lines (entry_id, line, account, debit_cents, credit_cents,"
                " product_id, occurred_at, payment_method) VALUES {}"
            ).format(values),
            [value for row in rows for value in row],
        )


# Without shrinking: the ledger outlives each example (it is append-only), so once the
# totals are wrong every later example fails too, and shrinking would only spin.
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(
    transactions,
    st.sampled_from(["UTC", "America/Sao_Paulo", "Asia/Tokyo"]),
    st.tuples(
        st.sampled_from(WINDOWS),
        st.integers(-1, 5),
        st.integers(0, 40),
        st.sampled_from(["day", "week", "month"]),
    ),
)
async def test_after_any_postings_the_daily_totals_equal_the_lines_sums(
    database: ProvisionedDatabase,
    batches: list[tuple[list[tuple[Posting, int | None]], bool]],
    zone: str,
    period: tuple[datetime, int, int, Any],
) -> None:
    """Entries, reversals, several entries per transaction and per statement, a session in
    another time zone, an entry the balance check refuses at commit: the totals equal the
    lines' sums per shop day, and the report read from them is the report summed from the
    lines, whatever the range and the grouping."""
    async with await _connect(database.role_dsn("finance"), zone) as conn:
        for batch, one_statement in batches:
            postings_ = [p for p, _ in batch]
            if one_statement:
                await _post_in_one_statement(conn, postings_)
            for posting, reversed_after in batch:
                entry_id = None if one_statement else await store.post(conn, posting, actor=None)
                if reversed_after is not None and entry_id is not None:
                    later = posting.occurred_at + timedelta(minutes=reversed_after)
                    reversal = posting.reversal("test", str(uuid.uuid4()), later, entry_id)
                    await store.post(conn, reversal, actor=None)
            await conn.commit()
        # An entry that does not balance: refused at commit, its totals with it.
        unbalanced = uuid.uuid4()
        await conn.execute(
            "INSERT INTO entries (id, occurred_at, cause, cause_id, description)"
            " VALUES (%s, %s, 'test', %s, 'x')",
            (unbalanced, WINDOWS[0], str(unbalanced)),
        )
        await conn.execute(
            "INSERT INTO entry_lines (entry_id, line, account, debit_cents, occurred_at)"
            " VALUES (%s, 1, 'caixa', 100, %s)",
            (unbalanced, WINDOWS[0]),
        )
        with pytest.raises(psycopg.errors.CheckViolation):
            await conn.commit()

        await _assert_totals_equal_the_lines(conn)
        window, offset, length, group_by = period
        first = window.date() + timedelta(days=offset)
        last = first + timedelta(days=length)
        found = await store.report(conn, first, last, group_by)
        for row in found["products"]:
            row["name"] = str(row["product_id"])
        assert _shaped(first, last, group_by, found) == await _lines_report(
            conn, first, last, group_by
        )
        await conn.rollback()


async def test_concurrent_postings_on_the_same_day_all_land(database: ProvisionedDatabase) -> None:
    """Sales of one day that share cuts in opposite orders, by different methods, run at
    once: each commits (no deadlock between their totals' rows) and the totals add up."""
    when = datetime(2025, 3, 1, 15, tzinfo=UTC)
    cuts = (str(uuid.uuid4()), str(uuid.uuid4()))

    async def sell(n: int) -> None:
        method, order = ("pix", cuts) if n % 2 else ("cash", cuts[::-1])
        sale = Posting(
            cause="test",
            cause_id=str(uuid.uuid4()),
            occurred_at=when,
            description="x",
            lines=(
                Line("banco" if method == "pix" else "caixa", debit_cents=200),
                *(Line("receita_vendas", credit_cents=100, product_id=c) for c in order),
            ),
            payment_method=method,
        )
        async with await _connect(database.role_dsn("finance")) as conn:
            await store.post(conn, sale, actor=None)
            await asyncio.sleep(0.01)  # hold the rows' locks while the others arrive
            await conn.commit()

    sales = 16
    await asyncio.gather(*(sell(n) for n in range(sales)))
    async with await _connect(database.role_dsn("finance")) as conn:
        await _assert_totals_equal_the_lines(conn)
        cursor = await conn.execute(
            "SELECT credit_cents FROM daily_product_totals WHERE product_id = ANY(%s)",
            (list(cuts),),
        )
        assert [r["credit_cents"] for r in await cursor.fetchall()] == [100 * sales] * 2


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO daily_totals VALUES ('2025-01-01', 'caixa', NULL, 1, 0)",
        "UPDATE daily_totals SET debit_cents = debit_cents + 1",
        "DELETE FROM daily_totals",
        "INSERT INTO daily_product_totals VALUES ('2025-01-01', 'cmv', %s, 1, 0)",
        "UPDATE daily_product_totals SET credit_cents = 0",
        "DELETE FROM daily_product_totals",
    ],
)
async def test_nothing_but_the_lines_writes_the_totals(
    database: ProvisionedDatabase, statement: Any
) -> None:
    """The domain role (which may write every table of its schema) and the owner alike."""
    posting = Posting(
        cause="test",
        cause_id=str(uuid.uuid4()),
        occurred_at=datetime(2025, 1, 1, 15, tzinfo=UTC),
        description="x",
        lines=(Line("cmv", debit_cents=5, product_id=PRODUCTS[0]), Line("estoque", credit_cents=5)),
    )
    async with await _connect(database.role_dsn("finance")) as conn:
        await store.post(conn, posting, actor=None)
        await conn.commit()
    params = (PRODUCTS[0],) if "%s" in statement else None
    for dsn in (database.role_dsn("finance"), database.admin_dsn):
        async with await _connect(dsn) as conn:
            if dsn == database.admin_dsn:
                await conn.execute("SET search_path TO finance")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="follow the ledger"):
                await conn.execute(statement, params)
    async with await _connect(database.admin_dsn) as conn:
        for table in ("finance.daily_totals", "finance.daily_product_totals"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="follow the ledger"):
                await conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(table)))
            await conn.rollback()
        await conn.execute("SET search_path TO finance")
        await _assert_totals_equal_the_lines(conn)


async def test_the_migration_builds_the_totals_of_a_ledger_that_had_none(
    admin_database_url: str, tmp_path: Path
) -> None:
    """A shop upgrading in place: its ledger posted before migration 002 existed, then the
    migration: the totals equal the lines, and postings after it keep them so."""
    tag = secrets.token_hex(4)
    name, prefix = f"acougue_m{tag}", f"acougue_m{tag}_"
    db = ProvisionedDatabase(
        _with_database(admin_database_url, name), name, prefix, {"finance": secrets.token_hex(8)}
    )
    before = tmp_path / "migrations"
    before.mkdir()
    shutil.copy(MIGRATIONS / "001_ledger.sql", before)
    with psycopg.connect(admin_database_url, autocommit=True) as server:
        server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        await provision(
            db.admin_dsn, [Domain("finance", before)], role_prefix=prefix, passwords=db.passwords
        )
        dsn = role_dsn(db.admin_dsn, role_name(prefix, "finance"), db.passwords["finance"])

        def sale(when: datetime, method: str, cut: str, amount: int) -> Posting:
            return Posting(
                cause="test",
                cause_id=str(uuid.uuid4()),
                occurred_at=when,
                description="x",
                lines=(
                    Line("caixa" if method == "cash" else "banco", debit_cents=amount),
                    Line("receita_vendas", credit_cents=amount, product_id=cut),
                    Line("cmv", debit_cents=amount // 2, product_id=cut),
                    Line("estoque", credit_cents=amount // 2),
                ),
                payment_method=method,
            )

        old = [
            sale(WINDOWS[0] + timedelta(hours=7 * n), ("cash", "pix")[n % 2], PRODUCTS[n % 3], n)
            for n in range(2, 40)
        ]
        async with await _connect(dsn) as conn:
            for posting in old:
                await store.post(conn, posting, actor=None)
            await conn.commit()
        applied = await provision(
            db.admin_dsn, [Domain("finance", MIGRATIONS)], role_prefix=prefix, passwords={}
        )
        assert "finance/002_daily_totals" in applied
        async with await _connect(dsn) as conn:
            await _assert_totals_equal_the_lines(conn)
            cursor = await conn.execute("SELECT count(*) AS n FROM daily_totals")
            assert (await cursor.fetchone() or {})["n"] > 0
            await store.post(conn, sale(WINDOWS[0], "pix", PRODUCTS[0], 999), actor=None)
            await conn.commit()
            await _assert_totals_equal_the_lines(conn)
    finally:
        drop(admin_database_url, db)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.datetimes(
            min_value=datetime(1900, 1, 1),
            max_value=datetime(2100, 1, 1),
            timezones=st.just(UTC),
        ),
        max_size=50,
    )
)
async def test_the_database_and_python_agree_on_the_shop_day(
    database: ProvisionedDatabase, instants: list[datetime]
) -> None:
    """finance.shop_day (the totals' day) is shared/shop_time's day, summer times included,
    whatever the session's time zone."""
    edges = [datetime(2018, 11, 4, 2, 59, tzinfo=UTC), datetime(2019, 2, 17, 2, 59, tzinfo=UTC)]
    instants = [*instants, *edges, *(e + timedelta(minutes=2) for e in edges)]
    async with await _connect(database.role_dsn("finance"), "Asia/Tokyo") as conn:
        cursor = await conn.execute(
            "SELECT shop_day(at) AS day FROM unnest(%s::timestamptz[]) WITH ORDINALITY AS u(at, n)"
            " ORDER BY n",
            (instants,),
        )
        assert [r["day"] for r in await cursor.fetchall()] == [shop_time.today(i) for i in instants]
