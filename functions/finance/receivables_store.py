"""SQL of the card settlements (migration 005): what the acquirer owes, and when."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from functions.finance.receivables_rules import Expected
from shared.db.pool import Conn

_SELECT = (
    "SELECT id, payment_id, sale_id, method, kind, installment, installments, approved_on,"
    " expected_on, gross_cents, fee_cents, net_cents, status, settled_on, entry_id, return_id"
    " FROM card_settlements"
)


async def add(
    conn: Conn, payment_id: str, sale_id: str, method: str, approved_on: date, rows: list[Expected]
) -> int:
    """Record a payment's expected settlements once: a redelivered approval adds nothing
    (unique payment and installment). How many rows were new."""
    added = 0
    for row in rows:
        cursor = await conn.execute(
            "INSERT INTO card_settlements (id, payment_id, sale_id, method, kind, installment,"
            " installments, approved_on, expected_on, gross_cents, fee_cents, net_cents)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (payment_id, installment) WHERE kind <> 'return' DO NOTHING"
            " RETURNING id",
            (
                str(uuid.uuid4()),
                payment_id,
                sale_id,
                method,
                row.kind,
                row.installment,
                row.installments,
                approved_on,
                row.expected_on,
                row.gross_cents,
                row.fee_cents,
                row.net_cents,
            ),
        )
        added += (await cursor.fetchone()) is not None
    return added


async def add_return(conn: Conn, return_id: str, first: dict[str, Any], row: Expected) -> bool:
    """A return's take-back row beside its payment's rows (`first`, one of them), once per
    return: its event again adds nothing. True when it is new."""
    cursor = await conn.execute(
        "INSERT INTO card_settlements (id, payment_id, sale_id, method, kind, installment,"
        " installments, approved_on, expected_on, gross_cents, fee_cents, net_cents, return_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (return_id) DO NOTHING RETURNING id",
        (
            str(uuid.uuid4()),
            first["payment_id"],
            first["sale_id"],
            first["method"],
            row.kind,
            row.installment,
            row.installments,
            first["approved_on"],
            row.expected_on,
            row.gross_cents,
            row.fee_cents,
            row.net_cents,
            return_id,
        ),
    )
    return (await cursor.fetchone()) is not None


async def lock_payment(conn: Conn, payment_id: str) -> list[dict[str, Any]]:
    """One payment's rows, locked until the transaction ends (a refund or a return against a
    settle, a return against a refund)."""
    cursor = await conn.execute(
        _SELECT + " WHERE payment_id = %s ORDER BY installment, recorded_at, id FOR UPDATE",
        (payment_id,),
    )
    return list(await cursor.fetchall())


async def lock_sale(conn: Conn, sale_id: str) -> list[str]:
    """The card payments of one sale, the newest approval last (as the ledger takes the
    sale's last payment), their rows locked until the transaction ends. Read again with
    `lock_payment` after this: a statement that waited on a lock does not see the rows the
    holder added (READ COMMITTED), the next one does."""
    await conn.execute(
        "SELECT 1 FROM card_settlements WHERE sale_id = %s"
        " ORDER BY payment_id, installment, recorded_at, id FOR UPDATE",
        (sale_id,),
    )
    cursor = await conn.execute(
        "SELECT payment_id, min(recorded_at) AS first FROM card_settlements"
        " WHERE sale_id = %s GROUP BY payment_id ORDER BY first, payment_id",
        (sale_id,),
    )
    return [str(r["payment_id"]) for r in await cursor.fetchall()]


async def cancel_expected(conn: Conn, payment_id: str) -> int:
    """A refund: nothing of the payment is expected any more, its installments nor the
    take-backs of its returns (the refund's own row nets what they settled)."""
    cursor = await conn.execute(
        "UPDATE card_settlements SET status = 'cancelled'"
        " WHERE payment_id = %s AND status = 'expected' AND kind IN ('installment', 'return')",
        (payment_id,),
    )
    return cursor.rowcount


async def lock_settles(conn: Conn) -> None:
    """One settle at a time, whoever asks (the admin, the daily ping): the second waits and
    then finds nothing left to settle."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('finance.settle', 0))")


async def due(conn: Conn, until: date) -> list[dict[str, Any]]:
    """Every expected row due on or before `until`, locked, in the order they fell due."""
    cursor = await conn.execute(
        _SELECT + " WHERE status = 'expected' AND expected_on <= %s"
        " ORDER BY expected_on, payment_id, installment FOR UPDATE",
        (until,),
    )
    return list(await cursor.fetchall())


async def mark_settled(conn: Conn, row_id: str, entry_id: str | None, day: date) -> None:
    await conn.execute(
        "UPDATE card_settlements SET status = 'settled', settled_on = %s, entry_id = %s"
        " WHERE id = %s AND status = 'expected'",
        (day, entry_id, row_id),
    )


_TOTALS = (
    "SELECT count(*) FILTER (WHERE status = 'expected') AS expected_count,"
    " coalesce(sum(net_cents) FILTER (WHERE status = 'expected'), 0) AS expected_net_cents,"
    " count(*) FILTER (WHERE status = 'settled') AS settled_count,"
    " coalesce(sum(net_cents) FILTER (WHERE status = 'settled'), 0) AS settled_net_cents"
    " FROM card_settlements"
)
_FILTER = (
    " WHERE (%(status)s::text IS NULL OR status = %(status)s)"
    " AND (%(first)s::date IS NULL OR expected_on >= %(first)s)"
    " AND (%(last)s::date IS NULL OR expected_on <= %(last)s)"
)


async def listing(
    conn: Conn, status: str | None, first: date | None, last: date | None, limit: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rows in the calendar's order (at most `limit`) and the totals of all that match."""
    params = {"status": status, "first": first, "last": last, "limit": limit}
    cursor = await conn.execute(
        _SELECT + _FILTER + " ORDER BY expected_on, payment_id, installment LIMIT %(limit)s",
        params,
    )
    rows = list(await cursor.fetchall())
    cursor = await conn.execute(_TOTALS + _FILTER, params)
    totals = dict(await cursor.fetchone() or {})
    return rows, {k: int(v) for k, v in totals.items()}
