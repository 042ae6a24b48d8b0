"""SQL of the inventory schema."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg import errors

from functions.inventory import domain
from functions.inventory.domain import EMPTY, Stock
from shared.contracts.suppliers import SupplierOut
from shared.db.pool import Conn
from shared.domain_errors import Conflict
from shared.text_search import like_pattern


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
    supplier_id: UUID | None = None
    due_on: date | None = None
    # When it happened: None is now; an imported record's original time otherwise.
    at: datetime | None = None


async def insert_movement(conn: Conn, m: MovementRecord) -> datetime:
    cursor = await conn.execute(
        "INSERT INTO movements (id, product_id, kind, quantity, unit_cost_cents, total_cost_cents,"
        " balance_after, cause_type, cause_id, reason, lot, expires_on, paid_with, actor,"
        " return_id, supplier_id, due_on, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, %s, %s, %s, %s, %s, %s, %s, %s, coalesce(%s, now())) RETURNING created_at",
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
            m.supplier_id,
            m.due_on,
            m.at,
        ),
    )
    row = await cursor.fetchone()
    assert row is not None
    created: datetime = row["created_at"]
    return created


async def add_lot(
    conn: Conn,
    product_id: UUID,
    lot: str | None,
    expires_on: date | None,
    quantity: Decimal,
    at: datetime | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO lots (id, product_id, lot, expires_on, remaining, received_at)"
        " VALUES (%s, %s, %s, %s, %s, coalesce(%s, now()))",
        (uuid.uuid4(), product_id, lot, expires_on, quantity, at),
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
    at: datetime | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO breakdowns (id, source_product_id, source_quantity, produced_quantity,"
        " loss_quantity, yield_percent, cost_allocation, source_cost_cents, actor, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, coalesce(%s, now()))",
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
            at,
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


# -- imports -----------------------------------------------------------------------------


# pg_advisory_xact_lock key of inventory's imports ("acougue stock import").
IMPORT_LOCK_KEY = 0x0ACA_0518


async def lock_imports(conn: Conn) -> None:
    """Imports one at a time (until commit): the same file sent twice at once applies once,
    since the second reads the ids the first wrote."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (IMPORT_LOCK_KEY,))


async def imported_already(
    conn: Conn, movement_ids: list[UUID], breakdown_ids: list[UUID]
) -> set[UUID]:
    """Which of these deterministic import ids are in (an import applied before)."""
    cursor = await conn.execute(
        "SELECT id FROM movements WHERE id = ANY(%s)"
        " UNION ALL SELECT id FROM breakdowns WHERE id = ANY(%s)",
        (movement_ids, breakdown_ids),
    )
    return {row["id"] for row in await cursor.fetchall()}


# -- suppliers ---------------------------------------------------------------------------

_SUPPLIER_COLUMNS = "id, name, cnpj, phone, active, version, created_at"


@dataclass(frozen=True)
class SupplierRow:
    id: UUID
    name: str
    cnpj: str | None
    phone: str | None
    active: bool
    version: int
    created_at: datetime

    def out(self) -> SupplierOut:
        return SupplierOut(
            id=self.id,
            name=self.name,
            cnpj=self.cnpj,
            phone=self.phone,
            active=self.active,
            created_at=self.created_at,
        )


_CNPJ_TAKEN = "Já existe um fornecedor com este CNPJ (CNPJ already registered)."


async def insert_supplier(conn: Conn, s: SupplierRow) -> None:
    """409 when another supplier has this CNPJ."""
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO suppliers (id, name, search_name, cnpj, phone, active, version,"
                " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    s.id,
                    s.name,
                    domain.fold(s.name),
                    s.cnpj,
                    s.phone,
                    s.active,
                    s.version,
                    s.created_at,
                ),
            )
    except errors.UniqueViolation:
        raise Conflict(_CNPJ_TAKEN) from None


async def update_supplier(conn: Conn, s: SupplierRow) -> None:
    """Every field but the creation time; 409 when the new CNPJ is another supplier's."""
    try:
        async with conn.transaction():
            await conn.execute(
                "UPDATE suppliers SET name = %s, search_name = %s, cnpj = %s, phone = %s,"
                " active = %s, version = %s, updated_at = now() WHERE id = %s",
                (s.name, domain.fold(s.name), s.cnpj, s.phone, s.active, s.version, s.id),
            )
    except errors.UniqueViolation:
        raise Conflict(_CNPJ_TAKEN) from None


async def lock_supplier(conn: Conn, supplier_id: UUID) -> SupplierRow | None:
    cursor = await conn.execute(
        f"SELECT {_SUPPLIER_COLUMNS} FROM suppliers WHERE id = %s FOR UPDATE",  # noqa: S608
        (supplier_id,),
    )
    row = await cursor.fetchone()
    return SupplierRow(**row) if row else None


async def supplier_for_receipt(conn: Conn, supplier_id: UUID) -> SupplierRow | None:
    """The supplier a receipt names, held (FOR SHARE) so that it is not deactivated under
    the receipt before it commits."""
    cursor = await conn.execute(
        f"SELECT {_SUPPLIER_COLUMNS} FROM suppliers WHERE id = %s FOR SHARE",  # noqa: S608
        (supplier_id,),
    )
    row = await cursor.fetchone()
    return SupplierRow(**row) if row else None


async def search_suppliers(
    conn: Conn, *, query: str | None, active: bool | None, limit: int
) -> list[SupplierRow]:
    """By name (accent- and case-insensitive substring) or CNPJ digits."""
    clauses: list[str] = []
    params: list[object] = []
    search = domain.supplier_search(query) if query else None
    if search is not None:
        options = ["search_name LIKE %s"]
        params.append(like_pattern(search.name))
        if search.digits:
            options.append("cnpj LIKE %s")
            params.append(like_pattern(search.digits))
        clauses.append("(" + " OR ".join(options) + ")")
    if active is not None:
        clauses.append("active = %s")
        params.append(active)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    params.append(limit)
    cursor = await conn.execute(
        f"SELECT {_SUPPLIER_COLUMNS} FROM suppliers{where}"  # noqa: S608
        " ORDER BY search_name, id LIMIT %s",
        params,
    )
    return [SupplierRow(**r) for r in await cursor.fetchall()]
