"""Inventory functions: register-movement (receipts, losses, counts, desossa and the import
of past stock), inventory-query, suppliers (HTTP), apply-sale-to-stock and
apply-product-to-inventory (events). Each target is its own Knative Service
(FUNCTION_TARGET picks it)."""

from __future__ import annotations

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import Response

from functions.inventory import api, service
from shared.config import FunctionSettings
from shared.events.catalog import ProductCreated, ProductUpdated
from shared.events.sales import SalePaid, SaleRefunded, SaleReturned
from shared.http import HttpFunction
from shared.logs import configure_logging
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber

settings = FunctionSettings()
configure_logging(settings.function_name)
runtime = Runtime(settings)

_register_fn = HttpFunction(runtime, api.register_routes())
_query_fn = HttpFunction(runtime, api.query_routes())
_suppliers_fn = HttpFunction(runtime, api.supplier_routes())
_sales_events = Subscriber(
    runtime,
    [
        On(SalePaid, service.apply_sale_event),
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
async def suppliers(request: Request) -> Response:
    return await _suppliers_fn(request)


@functions_framework.aio.http
async def apply_sale_to_stock(request: Request) -> Response:
    return await _sales_events(request)


@functions_framework.aio.http
async def apply_product_to_inventory(request: Request) -> Response:
    return await _product_events(request)
