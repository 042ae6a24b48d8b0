"""Customers functions: customers-query, manage-customer, receive-customer-payment (HTTP)
and charge-account (fiado payments, decided against each customer's limit, given back when
the sale is cancelled or returned). Each target is its own Knative Service (FUNCTION_TARGET
picks it)."""

from __future__ import annotations

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import Response

from functions.customers import api, service
from shared.config import FunctionSettings
from shared.http import HttpFunction
from shared.logs import configure_logging
from shared.runtime import Runtime
from shared.subscriber import Subscriber

settings = FunctionSettings()
configure_logging(settings.function_name)
runtime = Runtime(settings)

_query_fn = HttpFunction(runtime, api.query_routes())
_manage_fn = HttpFunction(runtime, api.manage_routes())
_payment_fn = HttpFunction(runtime, api.payment_routes())
_charge_events = Subscriber(runtime, service.events())


@functions_framework.aio.http
async def customers_query(request: Request) -> Response:
    return await _query_fn(request)


@functions_framework.aio.http
async def manage_customer(request: Request) -> Response:
    return await _manage_fn(request)


@functions_framework.aio.http
async def receive_customer_payment(request: Request) -> Response:
    return await _payment_fn(request)


@functions_framework.aio.http
async def charge_account(request: Request) -> Response:
    return await _charge_events(request)
