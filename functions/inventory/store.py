"""SQL of the inventory schema."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from functions.inventory.domain import EMPTY, Stock
from shared.db.pool import Conn


@dataclass(frozen=True)
class ProductInfo:
    product_id: UUID
    name: str
    unit: str
    price_cents: int
    min_stock: Decimal
    active: bool


async def upsert_product(conn: Conn, info: ProductInfo, version: int) -> bool:
    """Full state from a product event, applied only when its catalogue version is newer
    than the one kept: an older (or forged-old) state never overwrites a newer one, whatever
    the event's time says. True when applied."""
    cursor = await conn.execute(
        "INSERT INTO products (product_id, name, unit, price_cents, min_stock, active, version)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (product_id) DO UPDATE SET name = EXCLUDED.name, unit = EXCLUDED.unit,"
        " price_cents = EXCLUDED.price_cents, min_stock = EXCLUDED.min_stock,"
        " active = EXCLUDED.active, version = EXCLUDED.version"
        " WHERE products.version < EXCLUDED.version RETURNING product_id",
        (
            info.product_id,
            info.name,
            info.unit,
            info.price_cents,
            info.min_stock,
            info.active,
            version,
        ),
    )
    return await cursor.fetchone() is not None


async def products(conn: Conn, ids: list[UUID]) -> dict[UUID, ProductInfo]:
    cursor = await conn.execute(
        "SELECT product_id, name, unit, price_cents, min_stock, active FROM products"
        " WHERE product_id = ANY(%s)",
        (ids,),
    )
    return {row["product_id"]: ProductInfo(**row) for row in await cursor.fetchall()}


async def lock_stock(conn: Conn, product_ids: list[UUID]) -> dict[UUID, Stock]:
    """Lock the products' stock rows, creating missing ones, in one order (no deadlock)."""
    ordered = sorted(set(product_ids))
    await conn.execute(
        "INSERT INTO stock (product_id) SELECT unnest(%s::uuid[]) ON CONFLICT DO NOTHING",
        (ordered,),
    )
    cursor = await conn.execute(
        "SELECT product_id, quantity, average_cost FROM stock WHERE product_id = ANY(%s)"
        " ORDER BY product_id FOR UPDATE",
        (ordered,),
    )
    found = {
        r["product_id"]: Stock(r["quantity"], r["average_cost"]) for r in await cursor.fetchall()
    }
    return {pid: found.get(pid, EMPTY) for pid in ordered}


async def save_stock(conn: Conn, product_id: UUID, stock: Stock) -> None:
    await conn.execute(
        "UPDATE stock SET quantity = %s, average_cost = %s, updated_at = now()"
        " WHERE product_id = %s",
        (stock.quantity, stock.average_cost, product_id),
    )


@dataclass(frozen=True)
class MovementRecord:
    id: UUID
    product_id: UUID
    kind: str
    quantity: Decimal
    unit_cost_cents: int
    total_cost_cents: int
    balance_after: Decimal
    cause_type: str
    cause_id: str | None
    reason: str | None = None
    lot: str | None = None
    expires_on: date | None = None
    paid_with: str | None = None
    actor: str | None = None
    return_id: str | None = None


async def insert_movement(conn: Conn, m: MovementRecord) -> datetime:
    cursor = await conn.execute(
        "INSERT INTO movements (id, product_id, kind, quantity, unit_cost_cents, total_cost_cents,"
        " balance_after, cause_type, cause_id, reason, lot, expires_on, paid_with, actor,"
        " return_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " RETURNING created_at",
        (
            m.id,
            m.product_id,
            m.kind,
            m.quantity,
            m.unit_cost_cents,
            m.total_cost_cents,
            m.balance_after,
            m.cause_type,
            m.cause_id,
            m.reason,
            m.lot,
            m.expires_on,
            m.paid_with,
            m.actor,
            m.return_id,
        ),
    )
    row = await cursor.fetchone()
    assert row is not None
    created: datetime = row["created_at"]
    return created


async def add_lot(
    conn: Conn, product_id: UUID, lot: str | None, expires_on: date | None, quantity: Decimal
) -> None:
    await conn.execute(
        "INSERT INTO lots (id, product_id, lot, expires_on, remaining) VALUES (%s, %s, %s, %s, %s)",
        (uuid.uuid4(), product_id, lot, expires_on, quantity),
    )


async def draw_lots(conn: Conn, product_id: UUID, quantity: Decimal) -> None:
    """Take an exit out of the open lots, first-expired-first-out."""
    cursor = await conn.execute(
        "SELECT id, remaining FROM lots WHERE product_id = %s AND remaining > 0"
        " ORDER BY expires_on NULLS LAST, received_at FOR UPDATE",
        (product_id,),
    )
    left = quantity
    for row in await cursor.fetchall():
        if left <= 0:
            break
        take = min(left, row["remaining"])
        await conn.execute(
            "UPDATE lots SET remaining = remaining - %s WHERE id = %s", (take, row["id"])
        )
        left -= take


async def sale_movements(conn: Conn, sale_id: str) -> list[dict[str, Any]]:
    cursor = await conn.execute(
        "SELECT product_id, kind, quantity, total_cost_cents, return_id FROM movements"
        " WHERE cause_type = 'sale' AND cause_id = %s ORDER BY seq",
        (sale_id,),
    )
    return list(await cursor.fetchall())


async def insert_breakdown(
    conn: Conn,
    *,
    breakdown_id: UUID,
    source_product_id: UUID,
    source_quantity: Decimal,
    produced: Decimal,
    loss: Decimal,
    yield_percent: Decimal,
    allocation: str,
    source_cost_cents: int,
    actor: str | None,
) -> None:
    await conn.execute(
        "INSERT INTO breakdowns (id, source_product_id, source_quantity, produced_quantity,"
        " loss_quantity, yield_percent, cost_allocation, source_cost_cents, actor)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            breakdown_id,
            source_product_id,
            source_quantity,
            produced,
            loss,
            yield_percent,
            allocation,
            source_cost_cents,
            actor,
        ),
    )


async def stock_levels(
    conn: Conn, *, product_id: UUID | None, expiring_by: date
) -> list[dict[str, Any]]:
    cursor = await conn.execute(
        "SELECT p.product_id, p.name, p.unit, coalesce(s.quantity, 0) AS quantity,"
        " coalesce(s.average_cost, 0) AS average_cost, p.min_stock,"
        " coalesce((SELECT json_agg(json_build_object('lot', l.lot, 'expires_on', l.expires_on,"
        "   'quantity', l.remaining) ORDER BY l.expires_on, l.received_at)"
        "   FROM lots l WHERE l.product_id = p.product_id AND l.remaining > 0"
        "   AND l.expires_on <= %(by)s), '[]'::json) AS expiring"
        " FROM products p LEFT JOIN stock s ON s.product_id = p.product_id"
        " WHERE (%(pid)s::uuid IS NULL OR p.product_id = %(pid)s) AND (p.active OR s.quantity <> 0)"
        " ORDER BY lower(p.name)",
        {"by": expiring_by, "pid": product_id},
    )
    return list(await cursor.fetchall())


async def movements(conn: Conn, *, product_id: UUID | None, limit: int) -> list[dict[str, Any]]:
    cursor = await conn.execute(
        "SELECT id, product_id, kind, quantity, unit_cost_cents, total_cost_cents, balance_after,"
        " cause_type, cause_id, reason, lot, expires_on, created_at FROM movements"
        " WHERE %(pid)s::uuid IS NULL OR product_id = %(pid)s"
        " ORDER BY seq DESC LIMIT %(limit)s",
        {"pid": product_id, "limit": limit},
    )
    return list(await cursor.fetchall())
