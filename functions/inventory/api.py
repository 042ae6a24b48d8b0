"""The inventory functions' HTTP handlers and route tables (main.py serves each table as its
own Knative Service); tests serve the same tables on their own runtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from functions.inventory import service, store
from shared import shop_time
from shared.contracts import endpoints as api
from shared.contracts.imports import ImportStockIn
from shared.contracts.inventory import BreakdownIn, BreakdownOut, MovementIn, MovementOut, StockOut
from shared.contracts.queries import MovementsQuery, StockQuery, SuppliersQuery
from shared.contracts.suppliers import SupplierIn, SupplierOut, SupplierPatch
from shared.errors import Problem
from shared.http import RequestContext, Route
from shared.money import cents
from shared.units import parse_quantity

# -- register-movement ------------------------------------------------------------------


async def _register(ctx: RequestContext) -> MovementOut:
    body = await ctx.body(MovementIn)
    movement = await ctx.command(lambda uow: service.register_movement(uow, body))
    return MovementOut(**movement.__dict__, created_at=datetime.now(UTC))


async def _breakdown(ctx: RequestContext) -> BreakdownOut:
    body = await ctx.body(BreakdownIn)
    return await ctx.command(lambda uow: service.breakdown(uow, body))


async def _import(ctx: RequestContext) -> dict[str, int]:
    body = await ctx.body(ImportStockIn)
    return await ctx.command(lambda uow: service.import_stock(uow, body))


# -- inventory-query --------------------------------------------------------------------


def _stock(row: dict[str, object]) -> StockOut:
    quantity = Decimal(str(row["quantity"]))
    min_stock = Decimal(str(row["min_stock"]))
    return StockOut(
        product_id=row["product_id"],
        name=row["name"],
        unit=row["unit"],
        quantity=quantity,
        average_cost_cents=cents(Decimal(str(row["average_cost"]))),
        min_stock=min_stock,
        low=min_stock > 0 and quantity < min_stock,
        negative=quantity < 0,
        expiring=[
            {**lot, "quantity": parse_quantity(str(lot["quantity"]))}
            for lot in row["expiring"]  # type: ignore[attr-defined]
        ],
    )


async def _levels(ctx: RequestContext, product_id: UUID | None) -> list[StockOut]:
    today = shop_time.today()
    async with await ctx.unit_of_work() as uow:
        rows = await store.stock_levels(
            uow.conn,
            product_id=product_id,
            expiring_by=today + timedelta(days=ctx.query(StockQuery).expiring_within_days),
        )
    return [_stock(r) for r in rows]


# What stock costs is the shop's margin: a vendedor sees quantities, never costs.
COST_FIELDS = frozenset({"average_cost_cents"})


def _shown(ctx: RequestContext, stock: StockOut) -> dict[str, object]:
    hidden = set() if ctx.user.role in api.STOCK_KEEPERS else set(COST_FIELDS)
    return stock.model_dump(mode="json", exclude=hidden)


async def _stock_list(ctx: RequestContext) -> dict[str, object]:
    return {"items": [_shown(ctx, s) for s in await _levels(ctx, None)]}


async def _stock_one(ctx: RequestContext) -> dict[str, object]:
    found = await _levels(ctx, ctx.params["product_id"])
    if not found:
        raise Problem(404, "No such product in stock.")
    return _shown(ctx, found[0])


async def _movements(ctx: RequestContext) -> dict[str, object]:
    query = ctx.query(MovementsQuery)
    async with await ctx.unit_of_work() as uow:
        rows = await store.movements(uow.conn, product_id=query.product_id, limit=query.limit)
    return {"items": [MovementOut(**r).model_dump(mode="json") for r in rows]}


# -- suppliers --------------------------------------------------------------------------


async def _suppliers(ctx: RequestContext) -> dict[str, object]:
    query = ctx.query(SuppliersQuery)
    async with await ctx.unit_of_work() as uow:
        found = await store.search_suppliers(
            uow.conn, query=query.q, active=query.active, limit=query.limit
        )
    return {"items": [s.out().model_dump(mode="json") for s in found]}


async def _create_supplier(ctx: RequestContext) -> SupplierOut:
    body = await ctx.body(SupplierIn)
    return await ctx.command(lambda uow: service.create_supplier(uow, body))


async def _update_supplier(ctx: RequestContext) -> SupplierOut:
    patch = await ctx.body(SupplierPatch)
    return await ctx.command(
        lambda uow: service.update_supplier(uow, ctx.params["supplier_id"], patch)
    )


def register_routes() -> list[Route]:
    return [
        Route(api.REGISTER_MOVEMENT, _register),
        Route(api.REGISTER_BREAKDOWN, _breakdown),
        Route(api.IMPORT_STOCK, _import),
    ]


def query_routes() -> list[Route]:
    return [
        Route(api.STOCK_LEVELS, _stock_list),
        Route(api.STOCK_OF_PRODUCT, _stock_one),
        Route(api.STOCK_MOVEMENTS, _movements),
    ]


def supplier_routes() -> list[Route]:
    return [
        Route(api.LIST_SUPPLIERS, _suppliers),
        Route(api.CREATE_SUPPLIER, _create_supplier),
        Route(api.UPDATE_SUPPLIER, _update_supplier),
    ]
