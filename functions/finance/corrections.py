"""The owner's corrections and other income (issue 18): the expense list with each
expense's reversal (finance-report), reversing an expense and recording other income
(post-ledger-entry). Every figure still comes from the ledger: a reversal is an entry."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from functions.finance import backoffice, reports, service, store
from shared import shop_time
from shared.contracts import endpoints as api
from shared.contracts.finance import ExpenseReversalIn, IncomeIn
from shared.contracts.queries import ExpensesQuery
from shared.db.pool import Conn
from shared.db.uow import UnitOfWork
from shared.domain_errors import Conflict, NotFound
from shared.http import RequestContext, Route

NO_SUCH_EXPENSE = "Despesa não encontrada."


async def expenses(
    conn: Conn, since: datetime, until: datetime, category: str | None, limit: int
) -> list[dict[str, Any]]:
    """The expenses of [since, until), newest first, each with its reversal if any (found by
    the ledger's (cause, cause_id) key: a reversal's cause_id is the expense's entry id)."""
    cursor = await conn.execute(
        "SELECT e.id, (e.occurred_at AT TIME ZONE %(zone)s)::date AS occurred_on,"
        " e.meta->>'category' AS category, e.description, e.meta->>'paid_with' AS paid_with,"
        " (SELECT sum(l.debit_cents) FROM entry_lines l WHERE l.entry_id = e.id)"
        "   AS amount_cents,"
        " r.id AS reversal_id, r.meta->>'reason' AS reversal_reason,"
        " r.posted_at AS reversal_at, r.actor AS reversal_actor"
        " FROM entries e"
        " LEFT JOIN entries r ON r.cause = %(reversal)s AND r.cause_id = e.id::text"
        " WHERE e.cause = 'expense' AND e.occurred_at >= %(since)s AND e.occurred_at < %(until)s"
        " AND (%(category)s::text IS NULL OR e.meta->>'category' = %(category)s::text)"
        " ORDER BY e.occurred_at DESC, e.seq DESC LIMIT %(limit)s",
        {
            "zone": shop_time.ZONE_NAME,
            "reversal": backoffice.EXPENSE_REVERSAL,
            "since": since,
            "until": until,
            "category": category,
            "limit": limit,
        },
    )
    return list(await cursor.fetchall())


def expense_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "occurred_on": row["occurred_on"],
        "category": row["category"],
        "description": row["description"],
        "amount_cents": int(row["amount_cents"]),
        "paid_with": row["paid_with"],
        "reversal": backoffice.reversal_view(row),
    }


async def reverse_expense(uow: UnitOfWork, expense_id: UUID, body: ExpenseReversalIn) -> str:
    """The expense's reversing entry, once: 404 for an id that is no expense's entry, 409
    when it was reversed already (the ledger's key decides, concurrent requests included)."""
    found = await store.posted_entry(uow.conn, str(expense_id))
    if found is None or found[1].cause != "expense":
        raise NotFound(NO_SUCH_EXPENSE)
    entry_id, expense = found
    posting = backoffice.expense_reversal(entry_id, expense, body.reason)
    reversal_id = await service.post(uow, posting)
    if reversal_id is None:
        raise Conflict("Esta despesa já foi estornada.")
    return reversal_id


async def record_income(uow: UnitOfWork, body: IncomeIn) -> str:
    posting = backoffice.income(
        str(uuid.uuid4()), body.description, body.amount_cents, body.received_with, body.occurred_on
    )
    entry_id = await service.post(uow, posting)
    if entry_id is None:  # pragma: no cover - a fresh id is a fresh cause
        raise RuntimeError("an income was posted twice")
    return entry_id


# -- HTTP -------------------------------------------------------------------------------


async def _list(ctx: RequestContext) -> dict[str, Any]:
    query = ctx.query(ExpensesQuery)
    first, last = query.days(shop_time.today())
    async with await ctx.unit_of_work() as uow:
        rows = await expenses(uow.conn, *reports.bounds(first, last), query.category, query.limit)
    return {"items": [expense_view(r) for r in rows]}


async def _reverse(ctx: RequestContext) -> dict[str, str]:
    body = await ctx.body(ExpenseReversalIn)
    expense_id = ctx.params["expense_id"]
    reversal_id = await ctx.command(lambda uow: reverse_expense(uow, expense_id, body))
    return {"id": reversal_id, "reverses": str(expense_id)}


async def _income(ctx: RequestContext) -> dict[str, str]:
    body = await ctx.body(IncomeIn)
    return {"id": await ctx.command(lambda uow: record_income(uow, body))}


def ledger_routes() -> list[Route]:
    """post-ledger-entry's routes of this module."""
    return [Route(api.REVERSE_EXPENSE, _reverse), Route(api.RECORD_INCOME, _income)]


def report_routes() -> list[Route]:
    """finance-report's routes of this module."""
    return [Route(api.LIST_EXPENSES, _list)]
