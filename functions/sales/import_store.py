"""SQL of imported sales (issue 18): the legacy numbers already imported, and what makes an
imported sale paid as update-sale-status leaves a live one."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from shared.db.pool import Conn


async def already_imported(conn: Conn, legacy_ids: list[str]) -> set[str]:
    cursor = await conn.execute(
        "SELECT legacy_id FROM imported_sales WHERE legacy_id = ANY(%s)", (legacy_ids,)
    )
    return {row["legacy_id"] for row in await cursor.fetchall()}


async def claim(conn: Conn, legacy_id: str, sale_id: UUID, imported_by: UUID) -> bool:
    """Take the legacy number for this sale; False when another import has it (a
    concurrent one waits here for the first to commit, then gets False)."""
    cursor = await conn.execute(
        "INSERT INTO imported_sales (legacy_id, sale_id, imported_by) VALUES (%s, %s, %s)"
        " ON CONFLICT (legacy_id) DO NOTHING RETURNING legacy_id",
        (legacy_id, sale_id, imported_by),
    )
    return await cursor.fetchone() is not None


async def mark_paid(conn: Conn, sale_id: UUID, fee_cents: int, paid_at: datetime) -> None:
    """Paid when it was, with the fee the ledger posts (insert_sale writes neither)."""
    await conn.execute(
        "UPDATE sales SET payment_status = 'approved', fee_cents = %s, paid_at = %s WHERE id = %s",
        (fee_cents, paid_at, sale_id),
    )


async def is_imported(conn: Conn, sale_id: UUID) -> bool:
    cursor = await conn.execute("SELECT 1 FROM imported_sales WHERE sale_id = %s", (sale_id,))
    return await cursor.fetchone() is not None
