"""The owner's figures, shaped from the rows finance's SQL sums (free of I/O): the result
by period and by cut, the trial balance and the day's cash closing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from functions.finance.store import GroupBy
from shared import shop_time
from shared.vocabulary import TILL_METHODS, PaymentMethod, TillMethod

# The payment methods in the order the owner reads them (cash first, as the drawer is).
# Revenue by method is how each sale was settled at the counter: a fiado sale's revenue is
# "fiado" (last: no money came in with it), less its returns and cancellations; what a
# customer later pays on the account is not revenue and changes no method's figure here
# (the cash closing counts that money with the method it came by).
METHODS_SHOWN: tuple[PaymentMethod, ...] = ("cash", "pix", "debit", "credit", "fiado")
# The methods the drawer and the till count, cash first (fiado is no money in the drawer).
DRAWER_METHODS: tuple[TillMethod, ...] = TILL_METHODS
FIGURES = (
    "revenue_cents",
    "cogs_cents",
    "gross_profit_cents",
    "expenses_cents",
    "losses_cents",
    "other_income_cents",
    "net_result_cents",
)


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC instants that bound the local days [first, last]."""
    return shop_time.start_of(first), shop_time.start_of(last + timedelta(days=1))


def periods(first: date, last: date, group_by: GroupBy) -> list[date]:
    """Every period of the range, so a chart shows the empty days too."""
    if group_by == "day":
        current, step = first, timedelta(days=1)
    elif group_by == "week":
        current, step = first - timedelta(days=first.weekday()), timedelta(days=7)
    else:
        current, step = first.replace(day=1), None
    found = []
    while current <= last:
        found.append(current)
        if step is None:  # the first of the next month
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            current += step
    return found


def figures(row: dict[str, Any]) -> dict[str, int]:
    """The result's lines. Other income (outras receitas: not a sale, so not in the revenue
    the margins and the methods read) is its own line, added to the result."""
    revenue, cogs = int(row["revenue_cents"]), int(row["cogs_cents"])
    expenses, losses = int(row["expenses_cents"]), int(row["losses_cents"])
    other_income = int(row.get("other_income_cents", 0))
    return {
        "revenue_cents": revenue,
        "cogs_cents": cogs,
        "gross_profit_cents": revenue - cogs,
        "expenses_cents": expenses,
        "losses_cents": losses,
        "other_income_cents": other_income,
        "net_result_cents": revenue - cogs - expenses - losses + other_income,
    }


def margin_percent(revenue_cents: int, cogs_cents: int) -> str | None:
    """The gross margin as a percentage with one decimal; None when nothing was sold."""
    if not revenue_cents:
        return None
    return str(round((revenue_cents - cogs_cents) * 100 / revenue_cents, 1))


def result(
    first: date, last: date, group_by: GroupBy, found: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """The result of [first, last]: totals, one row per period, revenue per payment method
    and the margin of each cut."""
    per_period = {r["period"]: figures(r) for r in found["series"]}
    by_method = {r["payment_method"]: int(r["revenue_cents"]) for r in found["methods"]}
    empty = figures(
        {
            "revenue_cents": 0,
            "cogs_cents": 0,
            "expenses_cents": 0,
            "losses_cents": 0,
            "other_income_cents": 0,
        }
    )
    series: list[dict[str, Any]] = [
        {"period": p.isoformat(), **per_period.get(p, empty)}
        for p in periods(first, last, group_by)
    ]
    totals = {k: sum(int(s[k]) for s in series) for k in empty}
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "group_by": group_by,
        **totals,
        "by_payment_method": {m: {"revenue_cents": by_method.get(m, 0)} for m in METHODS_SHOWN},
        "series": series,
        "margin_by_product": [_margin(m) for m in found["products"]],
    }


def _margin(row: dict[str, Any]) -> dict[str, Any]:
    revenue, cogs = int(row["revenue_cents"]), int(row["cogs_cents"])
    return {
        "product_id": str(row["product_id"]),
        "name": row["name"],
        "revenue_cents": revenue,
        "cogs_cents": cogs,
        "gross_profit_cents": revenue - cogs,
        "margin_percent": margin_percent(revenue, cogs),
    }


def trial_balance(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each account's debits, credits and balance on its normal side, and the totals."""
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


def _session(row: dict[str, Any]) -> dict[str, Any]:
    expected = {m: int(row[f"expected_{m}_cents"]) for m in DRAWER_METHODS}
    counted = {m: int(row[f"counted_{m}_cents"]) for m in DRAWER_METHODS}
    return {
        "session_id": str(row["session_id"]),
        "operator_id": str(row["operator_id"]),
        "opened_at": row["opened_at"],
        "closed_at": row["closed_at"],
        "opening_cents": int(row["opening_cents"]),
        "expected": expected,
        "counted": counted,
        "difference": {m: counted[m] - expected[m] for m in DRAWER_METHODS},
    }


def sessions_summary(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The day's closed till sessions, each with its difference per method (counted minus
    expected, as the till computed them), and their sums."""
    sessions = [_session(r) for r in rows]
    totals = {
        "count": len(sessions),
        "opening_cents": sum(s["opening_cents"] for s in sessions),
        **{
            part: {m: sum(s[part][m] for s in sessions) for m in DRAWER_METHODS}
            for part in ("expected", "counted", "difference")
        },
    }
    return sessions, totals


def cash_closing(day: date, data: dict[str, Any]) -> dict[str, Any]:
    """What the drawer and each method should hold at the end of `day`, what was counted,
    and the difference per method (counted minus expected); the fiado sold that day (no
    money: on the customers' accounts) and the payments customers made on their accounts
    (money, by method, counted in `expected`); and the till sessions opened that day with
    their sums (`sessions`, `sessions_total`: what each operator's till expected and
    counted)."""
    f, closing = data["figures"], data["closing"]
    by_method = data["by_method"]
    opening = int(closing.get("opening_float_cents") or 0)
    expected = {m: int(by_method.get(m, 0)) for m in DRAWER_METHODS}
    expected["cash"] = opening + int(f["cash_net_cents"])
    counted = closing.get("counted")
    sessions, sessions_total = sessions_summary(data.get("sessions", []))
    customer_payments = data.get("customer_payments", {})
    return {
        "day": day.isoformat(),
        "opening_float_cents": opening,
        "cash_sales_cents": int(f["cash_sales_cents"]),
        "change_given_cents": int(f["change_given_cents"]),
        "cash_refunds_cents": int(f["cash_refunds_cents"]),
        "sangria_cents": int(f["sangria_cents"]),
        "suprimento_cents": int(f["suprimento_cents"]),
        "cash_paid_out_cents": int(f["cash_paid_out_cents"]),
        "fiado_sales_cents": int(by_method.get("fiado", 0)),
        "customer_payments": {m: int(customer_payments.get(m, 0)) for m in DRAWER_METHODS},
        "expected": expected,
        "counted": counted,
        "difference": {m: int(counted.get(m, 0)) - expected[m] for m in DRAWER_METHODS}
        if counted
        else None,
        "closed_at": closing.get("closed_at"),
        "sessions": sessions,
        "sessions_total": sessions_total,
    }
