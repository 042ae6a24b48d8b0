"""The demo's month (tooling/demo_history.plan): what ACOUGUE_DEMO=1 promises — a month of a
shop's life on its own days, over every method and the counter's hours — and the same plan
on every run, so a second run imports nothing twice."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from shared.contracts.imports import ImportSalesIn, ImportStockIn
from tooling.demo import CATALOGUE, DESOSSA_OUTPUTS, DESOSSA_SOURCE_KG, DIANTEIRO
from tooling.demo_history import DAYS, METHODS, SUPPLIERS, line_total, plan, revenue_of

TODAY = date(2026, 12, 7)  # a Monday


def _plan() -> object:
    ids = {item.name: f"00000000-0000-0000-0000-{n:012d}" for n, item in enumerate(CATALOGUE)}
    suppliers = {
        name: f"10000000-0000-0000-0000-{n:012d}" for n, (name, *_) in enumerate(SUPPLIERS)
    }
    return plan(
        TODAY,
        ids,
        list(CATALOGUE),
        suppliers,
        (DIANTEIRO, DESOSSA_SOURCE_KG, list(DESOSSA_OUTPUTS)),
    )


def test_the_month_covers_its_days_every_method_and_the_counters_hours() -> None:
    month = _plan()
    sales = month.sales  # type: ignore[attr-defined]
    days = {datetime.fromisoformat(s["occurred_at"]).date() for s in sales}
    assert min(days) >= date(2026, 11, 9)
    assert max(days) < TODAY
    assert len(days) == DAYS - DAYS // 7  # every day but Sundays
    assert all(d.weekday() != 6 for d in days)
    assert {s["payment"]["method"] for s in sales} == set(METHODS)
    hours = {datetime.fromisoformat(s["occurred_at"]).hour for s in sales}
    assert len(hours) >= 10
    assert any(s["payment"].get("installments") for s in sales)
    assert len({s["legacy_id"] for s in sales}) == len(sales)
    assert [s["occurred_at"] for s in sales] == sorted(s["occurred_at"] for s in sales)
    # What the import endpoints accept, in their batches.
    ImportSalesIn.model_validate({"sales": sales[:250]})


def test_the_months_stock_has_bills_a_prazo_a_weekly_desossa_and_losses() -> None:
    month = _plan()
    movements, breakdowns = month.movements, month.breakdowns  # type: ignore[attr-defined]
    ImportStockIn.model_validate({"movements": movements, "breakdowns": breakdowns})
    payable = [m for m in movements if m.get("paid_with") == "payable"]
    assert payable
    assert all(m["due_on"] > m["occurred_at"][:10] and m["supplier_id"] for m in payable)
    assert any(m.get("paid_with") == "cash" for m in movements)
    assert len(breakdowns) == 4
    assert {m["kind"] for m in movements} == {"receipt", "loss"}


def test_the_same_plan_on_every_run() -> None:
    assert _plan() == _plan()


def test_the_months_revenue_is_each_line_rounded_half_up_as_the_counter_does() -> None:
    month = _plan()
    lines = [i for s in month.sales for i in s["items"]]  # type: ignore[attr-defined]
    exact = sum(
        (Decimal(i["quantity"]) * i["unit_price_cents"]).quantize(Decimal(1), ROUND_HALF_UP)
        for i in lines
    )
    assert revenue_of(month) == exact  # type: ignore[arg-type]
    assert line_total("1.255", 999) == 1254
    assert line_total("0.500", 1) == 1
