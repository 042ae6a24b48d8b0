"""SQL of the finance schema: postings in, every figure computed from the ledger out."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from psycopg import sql
from psycopg.types.json import Jsonb

from functions.finance.domain import PAYMENT_ACCOUNT, Line, Posting
from shared import shop_time
from shared.db.pool import Conn
from shared.events.till import TillSessionClosed
from shared.vocabulary import TILL_METHODS

GroupBy = Literal["day", "week", "month"]
ZONE = shop_time.ZONE_NAME


async def post(conn: Conn, posting: Posting, *, actor: str | None) -> str | None:
    """Write the entry and its lines; None when that cause was posted already."""
    entry_id = str(uuid.uuid4())
    cursor = await conn.execute(
        "INSERT INTO entries (id, occurred_at, cause, cause_id, description, sale_id,"
        " payment_method, reverses, meta, actor) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (cause, cause_id) DO NOTHING RETURNING id",
        (
            entry_id,
            posting.occurred_at,
            posting.cause,
            posting.cause_id,
            posting.description,
            posting.sale_id,
            posting.payment_method,
            posting.reverses,
            Jsonb(posting.meta),
            actor,
        ),
    )
    if await cursor.fetchone() is None:
        return None
    # One statement for all the lines: the daily totals' trigger (002) then adds them in
    # one ordered upsert, so concurrent postings never lock those rows in a cycle.
    rows = sql.SQL(", ").join([sql.SQL("(%s, %s, %s, %s, %s, %s, %s, %s)")] * len(posting.lines))
    await conn.execute(
        sql.SQL(
            "INSERT INTO entry_lines (entry_id, line, account, debit_cents, credit_cents,"
            " product_id, occurred_at, payment_method) VALUES {}"
        ).format(rows),
        [
            value
            for n, line in enumerate(posting.lines, start=1)
            for value in (
                entry_id,
                n,
                line.account,
                line.debit_cents,
                line.credit_cents,
                line.product_id,
                posting.occurred_at,
                posting.payment_method,
            )
        ],
    )
    return entry_id


_ENTRY = (
    "SELECT id, cause, cause_id, occurred_at, description, sale_id, payment_method, meta"
    " FROM entries"
)


async def _as_posting(conn: Conn, entry: dict[str, Any]) -> tuple[str, Posting]:
    cursor = await conn.execute(
        "SELECT account, debit_cents, credit_cents, product_id FROM entry_lines"
        " WHERE entry_id = %s ORDER BY line",
        (entry["id"],),
    )
    lines = tuple(
        Line(
            r["account"],
            r["debit_cents"],
            r["credit_cents"],
            str(r["product_id"]) if r["product_id"] else None,
        )
        for r in await cursor.fetchall()
    )
    return str(entry["id"]), Posting(
        cause=entry["cause"],
        cause_id=entry["cause_id"],
        occurred_at=entry["occurred_at"],
        description=entry["description"],
        lines=lines,
        sale_id=str(entry["sale_id"]) if entry["sale_id"] else None,
        payment_method=entry["payment_method"],
        meta=entry["meta"],
    )


async def posted(conn: Conn, cause: str, cause_id: str) -> tuple[str, Posting] | None:
    """An entry as a Posting (to reverse it), with its id."""
    cursor = await conn.execute(_ENTRY + " WHERE cause = %s AND cause_id = %s", (cause, cause_id))
    entry = await cursor.fetchone()
    if entry is None:
        return None
    return await _as_posting(conn, entry)


async def posted_entry(conn: Conn, entry_id: str) -> tuple[str, Posting] | None:
    """An entry by its id as a Posting (to reverse it), with its id."""
    cursor = await conn.execute(_ENTRY + " WHERE id = %s", (entry_id,))
    entry = await cursor.fetchone()
    if entry is None:
        return None
    return await _as_posting(conn, entry)


async def posted_for_sale(conn: Conn, cause: str, sale_id: str) -> list[tuple[str, Posting]]:
    """The entries of one cause for one sale (its payment, its returns...), oldest first."""
    cursor = await conn.execute(
        _ENTRY + " WHERE sale_id = %s AND cause = %s ORDER BY seq", (sale_id, cause)
    )
    return [await _as_posting(conn, entry) for entry in await cursor.fetchall()]


async def lock_sale(conn: Conn, sale_id: str) -> None:
    """Hold one sale's postings to one at a time until the transaction ends: a return and
    the sale's refund each read what the other posted (the refund reverses what the
    returns left), so they must not both read before either commits."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('finance.sale:' || %s, 0))", (sale_id,)
    )


async def remember_sale(conn: Conn, sale_id: str, items: list[tuple[str, int, str | None]]) -> None:
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO sale_items (sale_id, line, product_id, total_cents)"
            " VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            [(sale_id, n, pid, total) for n, (pid, total, _) in enumerate(items, start=1)],
        )
        await cursor.executemany(
            "INSERT INTO product_names (product_id, name) VALUES (%s, %s)"
            " ON CONFLICT (product_id) DO UPDATE SET name = EXCLUDED.name",
            [(pid, name) for pid, _, name in items if name],
        )


async def sale_items(conn: Conn, sale_id: str) -> list[tuple[str, int]]:
    cursor = await conn.execute(
        "SELECT product_id, total_cents FROM sale_items WHERE sale_id = %s ORDER BY line",
        (sale_id,),
    )
    return [(str(r["product_id"]), int(r["total_cents"])) for r in await cursor.fetchall()]


# -- reports ----------------------------------------------------------------------------

# The daily totals (migration 002) hold each day's lines summed per account and method,
# and per account and cut: the report adds up at most a few rows per day of the range.
_REPORT = """
SELECT
    grouping(period) = 0 AS by_period,
    grouping(payment_method) = 0 AS by_method,
    false AS by_product,
    period, payment_method, NULL::uuid AS product_id,
    coalesce(sum(credit_cents - debit_cents) FILTER (WHERE report = 'revenue'), 0)
        AS revenue_cents,
    coalesce(sum(debit_cents - credit_cents) FILTER (WHERE report = 'cogs'), 0) AS cogs_cents,
    coalesce(sum(debit_cents - credit_cents) FILTER (WHERE report = 'expense'), 0)
        AS expenses_cents,
    coalesce(sum(debit_cents - credit_cents) FILTER (WHERE report = 'loss'), 0) AS losses_cents,
    coalesce(sum(credit_cents - debit_cents) FILTER (WHERE report = 'other_income'), 0)
        AS other_income_cents
FROM (
    SELECT date_trunc(%(unit)s, t.day::timestamp)::date AS period,
           t.payment_method, a.report, t.debit_cents, t.credit_cents
    FROM daily_totals t JOIN accounts a ON a.code = t.account
    WHERE t.day BETWEEN %(first)s AND %(last)s AND a.report IS NOT NULL
) AS days
GROUP BY GROUPING SETS ((period), (payment_method))
UNION ALL
SELECT
    false, false, true, NULL, NULL, product_id,
    coalesce(sum(credit_cents - debit_cents) FILTER (WHERE report = 'revenue'), 0),
    coalesce(sum(debit_cents - credit_cents) FILTER (WHERE report = 'cogs'), 0),
    coalesce(sum(debit_cents - credit_cents) FILTER (WHERE report = 'expense'), 0),
    coalesce(sum(debit_cents - credit_cents) FILTER (WHERE report = 'loss'), 0),
    coalesce(sum(credit_cents - debit_cents) FILTER (WHERE report = 'other_income'), 0)
FROM (
    SELECT p.product_id, a.report, p.debit_cents, p.credit_cents
    FROM daily_product_totals p JOIN accounts a ON a.code = p.account
    WHERE p.day BETWEEN %(first)s AND %(last)s AND a.report IS NOT NULL
) AS cuts
GROUP BY product_id
"""


async def report(
    conn: Conn, first: date, last: date, group_by: GroupBy
) -> dict[str, list[dict[str, Any]]]:
    """The result of the shop's days [first, last] per day, week or month, per payment
    method and per cut, summed from the ledger's daily totals."""
    cursor = await conn.execute(_REPORT, {"unit": group_by, "first": first, "last": last})
    found: dict[str, list[dict[str, Any]]] = {"series": [], "methods": [], "products": []}
    for row in await cursor.fetchall():
        if row["by_period"]:
            found["series"].append(row)
        elif row["by_method"] and row["payment_method"] is not None:
            found["methods"].append(row)
        elif row["by_product"] and row["product_id"] is not None:
            found["products"].append(row)
    if found["products"]:
        names = await conn.execute(
            "SELECT product_id, name FROM product_names WHERE product_id = ANY(%s)",
            ([r["product_id"] for r in found["products"]],),
        )
        by_id = {r["product_id"]: r["name"] for r in await names.fetchall()}
        for row in found["products"]:
            row["name"] = by_id.get(row["product_id"], str(row["product_id"]))
        found["products"].sort(key=lambda r: -int(r["revenue_cents"]))
    found["series"].sort(key=lambda r: r["period"])
    return found


async def trial_balance(conn: Conn, until: datetime | None) -> list[dict[str, Any]]:
    cursor = await conn.execute(
        "SELECT a.code AS account, a.name, a.normal_side,"
        " coalesce(sum(l.debit_cents), 0) AS debit_cents,"
        " coalesce(sum(l.credit_cents), 0) AS credit_cents"
        " FROM accounts a"
        " LEFT JOIN (entry_lines l JOIN entries e ON e.id = l.entry_id"
        "   AND (%(until)s::timestamptz IS NULL OR e.occurred_at < %(until)s))"
        " ON l.account = a.code"
        " GROUP BY a.code, a.name, a.normal_side ORDER BY a.code",
        {"until": until},
    )
    return list(await cursor.fetchall())


async def entries(conn: Conn, since: datetime, until: datetime, limit: int) -> list[dict[str, Any]]:
    cursor = await conn.execute(
        "SELECT e.id, e.occurred_at, e.cause, e.cause_id, e.description, e.sale_id,"
        " e.payment_method, e.reverses,"
        " json_agg(json_build_object('account', l.account, 'debit_cents', l.debit_cents,"
        "   'credit_cents', l.credit_cents, 'product_id', l.product_id) ORDER BY l.line) AS lines"
        " FROM entries e JOIN entry_lines l ON l.entry_id = e.id"
        " WHERE e.occurred_at >= %s AND e.occurred_at < %s"
        " GROUP BY e.id ORDER BY e.occurred_at, e.seq LIMIT %s",
        (since, until, limit),
    )
    return list(await cursor.fetchall())


# -- cash closing -----------------------------------------------------------------------


async def set_opening_cash(conn: Conn, day: date, amount_cents: int, actor: str | None) -> None:
    await conn.execute(
        "INSERT INTO cash_days (day, opening_float_cents, actor) VALUES (%s, %s, %s)"
        " ON CONFLICT (day) DO UPDATE SET opening_float_cents = EXCLUDED.opening_float_cents",
        (day, amount_cents, actor),
    )


async def set_counted(conn: Conn, day: date, counted: dict[str, int], actor: str | None) -> None:
    await conn.execute(
        "INSERT INTO cash_days (day, counted, closed_at, actor) VALUES (%s, %s, now(), %s)"
        " ON CONFLICT (day) DO UPDATE SET counted = EXCLUDED.counted, closed_at = now(),"
        " actor = EXCLUDED.actor",
        (day, Jsonb(counted), actor),
    )


async def cash_day(conn: Conn, day: date) -> dict[str, Any]:
    """What the drawer and each method should hold for one local day, from the ledger."""
    cursor = await conn.execute(
        "WITH day_entries AS ("
        "  SELECT * FROM entries"
        "  WHERE (occurred_at AT TIME ZONE %(zone)s)::date = %(day)s)"
        " SELECT"
        " coalesce(sum(l.debit_cents - l.credit_cents) FILTER (WHERE l.account = 'caixa'), 0)"
        "   AS cash_net_cents,"
        " coalesce(sum(l.debit_cents) FILTER (WHERE l.account = 'caixa'"
        "   AND e.cause = 'payment.approved'), 0) AS cash_sales_cents,"
        " coalesce(sum((e.meta->>'change_cents')::bigint) FILTER (WHERE l.account = 'caixa'"
        "   AND e.cause = 'payment.approved'), 0) AS change_given_cents,"
        " coalesce(sum(l.credit_cents) FILTER (WHERE l.account = 'caixa'"
        "   AND e.cause IN ('payment.refunded', 'sale.returned')), 0) AS cash_refunds_cents,"
        " coalesce(sum(l.credit_cents)"
        "   FILTER (WHERE l.account = 'caixa' AND e.cause = 'sangria'), 0)"
        "   AS sangria_cents,"
        " coalesce(sum(l.debit_cents)"
        "   FILTER (WHERE l.account = 'caixa' AND e.cause = 'suprimento'), 0)"
        "   AS suprimento_cents,"
        " coalesce(sum(l.credit_cents) FILTER (WHERE l.account = 'caixa'"
        "   AND e.cause IN ('expense', 'inventory.movement', 'payable.payment')), 0)"
        "   AS cash_paid_out_cents"
        " FROM day_entries e JOIN entry_lines l ON l.entry_id = e.id",
        {"zone": ZONE, "day": day},
    )
    figures = dict(await cursor.fetchone() or {})
    # Line 1 of a payment's entry debits the method's account with the amount; line 1 of
    # its reversal credits it back, as does line 1 of a return; line 1 of a customer's
    # payment debits the account of the method it paid with. Their sum per method is what
    # that method took in, net. (A cancellation's refund after returns that left nothing of
    # the money to reverse starts with another account: the account check leaves it out.)
    cursor = await conn.execute(
        "SELECT e.payment_method AS method,"
        " e.cause = 'customer.payment_received' AS from_customers,"
        " sum(l.debit_cents - l.credit_cents) AS net"
        " FROM entries e JOIN entry_lines l ON l.entry_id = e.id AND l.line = 1"
        " WHERE e.cause IN ('payment.approved', 'payment.refunded', 'sale.returned',"
        "   'customer.payment_received')"
        " AND l.account = %(accounts)s::jsonb ->> e.payment_method"
        " AND (e.occurred_at AT TIME ZONE %(zone)s)::date = %(day)s GROUP BY 1, 2",
        {"zone": ZONE, "day": day, "accounts": Jsonb(PAYMENT_ACCOUNT)},
    )
    by_method: dict[str, int] = {}
    from_customers: dict[str, int] = {}
    for r in await cursor.fetchall():
        by_method[r["method"]] = by_method.get(r["method"], 0) + int(r["net"])
        if r["from_customers"]:
            from_customers[r["method"]] = int(r["net"])
    cursor = await conn.execute(
        "SELECT opening_float_cents, counted, closed_at FROM cash_days WHERE day = %s", (day,)
    )
    closing = await cursor.fetchone() or {}
    return {
        "figures": figures,
        "by_method": by_method,
        "customer_payments": from_customers,
        "closing": closing,
        "sessions": await till_sessions(conn, day),
    }


# -- till sessions ----------------------------------------------------------------------


async def save_till_session(conn: Conn, session: TillSessionClosed) -> bool:
    """Keep a closed session once (the first delivery wins); True when it was new. Its day
    is the shop day it was opened on."""
    expected, counted = session.expected, session.counted
    cursor = await conn.execute(
        "INSERT INTO till_sessions (session_id, operator_id, day, opened_at, closed_at,"
        " opening_cents, expected_cash_cents, expected_pix_cents, expected_debit_cents,"
        " expected_credit_cents, counted_cash_cents, counted_pix_cents, counted_debit_cents,"
        " counted_credit_cents)"
        " VALUES (%s, %s, shop_day(%s), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (session_id) DO NOTHING RETURNING session_id",
        (
            session.session_id,
            session.operator_id,
            session.opened_at,
            session.opened_at,
            session.closed_at,
            session.opening_cents,
            *(getattr(expected, f"{m}_cents") for m in TILL_METHODS),
            *(getattr(counted, f"{m}_cents") for m in TILL_METHODS),
        ),
    )
    return await cursor.fetchone() is not None


async def till_sessions(conn: Conn, day: date) -> list[dict[str, Any]]:
    """The sessions opened on one shop day, in the order they were opened."""
    cursor = await conn.execute(
        "SELECT session_id, operator_id, opened_at, closed_at, opening_cents,"
        " expected_cash_cents, expected_pix_cents, expected_debit_cents, expected_credit_cents,"
        " counted_cash_cents, counted_pix_cents, counted_debit_cents, counted_credit_cents"
        " FROM till_sessions WHERE day = %s ORDER BY opened_at, session_id",
        (day,),
    )
    return list(await cursor.fetchall())
