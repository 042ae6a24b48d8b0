"""Sales functions: the counter (complete-sale, cancel-sale, sales-query, return-sale), each
operator's till (till, apply-to-till) and the subscribers that keep sales in step with
payments and the catalogue."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from functions.sales import dashboard_api as dashboards
from functions.sales import import_service, receipts, returns, service, status, store
from functions.sales import till as tills
from functions.sales.approvals import ApprovalVerifier
from functions.sales.settings import SalesSettings
from shared import shop_time
from shared.auth.principal import Role
from shared.auth.tokens import RemoteJwks
from shared.contracts import endpoints as api
from shared.contracts.queries import ReceiptQuery, SalesQuery
from shared.contracts.sales import PaymentIn, SaleIn, SaleOut
from shared.errors import Problem
from shared.events.catalog import ProductCreated, ProductUpdated
from shared.http import HttpFunction, RequestContext, Route
from shared.logs import configure_logging
from shared.pix import qr_svg
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber

settings = SalesSettings()
configure_logging(settings.function_name)
runtime = Runtime(settings)
MASK = settings.mask
SHOP = settings.shop
DISCOUNTS = service.DiscountPolicy(
    limit_percent={Role.VENDEDOR: settings.vendedor_discount_limit_percent},
    verifier=ApprovalVerifier(RemoteJwks(settings.auth_jwks_url), issuer=settings.auth_issuer),
)


# -- complete-sale ----------------------------------------------------------------------


async def _complete(ctx: RequestContext) -> Response:
    key = ctx.idempotency_key()
    body = await ctx.body(SaleIn)
    sale, replayed = await ctx.command(
        lambda uow: service.complete_sale(
            uow, ctx.user, key, body, MASK, DISCOUNTS, till_session_of=tills.open_session_of
        )
    )
    headers = {"Location": f"/api/sales/{sale.id}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(sale.model_dump(mode="json"), status_code=201, headers=headers)


async def _retry(ctx: RequestContext) -> SaleOut:
    body = await ctx.body(PaymentIn)
    return await ctx.command(
        lambda uow: service.retry_payment(uow, ctx.user, ctx.params["sale_id"], body)
    )


# -- cancel-sale ------------------------------------------------------------------------


async def _cancel(ctx: RequestContext) -> Response:
    async with await ctx.unit_of_work() as uow:
        await service.cancel_sale(
            uow,
            ctx.user,
            ctx.params["sale_id"],
            till_session_of=tills.open_session_of,
            till_refund=tills.record_refund,
        )
        await uow.commit()
    return Response(status_code=202)


# -- sales-query ------------------------------------------------------------------------


async def _get(ctx: RequestContext) -> SaleOut:
    """The sale with its returns (the list leaves them out: one query fewer per sale)."""
    async with await ctx.unit_of_work() as uow:
        return await service.sale_for(
            uow.conn, ctx.user, ctx.params["sale_id"], returns_of=returns.returns_of
        )


async def _pix_qr(ctx: RequestContext) -> Response:
    async with await ctx.unit_of_work() as uow:
        sale = await service.sale_for(uow.conn, ctx.user, ctx.params["sale_id"])
    if sale.payment.pix is None:
        raise Problem(404, "This sale has no PIX charge.")
    return Response(qr_svg(sale.payment.pix.payload), media_type="image/svg+xml")


async def _list(ctx: RequestContext) -> dict[str, object]:
    query = ctx.query(SalesQuery)
    first, last = query.from_, query.to
    own = UUID(ctx.user.user_id) if ctx.user.role is Role.VENDEDOR else None
    async with await ctx.unit_of_work() as uow:
        sales = await store.list_sales(
            uow.conn,
            seller_id=own,
            since=shop_time.start_of(first) if first else None,
            until=shop_time.start_of(last + timedelta(days=1)) if last else None,
            status=query.status,
            limit=query.limit,
        )
    return {"items": [s.model_dump(mode="json") for s in sales]}


async def _receipt(ctx: RequestContext) -> Response:
    """A paid sale's receipt: 48 columns of text, or ?format=html for an 80 mm print."""
    query = ctx.query(ReceiptQuery)
    async with await ctx.unit_of_work() as uow:
        sale = await service.receipt_sale(
            uow.conn, ctx.user, ctx.params["sale_id"], returns.returns_of
        )
    # It names the customer of a fiado sale: kept by no cache on the way.
    headers = {"Cache-Control": "no-store"}
    name = f"cupom-{receipts.short_id(sale)}"
    if query.format == "html":
        headers["Content-Disposition"] = f'inline; filename="{name}.html"'
        return HTMLResponse(receipts.html(sale, SHOP), headers=headers)
    headers["Content-Disposition"] = f'inline; filename="{name}.txt"'
    return PlainTextResponse(receipts.text(sale, SHOP), headers=headers)


# -- subscribers ------------------------------------------------------------------------


_complete_fn = HttpFunction(
    runtime,
    [
        Route(api.COMPLETE_SALE, _complete),
        Route(api.RETRY_PAYMENT, _retry),
    ],
)
_cancel_fn = HttpFunction(runtime, [Route(api.CANCEL_SALE, _cancel)])
_query_fn = HttpFunction(
    runtime,
    [
        Route(api.LIST_SALES, _list),
        Route(api.GET_SALE, _get),
        Route(api.PIX_QR_CODE, _pix_qr),
        Route(api.RECEIPT, _receipt),
    ],
)
_status_events = Subscriber(runtime, status.events())
_product_events = Subscriber(
    runtime,
    [On.applying(m, service.apply_product) for m in (ProductCreated, ProductUpdated)],
)
_till_fn = HttpFunction(runtime, tills.routes())
_till_events = Subscriber(runtime, tills.events())
_return_fn = HttpFunction(runtime, returns.routes())
_import_fn = HttpFunction(runtime, import_service.routes(import_service.CardFees()))


@functions_framework.aio.http
async def complete_sale(request: Request) -> Response:
    return await _complete_fn(request)


@functions_framework.aio.http
async def cancel_sale(request: Request) -> Response:
    return await _cancel_fn(request)


@functions_framework.aio.http
async def sales_query(request: Request) -> Response:
    return await _query_fn(request)


@functions_framework.aio.http
async def update_sale_status(request: Request) -> Response:
    return await _status_events(request)


@functions_framework.aio.http
async def apply_product_to_sales(request: Request) -> Response:
    return await _product_events(request)


@functions_framework.aio.http
async def till(request: Request) -> Response:
    return await _till_fn(request)


@functions_framework.aio.http
async def apply_to_till(request: Request) -> Response:
    return await _till_events(request)


@functions_framework.aio.http
async def return_sale(request: Request) -> Response:
    return await _return_fn(request)


# Only the dashboard reads (and checks, at start) where inventory-query and payables are.
_dashboard_fn = dashboards.build(runtime, at_start=settings.function_target == "dashboard")


@functions_framework.aio.http
async def dashboard(request: Request) -> Response:
    return await _dashboard_fn(request)


@functions_framework.aio.http
async def import_sales(request: Request) -> Response:
    return await _import_fn(request)
