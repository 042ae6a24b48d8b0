"""SQL of a sale's returns (sales.sale_returns, sales.sale_return_items)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from functions.sales.return_rules import ReturnPlan
from shared.contracts.sales import ReturnItemOut, ReturnOut
from shared.db.pool import Conn

_RETURN_COLUMNS = (
    "id, sale_id, created_at, returned_by, reason, refund_cents, payment_method, request_hash"
)


@dataclass(frozen=True)
class StoredReturn:
    out: ReturnOut
    request_hash: str


async def returned_so_far(conn: Conn, sale_id: UUID) -> dict[UUID, Decimal]:
    """How much of each product earlier returns of the sale took back."""
    cursor = await conn.execute(
        "SELECT i.product_id, sum(i.quantity) AS quantity FROM sale_return_items i"
        " JOIN sale_returns r ON r.id = i.return_id WHERE r.sale_id = %s GROUP BY i.product_id",
        (sale_id,),
    )
    return {row["product_id"]: row["quantity"] for row in await cursor.fetchall()}


async def customer_of(conn: Conn, sale_id: UUID) -> UUID | None:
    """The sale's fiado customer. Read from the row as JSON, so that it answers None, not an
    error, on a schema without the column (sales.customer_id comes with fiado)."""
    cursor = await conn.execute(
        "SELECT to_jsonb(s) ->> 'customer_id' AS customer_id FROM sales s WHERE id = %s",
        (sale_id,),
    )
    row = await cursor.fetchone()
    return UUID(row["customer_id"]) if row and row["customer_id"] else None


async def insert_return(
    conn: Conn,
    out: ReturnOut,
    plan: ReturnPlan,
    *,
    customer_id: UUID | None,
    till_session_id: UUID | None,
    key: str | None,
    request_hash: str,
) -> None:
    await conn.execute(
        "INSERT INTO sale_returns (id, sale_id, returned_by, reason, refund_cents,"
        " payment_method, customer_id, till_session_id, idempotency_key, request_hash,"
        " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            out.id,
            out.sale_id,
            out.by,
            out.reason,
            out.refund_cents,
            out.method,
            customer_id,
            till_session_id,
            key,
            request_hash,
            out.at,
        ),
    )
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO sale_return_items (return_id, line, product_id, name, unit, quantity,"
            " refund_cents) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (out.id, line, p.product_id, p.name, p.unit, p.quantity, p.refund_cents)
                for line, p in enumerate(plan.items, start=1)
            ],
        )


_OF_SALE = f"SELECT {_RETURN_COLUMNS} FROM sale_returns WHERE sale_id = %s ORDER BY seq"  # noqa: S608
_BY_KEY = (
    f"SELECT {_RETURN_COLUMNS} FROM sale_returns"  # noqa: S608
    " WHERE sale_id = %s AND idempotency_key = %s"
)


async def _with_items(conn: Conn, rows: list[dict[str, Any]]) -> list[StoredReturn]:
    if not rows:
        return []
    cursor = await conn.execute(
        "SELECT return_id, product_id, name, quantity, refund_cents FROM sale_return_items"
        " WHERE return_id = ANY(%s) ORDER BY return_id, line",
        ([row["id"] for row in rows],),
    )
    items: dict[UUID, list[dict[str, Any]]] = {}
    for item in await cursor.fetchall():
        items.setdefault(item.pop("return_id"), []).append(item)
    return [
        StoredReturn(
            ReturnOut(
                id=row["id"],
                sale_id=row["sale_id"],
                at=row["created_at"],
                by=row["returned_by"],
                reason=row["reason"],
                refund_cents=row["refund_cents"],
                method=row["payment_method"],
                items=[ReturnItemOut(**i) for i in items.get(row["id"], [])],
            ),
            row["request_hash"],
        )
        for row in rows
    ]


async def returns_of(conn: Conn, sale_id: UUID) -> list[ReturnOut]:
    """The sale's returns, in the order they were made."""
    cursor = await conn.execute(_OF_SALE, (sale_id,))
    return [stored.out for stored in await _with_items(conn, await cursor.fetchall())]


async def by_key(conn: Conn, sale_id: UUID, key: str) -> StoredReturn | None:
    """The return an earlier request with this Idempotency-Key made on this sale."""
    cursor = await conn.execute(_BY_KEY, (sale_id, key))
    found = await _with_items(conn, await cursor.fetchall())
    return found[0] if found else None
