"""The customers functions' HTTP handlers and route tables (main.py serves each table as
its own Knative Service); tests serve the same tables on their own runtime."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from functions.customers import service, store
from shared.contracts import endpoints as api
from shared.contracts.customers import (
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    CustomerPaymentIn,
    StatementOut,
)
from shared.contracts.queries import CustomersQuery, StatementQuery
from shared.http import RequestContext, Route

# -- customers-query ---------------------------------------------------------------------


async def _list(ctx: RequestContext) -> dict[str, object]:
    query = ctx.query(CustomersQuery)
    async with await ctx.unit_of_work() as uow:
        found = await store.search_customers(
            uow.conn, query=query.q, active=query.active, limit=query.limit
        )
    return {"items": [c.out().model_dump(mode="json") for c in found]}


async def _statement(ctx: RequestContext) -> StatementOut:
    query = ctx.query(StatementQuery)
    async with await ctx.unit_of_work() as uow:
        return await service.statement(uow, ctx.params["customer_id"], query.from_, query.to)


# -- manage-customer ---------------------------------------------------------------------


async def _create(ctx: RequestContext) -> CustomerOut:
    body = await ctx.body(CustomerIn)
    return await ctx.command(lambda uow: service.create_customer(uow, ctx.user, body))


async def _update(ctx: RequestContext) -> CustomerOut:
    patch = await ctx.body(CustomerPatch)
    return await ctx.command(
        lambda uow: service.update_customer(uow, ctx.user, ctx.params["customer_id"], patch)
    )


# -- receive-customer-payment ------------------------------------------------------------


async def _payment(ctx: RequestContext) -> Response:
    key = ctx.optional_idempotency_key()  # sent again after a lost answer: made once
    body = await ctx.body(CustomerPaymentIn)
    paid, replayed = await ctx.command(
        lambda uow: service.receive_payment(uow, ctx.user, ctx.params["customer_id"], body, key)
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(paid.model_dump(mode="json"), status_code=201, headers=headers)


def query_routes() -> list[Route]:
    return [Route(api.LIST_CUSTOMERS, _list), Route(api.CUSTOMER_STATEMENT, _statement)]


def manage_routes() -> list[Route]:
    return [Route(api.CREATE_CUSTOMER, _create), Route(api.UPDATE_CUSTOMER, _update)]


def payment_routes() -> list[Route]:
    return [Route(api.CUSTOMER_PAYMENT, _payment)]
