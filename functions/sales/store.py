"""SQL of the sales schema."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from functions.sales.domain import SaleState, Status
from shared.contracts.sales import PaymentOut, PixOut, SaleItemOut, SaleOut
from shared.db.pool import Conn


@dataclass(frozen=True)
class CounterProduct:
    product_id: UUID
    name: str
    unit: str
    price_cents: int
    plu: int | None
    barcode: str | None
    active: bool


_PRODUCT = "SELECT product_id, name, unit, price_cents, plu, barcode, active FROM products"


async def upsert_product(conn: Conn, p: CounterProduct, version: int) -> bool:
    """Full state from a product event, applied only when its catalogue version is newer
    than the one kept: an older (or replayed, or forged-old) state never overwrites a newer
    one, whatever the event's time says. True when applied."""
    cursor = await conn.execute(
        "INSERT INTO products (product_id, name, unit, price_cents, plu, barcode, active,"
        " version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (product_id) DO UPDATE SET name = EXCLUDED.name, unit = EXCLUDED.unit,"
        " price_cents = EXCLUDED.price_cents, plu = EXCLUDED.plu, barcode = EXCLUDED.barcode,"
        " active = EXCLUDED.active, version = EXCLUDED.version"
        " WHERE products.version < EXCLUDED.version RETURNING product_id",
        (p.product_id, p.name, p.unit, p.price_cents, p.plu, p.barcode, p.active, version),
    )
    return await cursor.fetchone() is not None


# The counter finds a product by its id, its PLU (scale labels) or its barcode: the only
# columns a lookup may name (an allow-list, not an assert: asserts vanish under -O).
_PRODUCT_BY = {
    column: f"{_PRODUCT} WHERE {column} = %s ORDER BY active DESC LIMIT 1"
    for column in ("product_id", "plu", "barcode")
}
# The columns a payment event may set on a sale.
PAYMENT_COLUMNS = frozenset(
    {
        "payment_status",
        "payment_reason",
        "fee_cents",
        "pix_txid",
        "pix_payload",
        "payment_method",
        "installments",
        "cash_received_cents",
        "change_cents",
        "customer_id",
        "customer_name",
    }
)


async def product_by(
    conn: Conn, column: Literal["product_id", "plu", "barcode"], value: object
) -> CounterProduct | None:
    query = _PRODUCT_BY.get(column)
    if query is None:
        raise ValueError(f"products are not looked up by {column!r}")
    cursor = await conn.execute(query, (value,))
    row = await cursor.fetchone()
    return CounterProduct(**row) if row else None


_SALE_COLUMNS = (
    "id, seller_id, request_hash, status, attempt, cancel_requested, subtotal_cents,"
    " discount_cents, total_cents, payment_method, installments, cash_received_cents,"
    " change_cents, payment_status, payment_reason, fee_cents, pix_txid, pix_payload, created_at,"
    " discount_approved_by, customer_id, customer_name, till_session_id"
)


async def approval_used(conn: Conn, jti: str) -> bool:
    cursor = await conn.execute("SELECT 1 FROM sales WHERE discount_approval_jti = %s", (jti,))
    return await cursor.fetchone() is not None


async def insert_sale(
    conn: Conn, sale: SaleOut, *, key: str, request_hash: str, approval_jti: str | None = None
) -> bool:
    """False when this seller already used the key (the earlier sale stands). Raises
    UniqueViolation when the approval already paid for another sale."""
    p = sale.payment
    cursor = await conn.execute(
        "INSERT INTO sales (id, seller_id, idempotency_key, request_hash, status, subtotal_cents,"
        " discount_cents, total_cents, payment_method, installments, cash_received_cents,"
        " change_cents, created_at, discount_approved_by, discount_approval_jti, customer_id,"
        " till_session_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (seller_id, idempotency_key) DO NOTHING RETURNING id",
        (
            sale.id,
            sale.seller_id,
            key,
            request_hash,
            sale.status,
            sale.subtotal_cents,
            sale.discount_cents,
            sale.total_cents,
            p.method,
            p.installments,
            p.cash_received_cents,
            p.change_cents,
            sale.created_at,
            sale.discount_approved_by,
            approval_jti,
            sale.customer_id,
            sale.till_session_id,
        ),
    )
    if await cursor.fetchone() is None:
        return False
    for line, item in enumerate(sale.items, start=1):
        await conn.execute(
            "INSERT INTO sale_items (sale_id, line, product_id, name, unit, quantity,"
            " unit_price_cents, total_cents, barcode) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                sale.id,
                line,
                item.product_id,
                item.name,
                item.unit,
                item.quantity,
                item.unit_price_cents,
                item.total_cents,
                item.barcode,
            ),
        )
    return True


@dataclass(frozen=True)
class SaleRow:
    sale: SaleOut
    request_hash: str
    state: SaleState


def _sale(row: dict[str, Any], items: list[dict[str, Any]]) -> SaleRow:
    pix = PixOut(payload=row["pix_payload"], txid=row["pix_txid"]) if row["pix_payload"] else None
    sale = SaleOut(
        id=row["id"],
        status=row["status"],
        seller_id=row["seller_id"],
        attempt=row["attempt"],
        created_at=row["created_at"],
        subtotal_cents=row["subtotal_cents"],
        discount_cents=row["discount_cents"],
        total_cents=row["total_cents"],
        items=[SaleItemOut(**i) for i in items],
        payment=PaymentOut(
            method=row["payment_method"],
            status=row["payment_status"],
            amount_cents=row["total_cents"],
            installments=row["installments"],
            cash_received_cents=row["cash_received_cents"],
            change_cents=row["change_cents"],
            fee_cents=row["fee_cents"],
            reason=row["payment_reason"],
            pix=pix,
        ),
        discount_approved_by=row["discount_approved_by"],
        customer_id=row["customer_id"],
        customer_name=row["customer_name"],
        till_session_id=row["till_session_id"],
    )
    state = SaleState(Status(row["status"]), row["attempt"], row["cancel_requested"])
    return SaleRow(sale, row["request_hash"], state)


async def _items(conn: Conn, sale_ids: list[UUID]) -> dict[UUID, list[dict[str, Any]]]:
    cursor = await conn.execute(
        "SELECT sale_id, product_id, name, unit, quantity, unit_price_cents, total_cents, barcode"
        " FROM sale_items WHERE sale_id = ANY(%s) ORDER BY sale_id, line",
        (sale_ids,),
    )
    found: dict[UUID, list[dict[str, Any]]] = {}
    for row in await cursor.fetchall():
        sale_id = row.pop("sale_id")
        found.setdefault(sale_id, []).append(row)
    return found


async def get_sale(conn: Conn, sale_id: UUID, *, for_update: bool = False) -> SaleRow | None:
    lock = " FOR UPDATE" if for_update else ""
    cursor = await conn.execute(
        f"SELECT {_SALE_COLUMNS} FROM sales WHERE id = %s{lock}",  # noqa: S608
        (sale_id,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return _sale(row, (await _items(conn, [sale_id])).get(sale_id, []))


async def find_by_key(conn: Conn, seller_id: UUID, key: str) -> SaleRow | None:
    cursor = await conn.execute(
        "SELECT id FROM sales WHERE seller_id = %s AND idempotency_key = %s", (seller_id, key)
    )
    row = await cursor.fetchone()
    return await get_sale(conn, row["id"]) if row else None


async def save_state(conn: Conn, sale_id: UUID, state: SaleState, **payment: object) -> None:
    """The sale's new state, with whatever the payment event told (only given columns)."""
    unknown = set(payment) - PAYMENT_COLUMNS
    if unknown:
        raise ValueError(f"not a payment column of a sale: {sorted(unknown)}")
    sets = ["status = %s", "attempt = %s", "cancel_requested = %s", "updated_at = now()"]
    values: list[object] = [state.status.value, state.attempt, state.cancel_requested]
    if state.status is Status.PAID:
        sets.append("paid_at = coalesce(paid_at, now())")
    for column, value in payment.items():
        sets.append(f"{column} = %s")  # a PAYMENT_COLUMNS name, checked above
        values.append(value)
    values.append(sale_id)
    await conn.execute(f"UPDATE sales SET {', '.join(sets)} WHERE id = %s", values)  # noqa: S608


async def list_sales(
    conn: Conn,
    *,
    seller_id: UUID | None,
    since: datetime | None,
    until: datetime | None,
    status: str | None,
    limit: int,
) -> list[SaleOut]:
    cursor = await conn.execute(
        f"SELECT {_SALE_COLUMNS} FROM sales"  # noqa: S608
        " WHERE (%(seller)s::uuid IS NULL OR seller_id = %(seller)s)"
        " AND (%(since)s::timestamptz IS NULL OR created_at >= %(since)s)"
        " AND (%(until)s::timestamptz IS NULL OR created_at < %(until)s)"
        " AND (%(status)s::text IS NULL OR status = %(status)s)"
        " ORDER BY created_at DESC LIMIT %(limit)s",
        {"seller": seller_id, "since": since, "until": until, "status": status, "limit": limit},
    )
    rows = await cursor.fetchall()
    items = await _items(conn, [r["id"] for r in rows])
    return [_sale(r, items.get(r["id"], [])).sale for r in rows]
