"""Finance functions: post-ledger-entry (events and the owner's entries), finance-report
(every figure summed in SQL from the ledger, shaped by `reports`, exported by `exports`) and
payables (the suppliers' bills: `payables`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import Response

from functions.finance import corrections, exports, reports, service, store
from functions.finance import payables as supplier_bills
from functions.finance import receivables as card_receivables
from functions.finance.receivables_rules import ReceivableSettings
from shared import shop_time
from shared.config import FunctionSettings
from shared.contracts import endpoints as api
from shared.contracts.finance import CashClosingIn, CashOperationIn, ExpenseIn
from shared.contracts.queries import DayQuery, EntriesQuery, ReportQuery, UntilQuery
from shared.events.customers import CustomerPaymentReceived
from shared.events.inventory import MovementRegistered
from shared.events.payments import PaymentApproved, PaymentRefunded
from shared.events.sales import SaleCompleted, SaleReturned
from shared.events.till import TillMovementRecorded, TillSessionClosed
from shared.http import HttpFunction, RequestContext, Route, is_delivery
from shared.logs import configure_logging
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber

settings = FunctionSettings()
configure_logging(settings.function_name)
runtime = Runtime(settings)


# -- post-ledger-entry: events ----------------------------------------------------------


# -- post-ledger-entry: the owner's entries ---------------------------------------------


async def _expense(ctx: RequestContext) -> dict[str, str]:
    body = await ctx.body(ExpenseIn)
    entry_id = await ctx.command(lambda uow: service.expense(uow, body))
    return {"id": entry_id}


async def _cash_operation(ctx: RequestContext) -> dict[str, str | None]:
    body = await ctx.body(CashOperationIn)
    entry_id = await ctx.command(lambda uow: service.cash_operation(uow, body, datetime.now(UTC)))
    return {"id": entry_id}


async def _close_cash(ctx: RequestContext) -> dict[str, Any]:
    body = await ctx.body(CashClosingIn)
    async with await ctx.unit_of_work() as uow:
        await store.set_counted(uow.conn, body.day, body.counted.model_dump(), ctx.user.user_id)
        await uow.commit()
    return await _closing(ctx, body.day)


# -- finance-report ---------------------------------------------------------------------


async def _result(ctx: RequestContext) -> dict[str, Any]:
    query = ctx.query(ReportQuery)
    first, last = query.days(shop_time.today())
    async with await ctx.unit_of_work() as uow:
        found = await store.report(uow.conn, first, last, query.group_by)
    return reports.result(first, last, query.group_by, found)


def _download(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _report_csv(ctx: RequestContext) -> Response:
    data = await _result(ctx)
    rows = exports.result_rows(data)
    return _download(exports.to_csv(rows), f"resultado-{data['from']}-{data['to']}.csv")


async def _entries_rows(ctx: RequestContext) -> tuple[date, date, list[dict[str, Any]]]:
    query = ctx.query(EntriesQuery)
    first, last = query.days(shop_time.today())
    async with await ctx.unit_of_work() as uow:
        rows = await store.entries(uow.conn, *reports.bounds(first, last), query.limit)
    return first, last, rows


async def _entries(ctx: RequestContext) -> dict[str, Any]:
    _, _, rows = await _entries_rows(ctx)
    return {"items": rows}


async def _entries_csv(ctx: RequestContext) -> Response:
    first, last, rows = await _entries_rows(ctx)
    return _download(exports.to_csv(exports.entry_rows(rows)), f"lancamentos-{first}-{last}.csv")


async def _trial_balance(ctx: RequestContext) -> dict[str, Any]:
    to = ctx.query(UntilQuery).to
    until = shop_time.start_of(to + timedelta(days=1)) if to else None
    async with await ctx.unit_of_work() as uow:
        rows = await store.trial_balance(uow.conn, until)
    return reports.trial_balance(rows)


async def _closing(ctx: RequestContext, day: date) -> dict[str, Any]:
    async with await ctx.unit_of_work() as uow:
        data = await store.cash_day(uow.conn, day)
    return reports.cash_closing(day, data)


async def _cash_closing(ctx: RequestContext) -> dict[str, Any]:
    return await _closing(ctx, ctx.query(DayQuery).day or shop_time.today())


_ledger_events = Subscriber(
    runtime,
    [
        On.applying(SaleCompleted, service.sale_completed),
        On(PaymentApproved, service.payment_approved),
        On(PaymentRefunded, service.payment_refunded),
        On(MovementRegistered, service.movement),
        On(SaleReturned, service.sale_returned),
        On(CustomerPaymentReceived, service.customer_payment),
        On(TillMovementRecorded, service.till_movement),
        On.applying(TillSessionClosed, service.till_session_closed),
    ],
)
_ledger_http = HttpFunction(
    runtime,
    [
        Route(api.POST_EXPENSE, _expense),
        Route(api.CASH_OPERATION, _cash_operation),
        Route(api.CLOSE_CASH, _close_cash),
        *corrections.ledger_routes(),
    ],
)
_report_fn = HttpFunction(
    runtime,
    [
        Route(api.REPORT, _result),
        Route(api.REPORT_CSV, _report_csv),
        Route(api.ENTRIES, _entries),
        Route(api.ENTRIES_CSV, _entries_csv),
        Route(api.TRIAL_BALANCE, _trial_balance),
        Route(api.CASH_CLOSING, _cash_closing),
        *corrections.report_routes(),
    ],
)
# payables shares movement.registered with post-ledger-entry: its own inbox key.
_payables_events = supplier_bills.subscriber(runtime)
_payables_http = HttpFunction(runtime, supplier_bills.http_routes())


@functions_framework.aio.http
async def post_ledger_entry(request: Request) -> Response:
    if is_delivery(request):
        return await _ledger_events(request)
    return await _ledger_http(request)


@functions_framework.aio.http
async def finance_report(request: Request) -> Response:
    return await _report_fn(request)


# -- receivables (issue 18): card settlements; code in receivables*.py -------------------
_receivable_settings = ReceivableSettings()
_receivables_events = card_receivables.subscriber(runtime, _receivable_settings)
_receivables_http = card_receivables.http(runtime)


@functions_framework.aio.http
async def receivables(request: Request) -> Response:
    return await card_receivables.answer(request, runtime, _receivables_events, _receivables_http)


@functions_framework.aio.http
async def payables(request: Request) -> Response:
    if is_delivery(request):
        return await _payables_events(request)
    return await _payables_http(request)
