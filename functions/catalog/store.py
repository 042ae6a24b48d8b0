"""SQL of the catalogue schema (the connection's search path is `catalog`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import errors

from functions.catalog.domain import fold
from shared.contracts.catalog import CategoryOut, ProductOut
from shared.db.pool import Conn
from shared.domain_errors import Conflict, Invalid, Refused
from shared.text_search import like_pattern

_PRODUCT_COLUMNS = "id, name, category_id, unit, price_cents, plu, barcode, min_stock, active"


def _product(row: dict[str, Any]) -> ProductOut:
    return ProductOut.model_validate(row)


def _conflict(exc: errors.IntegrityError) -> Refused:
    """A uniqueness or reference violation, told in terms the caller can fix."""
    constraint = getattr(exc.diag, "constraint_name", "") or ""
    if "plu" in constraint:
        return Conflict("Another product already has this PLU.")
    if "barcode" in constraint:
        return Conflict("Another product already has this barcode.")
    if "category_id" in constraint:
        return Invalid("No such category.")
    if "categories_name" in constraint:
        return Conflict("A category with this name already exists.")
    return Conflict("This conflicts with an existing record.")


def _stored_fields(product: ProductOut) -> tuple[object, ...]:
    """The columns a product write sets, in the order both statements name them."""
    return (
        product.name,
        fold(product.name),
        product.category_id,
        product.unit,
        product.price_cents,
        product.plu,
        product.barcode,
        product.min_stock,
        product.active,
    )


async def insert_category(conn: Conn, category: CategoryOut) -> None:
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO categories (id, name) VALUES (%s, %s)", (category.id, category.name)
            )
    except errors.IntegrityError as exc:
        raise _conflict(exc) from None


async def list_categories(conn: Conn) -> list[CategoryOut]:
    rows = await (
        await conn.execute("SELECT id, name, active FROM categories ORDER BY lower(name)")
    ).fetchall()
    return [CategoryOut.model_validate(r) for r in rows]


async def get_category(
    conn: Conn, category_id: UUID, *, for_update: bool = False
) -> CategoryOut | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await (
        await conn.execute(
            f"SELECT id, name, active FROM categories WHERE id = %s{lock}",  # noqa: S608
            (category_id,),
        )
    ).fetchone()
    return CategoryOut.model_validate(row) if row else None


async def category_takes_products(conn: Conn, category_id: UUID) -> bool | None:
    """Whether the category is active (None: no such category). FOR SHARE: a deactivation
    running at the same time waits for this product write, or this one sees it."""
    row = await (
        await conn.execute("SELECT active FROM categories WHERE id = %s FOR SHARE", (category_id,))
    ).fetchone()
    return bool(row["active"]) if row else None


async def update_category(conn: Conn, category: CategoryOut) -> None:
    try:
        async with conn.transaction():
            await conn.execute(
                "UPDATE categories SET name = %s, active = %s, updated_at = now() WHERE id = %s",
                (category.name, category.active, category.id),
            )
    except errors.IntegrityError as exc:
        raise _conflict(exc) from None


async def insert_product(conn: Conn, product: ProductOut) -> None:
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO products (id, name, search_name, category_id, unit, price_cents, plu,"
                " barcode, min_stock, active) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (product.id, *_stored_fields(product)),
            )
    except errors.IntegrityError as exc:
        raise _conflict(exc) from None


async def get_product(
    conn: Conn, product_id: UUID, *, for_update: bool = False
) -> ProductOut | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await (
        await conn.execute(
            f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE id = %s{lock}",  # noqa: S608
            (product_id,),
        )
    ).fetchone()
    return _product(row) if row else None


async def update_product(conn: Conn, product: ProductOut) -> int:
    """The product's new version, which its event carries."""
    try:
        async with conn.transaction():
            cursor = await conn.execute(
                "UPDATE products SET name = %s, search_name = %s, category_id = %s, unit = %s,"
                " price_cents = %s, plu = %s, barcode = %s, min_stock = %s, active = %s,"
                " version = version + 1, updated_at = now() WHERE id = %s RETURNING version",
                (*_stored_fields(product), product.id),
            )
            row = await cursor.fetchone()
    except errors.IntegrityError as exc:
        raise _conflict(exc) from None
    assert row is not None
    version: int = row["version"]
    return version


async def search_products(
    conn: Conn, *, query: str | None, active: bool | None, limit: int
) -> list[ProductOut]:
    """By name (accent-insensitive substring), exact PLU or exact barcode."""
    clauses: list[str] = []
    params: list[object] = []
    if query:
        text = query.strip()
        options = ["search_name LIKE %s"]
        params.append(like_pattern(fold(text)))
        # ASCII digits only: str.isdigit() also holds for "²", which int() refuses (a 500),
        # and no PLU or EAN is written in other scripts' digits.
        digits = text.isascii() and text.isdigit()
        if digits and len(text) <= 4:
            options.append("plu = %s")
            params.append(int(text))
        if digits and len(text) == 13:
            options.append("barcode = %s")
            params.append(text)
        clauses.append("(" + " OR ".join(options) + ")")
    if active is not None:
        clauses.append("active = %s")
        params.append(active)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    params.append(limit)
    rows = await (
        await conn.execute(
            f"SELECT {_PRODUCT_COLUMNS} FROM products{where} ORDER BY search_name LIMIT %s",  # noqa: S608
            params,
        )
    ).fetchall()
    return [_product(r) for r in rows]
