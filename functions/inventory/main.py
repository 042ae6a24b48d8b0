"""Inventory functions. Each target is its own Knative Service (FUNCTION_TARGET picks it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import Response

from functions.inventory import service, store
from shared import shop_time
from shared.config import FunctionSettings
from shared.contracts import endpoints as api
from shared.contracts.inventory import BreakdownIn, BreakdownOut, MovementIn, MovementOut, StockOut
from shared.contracts.queries import MovementsQuery, StockQuery
from shared.errors import Problem
from shared.events.catalog import ProductCreated, ProductUpdated
from shared.events.sales import SalePaid, SaleRefunded, SaleReturned
from shared.http import HttpFunction, RequestContext, Route
from shared.logs import configure_logging
from shared.money import cents
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber
from shared.units import parse_quantity

settings = FunctionSettings()
configure_logging(settings.function_name)
runtime = Runtime(settings)


# -- register-movement ------------------------------------------------------------------


async def _register(ctx: RequestContext) -> MovementOut:
    body = await ctx.body(MovementIn)
    movement = await ctx.command(lambda uow: service.register_movement(uow, body))
    return MovementOut(**movement.__dict__, created_at=datetime.now(UTC))


async def _breakdown(ctx: RequestContext) -> BreakdownOut:
    body = await ctx.body(BreakdownIn)
    return await ctx.command(lambda uow: service.breakdown(uow, body))


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


# -- subscribers ------------------------------------------------------------------------


_register_fn = HttpFunction(
    runtime,
    [
        Route(api.REGISTER_MOVEMENT, _register),
        Route(api.REGISTER_BREAKDOWN, _breakdown),
    ],
)
_query_fn = HttpFunction(
    runtime,
    [
        Route(api.STOCK_LEVELS, _stock_list),
        Route(api.STOCK_OF_PRODUCT, _stock_one),
        Route(api.STOCK_MOVEMENTS, _movements),
    ],
)
_sales_events = Subscriber(
    runtime,
    [
        On.applying(SalePaid, service.apply_sale),
        On.applying(SaleRefunded, service.apply_refund),
        On.applying(SaleReturned, service.apply_return),
    ],
)
_product_events = Subscriber(
    runtime,
    [On.applying(m, service.apply_product) for m in (ProductCreated, ProductUpdated)],
)


@functions_framework.aio.http
async def register_movement(request: Request) -> Response:
    return await _register_fn(request)


@functions_framework.aio.http
async def inventory_query(request: Request) -> Response:
    return await _query_fn(request)


@functions_framework.aio.http
async def apply_sale_to_stock(request: Request) -> Response:
    return await _sales_events(request)


@functions_framework.aio.http
async def apply_product_to_inventory(request: Request) -> Response:
    return await _product_events(request)
