"""Catalogue functions. Each target is its own Knative Service (FUNCTION_TARGET picks it);
the handlers and route tables are in api.py."""

from __future__ import annotations

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import Response

from functions.catalog import api
from shared.config import FunctionSettings
from shared.http import HttpFunction
from shared.logs import configure_logging
from shared.runtime import Runtime

settings = FunctionSettings()
configure_logging(settings.function_name)
runtime = Runtime(settings)

_create_category_fn = HttpFunction(runtime, api.create_category_routes())
_update_category_fn = HttpFunction(runtime, api.update_category_routes())
_create_product_fn = HttpFunction(runtime, api.create_product_routes())
_update_product_fn = HttpFunction(runtime, api.update_product_routes())
_catalog_query_fn = HttpFunction(runtime, api.query_routes())


@functions_framework.aio.http
async def create_category(request: Request) -> Response:
    return await _create_category_fn(request)


@functions_framework.aio.http
async def update_category(request: Request) -> Response:
    return await _update_category_fn(request)


@functions_framework.aio.http
async def create_product(request: Request) -> Response:
    return await _create_product_fn(request)


@functions_framework.aio.http
async def update_product(request: Request) -> Response:
    return await _update_product_fn(request)


@functions_framework.aio.http
async def catalog_query(request: Request) -> Response:
    return await _catalog_query_fn(request)
