"""SQL of the payments schema."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from shared.db.pool import Conn


@dataclass(frozen=True)
class PaymentRow:
    id: UUID
    sale_id: UUID
    attempt: int
    method: str
    amount_cents: int
    installments: int | None
    cash_received_cents: int | None
    change_cents: int | None
    fee_cents: int
    status: str
    reason: str | None
    pix_txid: str | None
    pix_payload: str | None
    customer_id: UUID | None = None  # fiado: whose account


_COLUMNS = (
    "id, sale_id, attempt, method, amount_cents, installments, cash_received_cents,"
    " change_cents, fee_cents, status, reason, pix_txid, pix_payload, customer_id"
)
# What a cancellation settles here: the acquirer's charges. A fiado attempt is the
# customer's account's to settle (charge-account hears sale.cancelled itself).
_SETTLED_HERE = " AND method <> 'fiado'"


def _row(row: dict[str, Any] | None) -> PaymentRow | None:
    return PaymentRow(**row) if row else None


async def insert(conn: Conn, p: PaymentRow, *, confirm_after: timedelta | None) -> bool:
    """False when this attempt of the sale was charged already."""
    cursor = await conn.execute(
        "INSERT INTO payments (id, sale_id, attempt, method, amount_cents, installments,"
        " cash_received_cents, change_cents, fee_cents, status, reason, pix_txid, pix_payload,"
        " customer_id, confirm_after) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, %s, now() + %s) ON CONFLICT (sale_id, attempt) DO NOTHING RETURNING id",
        (
            p.id,
            p.sale_id,
            p.attempt,
            p.method,
            p.amount_cents,
            p.installments,
            p.cash_received_cents,
            p.change_cents,
            p.fee_cents,
            p.status,
            p.reason,
            p.pix_txid,
            p.pix_payload,
            p.customer_id,
            confirm_after,
        ),
    )
    return await cursor.fetchone() is not None


async def set_status(conn: Conn, payment_id: UUID, status: str) -> None:
    await conn.execute(
        "UPDATE payments SET status = %s, updated_at = now() WHERE id = %s", (status, payment_id)
    )


async def approved_of_sale(conn: Conn, sale_id: UUID) -> list[PaymentRow]:
    """The sale's approved charges this function refunds (fiado ones are not)."""
    cursor = await conn.execute(
        f"SELECT {_COLUMNS} FROM payments WHERE sale_id = %s AND status = 'approved'"  # noqa: S608
        f"{_SETTLED_HERE} FOR UPDATE",
        (sale_id,),
    )
    return [p for r in await cursor.fetchall() if (p := _row(r))]


async def pending_of_sale(conn: Conn, sale_id: UUID) -> list[PaymentRow]:
    """The sale's charges still waiting that this function declines (fiado ones are not)."""
    cursor = await conn.execute(
        f"SELECT {_COLUMNS} FROM payments WHERE sale_id = %s AND status = 'pending'"  # noqa: S608
        f"{_SETTLED_HERE} FOR UPDATE",
        (sale_id,),
    )
    return [p for r in await cursor.fetchall() if (p := _row(r))]


async def lock(conn: Conn, payment_id: UUID) -> PaymentRow | None:
    cursor = await conn.execute(
        f"SELECT {_COLUMNS} FROM payments WHERE id = %s FOR UPDATE",  # noqa: S608
        (payment_id,),
    )
    return _row(await cursor.fetchone())


async def mark_cancelled(conn: Conn, sale_id: UUID) -> bool:
    cursor = await conn.execute(
        "INSERT INTO cancelled_sales (sale_id) VALUES (%s) ON CONFLICT DO NOTHING RETURNING 1",
        (sale_id,),
    )
    return await cursor.fetchone() is not None


async def is_cancelled(conn: Conn, sale_id: UUID) -> bool:
    cursor = await conn.execute("SELECT 1 FROM cancelled_sales WHERE sale_id = %s", (sale_id,))
    return await cursor.fetchone() is not None
