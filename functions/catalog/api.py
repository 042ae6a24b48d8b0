"""The catalogue functions' HTTP handlers and route tables (main.py serves each table as
its own Knative Service); tests serve the same tables on their own runtime."""

from __future__ import annotations

from functions.catalog import service, store
from shared.contracts import endpoints as api
from shared.contracts.catalog import (
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    ProductIn,
    ProductOut,
    ProductPatch,
)
from shared.contracts.queries import ProductsQuery
from shared.domain_errors import NotFound
from shared.http import RequestContext, Route


async def _create_category(ctx: RequestContext) -> CategoryOut:
    body = await ctx.body(CategoryIn)
    return await ctx.command(lambda uow: service.create_category(uow, body))


async def _update_category(ctx: RequestContext) -> CategoryOut:
    patch = await ctx.body(CategoryPatch)
    return await ctx.command(
        lambda uow: service.update_category(uow, ctx.params["category_id"], patch)
    )


async def _create_product(ctx: RequestContext) -> ProductOut:
    body = await ctx.body(ProductIn)
    return await ctx.command(lambda uow: service.create_product(uow, body))


async def _update_product(ctx: RequestContext) -> ProductOut:
    patch = await ctx.body(ProductPatch)
    return await ctx.command(
        lambda uow: service.update_product(uow, ctx.params["product_id"], patch)
    )


async def _get_product(ctx: RequestContext) -> ProductOut:
    async with await ctx.unit_of_work() as uow:
        product = await store.get_product(uow.conn, ctx.params["product_id"])
    if product is None:
        raise NotFound("No such product.")
    return product


async def _list_products(ctx: RequestContext) -> dict[str, object]:
    query = ctx.query(ProductsQuery)
    async with await ctx.unit_of_work() as uow:
        products = await store.search_products(
            uow.conn, query=query.q, active=query.active, limit=500
        )
    return {"items": [p.model_dump(mode="json") for p in products]}


async def _list_categories(ctx: RequestContext) -> dict[str, object]:
    async with await ctx.unit_of_work() as uow:
        categories = await store.list_categories(uow.conn)
    return {"items": [c.model_dump(mode="json") for c in categories]}


def create_category_routes() -> list[Route]:
    return [Route(api.CREATE_CATEGORY, _create_category)]


def update_category_routes() -> list[Route]:
    return [Route(api.UPDATE_CATEGORY, _update_category)]


def create_product_routes() -> list[Route]:
    return [Route(api.CREATE_PRODUCT, _create_product)]


def update_product_routes() -> list[Route]:
    return [Route(api.UPDATE_PRODUCT, _update_product)]


def query_routes() -> list[Route]:
    return [
        Route(api.LIST_PRODUCTS, _list_products),
        Route(api.GET_PRODUCT, _get_product),
        Route(api.LIST_CATEGORIES, _list_categories),
    ]
