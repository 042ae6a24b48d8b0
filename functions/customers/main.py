"""Customers functions: customers-query, manage-customer, receive-customer-payment (HTTP)
and charge-account (fiado payments, decided against each customer's limit).

PLACEHOLDER written by the coordinator for issue 17; the customers work replaces it.
"""

from __future__ import annotations

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import Response


@functions_framework.aio.http
async def customers_query(request: Request) -> Response:
    raise NotImplementedError


@functions_framework.aio.http
async def manage_customer(request: Request) -> Response:
    raise NotImplementedError


@functions_framework.aio.http
async def receive_customer_payment(request: Request) -> Response:
    raise NotImplementedError


@functions_framework.aio.http
async def charge_account(request: Request) -> Response:
    raise NotImplementedError
