"""Finance functions: post-ledger-entry (events and the owner's entries) and
finance-report (every figure computed in SQL from the ledger)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import Response

from functions.finance import domain, service, store
from functions.finance.store import GroupBy
from shared.auth.principal import Role
from shared.config import FunctionSettings
from shared.contracts.finance import CashClosingIn, CashOperationIn, ExpenseIn
from shared.db.uow import UnitOfWork
from shared.errors import Problem
from shared.events.envelope import Envelope
from shared.events.inventory import MovementRegistered
from shared.events.payments import PaymentApproved, PaymentRefunded
from shared.events.sales import SaleCompleted
from shared.http import HttpFunction, RequestContext, Route, is_delivery, roles
from shared.logs import configure_logging
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber

settings = FunctionSettings()
configure_logging(settings.function_name)
runtime = Runtime(settings)
ADMIN = roles(Role.ADMIN)
METHODS = ("cash", "pix", "debit", "credit")
MAX_DAYS = 3 * 366


# -- post-ledger-entry: events ----------------------------------------------------------


async def _sale_completed(uow: UnitOfWork, event: Envelope, payload: SaleCompleted) -> None:
    await service.sale_completed(uow, payload)


async def _approved(uow: UnitOfWork, event: Envelope, payload: PaymentApproved) -> None:
    await service.payment_approved(uow, event, payload)


async def _refunded(uow: UnitOfWork, event: Envelope, payload: PaymentRefunded) -> None:
    await service.payment_refunded(uow, event, payload)


async def _movement(uow: UnitOfWork, event: Envelope, payload: MovementRegistered) -> None:
    await service.movement(uow, event, payload)


# -- post-ledger-entry: the owner's entries ---------------------------------------------


async def _expense(ctx: RequestContext) -> dict[str, str]:
    body = await ctx.body(ExpenseIn)
    async with await ctx.unit_of_work() as uow:
        entry_id = await service.expense(uow, body)
        await uow.commit()
    return {"id": entry_id}


async def _cash_operation(ctx: RequestContext) -> dict[str, str | None]:
    body = await ctx.body(CashOperationIn)
    async with await ctx.unit_of_work() as uow:
        entry_id = await service.cash_operation(uow, body, datetime.now(UTC))
        await uow.commit()
    return {"id": entry_id}


async def _close_cash(ctx: RequestContext) -> dict[str, Any]:
    body = await ctx.body(CashClosingIn)
    async with await ctx.unit_of_work() as uow:
        await store.set_counted(uow.conn, body.day, body.counted.model_dump(), ctx.user.user_id)
        await uow.commit()
    return await _closing(ctx, body.day)


# -- finance-report ---------------------------------------------------------------------


def _date(ctx: RequestContext, name: str, default: date) -> date:
    return ctx.query_date(name) or default


def _today() -> date:
    return datetime.now(domain.SHOP_TIME).date()


def _period(ctx: RequestContext) -> tuple[date, date, datetime, datetime]:
    """[from, to] as local days, and the UTC instants that bound them."""
    today = _today()
    first = _date(ctx, "from", today.replace(day=1))
    last = _date(ctx, "to", today)
    if last < first:
        raise Problem(422, "to must not be before from.")
    if (last - first).days > MAX_DAYS:
        raise Problem(422, f"A report covers at most {MAX_DAYS} days.")
    since = datetime.combine(first, time(0), domain.SHOP_TIME)
    until = datetime.combine(last + timedelta(days=1), time(0), domain.SHOP_TIME)
    return first, last, since, until


def _periods(first: date, last: date, group_by: GroupBy) -> list[date]:
    """Every period of the range, so a chart shows the empty days too."""
    if group_by == "day":
        start, step = first, None
    elif group_by == "week":
        start, step = first - timedelta(days=first.weekday()), None
    else:
        start, step = first.replace(day=1), "month"
    found, current = [], start
    while current <= last:
        found.append(current)
        if step == "month":
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            current += timedelta(days=1 if group_by == "day" else 7)
    return found


def _figures(row: dict[str, Any]) -> dict[str, int]:
    revenue, cogs = int(row["revenue_cents"]), int(row["cogs_cents"])
    expenses, losses = int(row["expenses_cents"]), int(row["losses_cents"])
    return {
        "revenue_cents": revenue,
        "cogs_cents": cogs,
        "gross_profit_cents": revenue - cogs,
        "expenses_cents": expenses,
        "losses_cents": losses,
        "net_result_cents": revenue - cogs - expenses - losses,
    }


async def _report_data(ctx: RequestContext) -> dict[str, Any]:
    first, last, since, until = _period(ctx)
    group_by = ctx.request.query_params.get("group_by", "day")
    if group_by not in ("day", "week", "month"):
        raise Problem(422, "group_by must be day, week or month.")
    async with await ctx.unit_of_work() as uow:
        found = await store.report(uow.conn, since, until, group_by)  # type: ignore[arg-type]
    per_period = {r["period"]: _figures(r) for r in found["series"]}
    by_method = {r["payment_method"]: int(r["revenue_cents"]) for r in found["methods"]}
    margins = found["products"]
    empty = _figures({"revenue_cents": 0, "cogs_cents": 0, "expenses_cents": 0, "losses_cents": 0})
    series: list[dict[str, Any]] = [
        {"period": p.isoformat(), **per_period.get(p, empty)}
        for p in _periods(first, last, group_by)  # type: ignore[arg-type]
    ]
    totals = {k: sum(int(s[k]) for s in series) for k in empty}
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "group_by": group_by,
        **totals,
        "by_payment_method": {m: {"revenue_cents": by_method.get(m, 0)} for m in METHODS},
        "series": series,
        "margin_by_product": [
            {
                "product_id": str(m["product_id"]),
                "name": m["name"],
                "revenue_cents": int(m["revenue_cents"]),
                "cogs_cents": int(m["cogs_cents"]),
                "gross_profit_cents": int(m["revenue_cents"]) - int(m["cogs_cents"]),
                "margin_percent": (
                    str(
                        round(
                            (int(m["revenue_cents"]) - int(m["cogs_cents"]))
                            * 100
                            / int(m["revenue_cents"]),
                            1,
                        )
                    )
                    if int(m["revenue_cents"])
                    else None
                ),
            }
            for m in margins
        ],
    }


async def _report(ctx: RequestContext) -> dict[str, Any]:
    return await _report_data(ctx)


# A cell a spreadsheet would run as a formula (OWASP "CSV injection"): =, +, -, @, tab, CR.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A number as _reais writes it (-1234,56): a spreadsheet reads it as a number, never a formula.
_NUMBER = re.compile(r"-?\d+(,\d+)?")


def _safe_cell(cell: str) -> str:
    """The cell as text that no spreadsheet evaluates: a leading ' before a formula start.

    Applied to every cell, so a description typed by a user ("=HYPERLINK(...)", "-2+3")
    is shown as written; numbers (negative amounts included) stay numbers.
    """
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def _csv(rows: list[list[str]], filename: str) -> Response:
    """Semicolon-separated, decimal comma, UTF-8 with BOM: what a Brazilian spreadsheet opens."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows([_safe_cell(cell) for cell in row] for row in rows)
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _reais(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole},{part:02d}"


async def _report_csv(ctx: RequestContext) -> Response:
    data = await _report_data(ctx)
    header = ["período", "receita", "cmv", "lucro bruto", "despesas", "perdas", "resultado"]
    keys = [
        "revenue_cents",
        "cogs_cents",
        "gross_profit_cents",
        "expenses_cents",
        "losses_cents",
        "net_result_cents",
    ]
    rows = [header] + [[s["period"], *(_reais(s[k]) for k in keys)] for s in data["series"]]
    rows.append(["total", *(_reais(data[k]) for k in keys)])
    return _csv(rows, f"resultado-{data['from']}-{data['to']}.csv")


def _limit(ctx: RequestContext) -> int:
    return ctx.query_int("limit", 1000, low=1, high=100_000)


async def _entries_rows(ctx: RequestContext) -> tuple[date, date, list[dict[str, Any]]]:
    first, last, since, until = _period(ctx)
    async with await ctx.unit_of_work() as uow:
        rows = await store.entries(uow.conn, since, until, _limit(ctx))
    return first, last, rows


async def _entries(ctx: RequestContext) -> dict[str, Any]:
    _, _, rows = await _entries_rows(ctx)
    return {"items": rows}


async def _entries_csv(ctx: RequestContext) -> Response:
    first, last, rows = await _entries_rows(ctx)
    out = [["data", "lançamento", "origem", "descrição", "conta", "débito", "crédito"]]
    for entry in rows:
        local = entry["occurred_at"].astimezone(domain.SHOP_TIME)
        for line in entry["lines"]:
            out.append(
                [
                    local.strftime("%d/%m/%Y %H:%M"),
                    str(entry["id"]),
                    entry["cause"],
                    entry["description"],
                    line["account"],
                    _reais(int(line["debit_cents"])),
                    _reais(int(line["credit_cents"])),
                ]
            )
    return _csv(out, f"lancamentos-{first}-{last}.csv")


async def _trial_balance(ctx: RequestContext) -> dict[str, Any]:
    raw = ctx.request.query_params.get("to")
    until = None
    if raw:
        day = _date(ctx, "to", _today())
        until = datetime.combine(day + timedelta(days=1), time(0), domain.SHOP_TIME)
    async with await ctx.unit_of_work() as uow:
        rows = await store.trial_balance(uow.conn, until)
    accounts = []
    for r in rows:
        debit, credit = int(r["debit_cents"]), int(r["credit_cents"])
        natural = debit - credit if r["normal_side"] == "debit" else credit - debit
        accounts.append(
            {
                "account": r["account"],
                "name": r["name"],
                "debit_cents": debit,
                "credit_cents": credit,
                "balance_cents": natural,
            }
        )
    return {
        "accounts": accounts,
        "total_debit_cents": sum(a["debit_cents"] for a in accounts),
        "total_credit_cents": sum(a["credit_cents"] for a in accounts),
    }


async def _closing(ctx: RequestContext, day: date) -> dict[str, Any]:
    async with await ctx.unit_of_work() as uow:
        data = await store.cash_day(uow.conn, day)
    f, closing = data["figures"], data["closing"]
    opening = int(closing.get("opening_float_cents") or 0)
    expected = {m: int(data["by_method"].get(m, 0)) for m in METHODS}
    expected["cash"] = opening + int(f["cash_net_cents"])
    counted = closing.get("counted")
    return {
        "day": day.isoformat(),
        "opening_float_cents": opening,
        "cash_sales_cents": int(f["cash_sales_cents"]),
        "change_given_cents": int(f["change_given_cents"]),
        "cash_refunds_cents": int(f["cash_refunds_cents"]),
        "sangria_cents": int(f["sangria_cents"]),
        "suprimento_cents": int(f["suprimento_cents"]),
        "cash_paid_out_cents": int(f["cash_paid_out_cents"]),
        "expected": expected,
        "counted": counted,
        "difference": {m: int(counted.get(m, 0)) - expected[m] for m in METHODS}
        if counted
        else None,
        "closed_at": closing.get("closed_at"),
    }


async def _cash_closing(ctx: RequestContext) -> dict[str, Any]:
    return await _closing(ctx, _date(ctx, "day", _today()))


_ledger_events = Subscriber(
    runtime,
    [
        On(SaleCompleted, _sale_completed),
        On(PaymentApproved, _approved),
        On(PaymentRefunded, _refunded),
        On(MovementRegistered, _movement),
    ],
)
_ledger_http = HttpFunction(
    runtime,
    [
        Route("POST", "/api/finance/expenses", _expense, ADMIN, status=201),
        Route("POST", "/api/finance/cash-operations", _cash_operation, ADMIN, status=201),
        Route("POST", "/api/finance/cash-closing", _close_cash, ADMIN),
    ],
)
_report_fn = HttpFunction(
    runtime,
    [
        Route("GET", "/api/finance/report", _report, ADMIN),
        Route("GET", "/api/finance/report.csv", _report_csv, ADMIN),
        Route("GET", "/api/finance/entries", _entries, ADMIN),
        Route("GET", "/api/finance/entries.csv", _entries_csv, ADMIN),
        Route("GET", "/api/finance/trial-balance", _trial_balance, ADMIN),
        Route("GET", "/api/finance/cash-closing", _cash_closing, ADMIN),
    ],
)


@functions_framework.aio.http
async def post_ledger_entry(request: Request) -> Response:
    if is_delivery(request):
        return await _ledger_events(request)
    return await _ledger_http(request)


@functions_framework.aio.http
async def finance_report(request: Request) -> Response:
    return await _report_fn(request)
