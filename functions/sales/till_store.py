"""SQL of the till (sales schema): sessions, their movements, the customers' payments and
the returns' refunds they counted, and the flows their expected amounts are summed from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, LiteralString
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from functions.sales.till_domain import Amounts, Flows, by_method
from shared.vocabulary import TILL_METHODS

# Any connection of the sales role: rows are read as dicts whatever its own row factory
# (complete-sale and return-sale hand theirs in).
AnyConn = AsyncConnection[Any]


async def _rows(conn: AnyConn, query: LiteralString, params: Any = None) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(query, params)
        return await cursor.fetchall() if cursor.description else []


async def _row(conn: AnyConn, query: LiteralString, params: Any = None) -> dict[str, Any] | None:
    found = await _rows(conn, query, params)
    return found[0] if found else None


@dataclass(frozen=True)
class Session:
    id: UUID
    operator_id: UUID
    operator_name: str | None
    status: str
    opened_at: datetime
    opening_cents: int
    closed_at: datetime | None
    sales_count: int | None
    expected: Amounts | None  # at closing
    counted: Amounts | None


# What serialises a session's movements, closing, refunds and counted payments. NO KEY
# UPDATE: a sale recording the session (sales.till_session_id's foreign key takes KEY
# SHARE) is never held up by it.
_LOCK: LiteralString = " FOR NO KEY UPDATE"

_SESSION = (
    "SELECT id, operator_id, operator_name, status, opened_at, opening_cents, closed_at,"
    " sales_count, expected_cash_cents, expected_pix_cents, expected_debit_cents,"
    " expected_credit_cents, counted_cash_cents, counted_pix_cents, counted_debit_cents,"
    " counted_credit_cents FROM till_sessions"
)


def _amounts(row: dict[str, Any], prefix: str) -> Amounts | None:
    if row[f"{prefix}_cash_cents"] is None:
        return None
    return Amounts.of({m: row[f"{prefix}_{m}_cents"] for m in TILL_METHODS})


def _session(row: dict[str, Any]) -> Session:
    return Session(
        id=row["id"],
        operator_id=row["operator_id"],
        operator_name=row["operator_name"],
        status=row["status"],
        opened_at=row["opened_at"],
        opening_cents=row["opening_cents"],
        closed_at=row["closed_at"],
        sales_count=row["sales_count"],
        expected=_amounts(row, "expected"),
        counted=_amounts(row, "counted"),
    )


async def insert_session(
    conn: AnyConn, session_id: UUID, operator_id: UUID, operator_name: str | None, opening: int
) -> Session | None:
    """The new open session; None when the operator already has one open (the partial
    unique index decides, so that of two concurrent openings only one wins)."""
    row = await _row(
        conn,
        "INSERT INTO till_sessions (id, operator_id, operator_name, status, opening_cents)"
        " VALUES (%s, %s, %s, 'open', %s)"
        " ON CONFLICT (operator_id) WHERE status = 'open' DO NOTHING"
        " RETURNING id, operator_id, operator_name, status, opened_at, opening_cents,"
        " closed_at, sales_count, expected_cash_cents, expected_pix_cents,"
        " expected_debit_cents, expected_credit_cents, counted_cash_cents, counted_pix_cents,"
        " counted_debit_cents, counted_credit_cents",
        (session_id, operator_id, operator_name, opening),
    )
    return _session(row) if row else None


async def open_session_id(
    conn: AnyConn, operator_id: UUID, *, for_update: bool = False, for_share: bool = False
) -> UUID | None:
    """`for_share`: held until the caller commits, so a closing waits for a sale being
    recorded on the session (and then sees it), and a sale waits for a closing in progress
    (and then finds no open session): no sale lands on a session after its figures froze."""
    query: LiteralString = "SELECT id FROM till_sessions WHERE operator_id = %s AND status = 'open'"
    if for_update:
        query += _LOCK
    elif for_share:
        query += " FOR SHARE"
    row = await _row(conn, query, (operator_id,))
    return row["id"] if row else None


async def get_session(
    conn: AnyConn, session_id: UUID, *, for_update: bool = False
) -> Session | None:
    query: LiteralString = _SESSION + " WHERE id = %s"
    if for_update:
        query += _LOCK
    row = await _row(conn, query, (session_id,))
    return _session(row) if row else None


async def list_sessions(
    conn: AnyConn,
    *,
    operator_id: UUID | None,
    since: datetime | None,
    until: datetime | None,
    status: str | None,
    limit: int,
) -> list[Session]:
    rows = await _rows(
        conn,
        _SESSION + " WHERE (%(operator)s::uuid IS NULL OR operator_id = %(operator)s)"
        " AND (%(since)s::timestamptz IS NULL OR opened_at >= %(since)s)"
        " AND (%(until)s::timestamptz IS NULL OR opened_at < %(until)s)"
        " AND (%(status)s::text IS NULL OR status = %(status)s)"
        " ORDER BY opened_at DESC, id LIMIT %(limit)s",
        {
            "operator": operator_id,
            "since": since,
            "until": until,
            "status": status,
            "limit": limit,
        },
    )
    return [_session(r) for r in rows]


@dataclass
class SessionFlows:
    """What moved one session's drawer, summed by the database."""

    suprimentos_cents: int = 0
    sangrias_cents: int = 0
    movements: int = 0
    sales: list[tuple[str, int]] = field(default_factory=list)
    sales_count: int = 0
    customer_payments: list[tuple[str, int]] = field(default_factory=list)
    refunds: list[tuple[str, int]] = field(default_factory=list)

    def flows(self, opening_cents: int) -> Flows:
        return Flows(
            opening_cents=opening_cents,
            suprimentos_cents=self.suprimentos_cents,
            sangrias_cents=self.sangrias_cents,
            sales=by_method(self.sales),
            customer_payments=by_method(self.customer_payments),
            refunds=by_method(self.refunds),
        )


# One round trip for every session's flows: paid sales (their total, by method; fiado is
# left out by the arithmetic; a paid sale cancelled later still came into this drawer, its
# refund leaves the canceller's), movements by kind, payments and refunds by method.
_FLOWS: LiteralString = (
    "SELECT till_session_id AS session_id, 'sale' AS source, payment_method AS method,"
    " sum(total_cents)::bigint AS cents, count(*)::bigint AS n FROM sales"
    " WHERE till_session_id = ANY(%(ids)s) AND status IN ('paid', 'refunded')"
    " GROUP BY till_session_id, payment_method"
    " UNION ALL SELECT session_id, kind, 'cash', sum(amount_cents)::bigint, count(*)::bigint"
    " FROM till_movements WHERE session_id = ANY(%(ids)s) GROUP BY session_id, kind"
    " UNION ALL SELECT session_id, 'payment', method, sum(amount_cents)::bigint,"
    " count(*)::bigint FROM till_customer_payments WHERE session_id = ANY(%(ids)s)"
    " GROUP BY session_id, method"
    " UNION ALL SELECT session_id, 'refund', method, sum(amount_cents)::bigint,"
    " count(*)::bigint FROM till_refunds WHERE session_id = ANY(%(ids)s)"
    " GROUP BY session_id, method"
)


async def flows(conn: AnyConn, session_ids: Sequence[UUID]) -> dict[UUID, SessionFlows]:
    found: dict[UUID, SessionFlows] = {sid: SessionFlows() for sid in session_ids}
    if not session_ids:
        return found
    for row in await _rows(conn, _FLOWS, {"ids": list(session_ids)}):
        f = found[row["session_id"]]
        source, method, cents, n = row["source"], row["method"], int(row["cents"]), int(row["n"])
        if source == "sale":
            f.sales.append((method, cents))
            f.sales_count += n
        elif source == "suprimento":
            f.suprimentos_cents += cents
            f.movements += n
        elif source == "sangria":
            f.sangrias_cents += cents
            f.movements += n
        elif source == "payment":
            f.customer_payments.append((method, cents))
        elif source == "refund":
            f.refunds.append((method, cents))
    return found


@dataclass(frozen=True)
class Movement:
    id: UUID
    session_id: UUID
    kind: str
    amount_cents: int
    reason: str
    at: datetime
    by: UUID


async def movements(conn: AnyConn, session_ids: Sequence[UUID]) -> dict[UUID, list[Movement]]:
    found: dict[UUID, list[Movement]] = {sid: [] for sid in session_ids}
    if not session_ids:
        return found
    rows = await _rows(
        conn,
        "SELECT id, session_id, kind, amount_cents, reason, at, by_user AS by"
        " FROM till_movements WHERE session_id = ANY(%s) ORDER BY session_id, at, id",
        (list(session_ids),),
    )
    for row in rows:
        found[row["session_id"]].append(Movement(**row))
    return found


async def insert_movement(
    conn: AnyConn,
    movement_id: UUID,
    session_id: UUID,
    kind: str,
    amount: int,
    reason: str,
    by: UUID,
) -> Movement:
    row = await _row(
        conn,
        "INSERT INTO till_movements (id, session_id, kind, amount_cents, reason, by_user)"
        " VALUES (%s, %s, %s, %s, %s, %s)"
        " RETURNING id, session_id, kind, amount_cents, reason, at, by_user AS by",
        (movement_id, session_id, kind, amount, reason, by),
    )
    assert row is not None
    return Movement(**row)


async def close_session(
    conn: AnyConn,
    session_id: UUID,
    *,
    closed_by: UUID,
    sales_count: int,
    expected: Amounts,
    counted: Amounts,
) -> datetime:
    """Close an open session with its figures; its closing time."""
    e, c = expected, counted
    row = await _row(
        conn,
        "UPDATE till_sessions SET status = 'closed', closed_at = now(), closed_by = %s,"
        " sales_count = %s, expected_cash_cents = %s, expected_pix_cents = %s,"
        " expected_debit_cents = %s, expected_credit_cents = %s, counted_cash_cents = %s,"
        " counted_pix_cents = %s, counted_debit_cents = %s, counted_credit_cents = %s"
        " WHERE id = %s AND status = 'open' RETURNING closed_at",
        (
            closed_by,
            sales_count,
            e.cash_cents,
            e.pix_cents,
            e.debit_cents,
            e.credit_cents,
            c.cash_cents,
            c.pix_cents,
            c.debit_cents,
            c.credit_cents,
            session_id,
        ),
    )
    if row is None:
        raise RuntimeError(f"till session {session_id} was not open")  # locked beforehand
    closed_at: datetime = row["closed_at"]
    return closed_at


async def insert_customer_payment(
    conn: AnyConn,
    payment_id: UUID,
    session_id: UUID,
    customer_id: UUID,
    method: str,
    amount: int,
) -> bool:
    """False when this payment was counted already (in whatever session)."""
    row = await _row(
        conn,
        "INSERT INTO till_customer_payments (payment_id, session_id, customer_id, method,"
        " amount_cents) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (payment_id) DO NOTHING RETURNING payment_id",
        (payment_id, session_id, customer_id, method, amount),
    )
    return row is not None


async def refund_recorded(conn: AnyConn, return_id: UUID) -> bool:
    row = await _row(conn, "SELECT 1 AS found FROM till_refunds WHERE return_id = %s", (return_id,))
    return row is not None


async def insert_refund(
    conn: AnyConn, return_id: UUID, session_id: UUID, method: str, amount: int
) -> bool:
    """False when this return's refund was recorded already."""
    row = await _row(
        conn,
        "INSERT INTO till_refunds (return_id, session_id, method, amount_cents)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (return_id) DO NOTHING RETURNING return_id",
        (return_id, session_id, method, amount),
    )
    return row is not None


async def unpaid_sales(conn: AnyConn, session_id: UUID) -> int:
    """The session's sales still waiting for (or refused) a payment: one paid after the
    closing would come into a drawer whose figures already froze."""
    row = await _row(
        conn,
        "SELECT count(*)::bigint AS n FROM sales WHERE till_session_id = %s"
        " AND status IN ('pending_payment', 'payment_failed')",
        (session_id,),
    )
    return int(row["n"]) if row else 0
