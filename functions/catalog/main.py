"""Catalogue functions. Each target is its own Knative Service (FUNCTION_TARGET picks it)."""

from __future__ import annotations

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import Response

from functions.catalog import service, store
from shared.config import FunctionSettings
from shared.contracts import endpoints as api
from shared.contracts.catalog import CategoryIn, CategoryOut, ProductIn, ProductOut, ProductPatch
from shared.contracts.queries import ProductsQuery
from shared.domain_errors import NotFound
from shared.http import HttpFunction, RequestContext, Route
from shared.logs import configure_logging
from shared.runtime import Runtime

settings = FunctionSettings()
configure_logging(settings.function_name)
runtime = Runtime(settings)


async def _create_category(ctx: RequestContext) -> CategoryOut:
    body = await ctx.body(CategoryIn)
    return await ctx.command(lambda uow: service.create_category(uow, body))


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


_create_category_fn = HttpFunction(runtime, [Route(api.CREATE_CATEGORY, _create_category)])
_create_product_fn = HttpFunction(runtime, [Route(api.CREATE_PRODUCT, _create_product)])
_update_product_fn = HttpFunction(runtime, [Route(api.UPDATE_PRODUCT, _update_product)])
_catalog_query_fn = HttpFunction(
    runtime,
    [
        Route(api.LIST_PRODUCTS, _list_products),
        Route(api.GET_PRODUCT, _get_product),
        Route(api.LIST_CATEGORIES, _list_categories),
    ],
)


@functions_framework.aio.http
async def create_category(request: Request) -> Response:
    return await _create_category_fn(request)


@functions_framework.aio.http
async def create_product(request: Request) -> Response:
    return await _create_product_fn(request)


@functions_framework.aio.http
async def update_product(request: Request) -> Response:
    return await _update_product_fn(request)


@functions_framework.aio.http
async def catalog_query(request: Request) -> Response:
    return await _catalog_query_fn(request)
