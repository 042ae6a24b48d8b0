"""The owner's corrections and other income on the real PostgreSQL (issue 18): the expense
list with each reversal, a reversal posted once (twice, even at once, is 409; an id that is
no expense's is 404), other income as its own line of the result; the report's figures move
by exactly what each operation says and the trial balance stays balanced."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from functions.finance import exports, service
from shared.contracts.finance import ExpenseCategory, ExpenseIn
from tests.functions.finance_backoffice import (
    ADMIN,
    PROBLEM,
    SELLER,
    STOCK,
    Finance,
    serve_finance,
)
from tests.support.database import ProvisionedDatabase


@pytest.fixture(scope="module")
async def finance(database: ProvisionedDatabase) -> AsyncIterator[Finance]:
    async for served in serve_finance(database):
        yield served


async def _expense(
    finance: Finance,
    day: date,
    amount: int,
    category: ExpenseCategory = "energia",
    paid_with: str = "cash",
    description: str = "Conta de luz",
) -> str:
    """POST /api/finance/expenses's own code: the id it answers."""
    body = ExpenseIn.model_validate(
        {
            "category": category,
            "amount_cents": amount,
            "description": description,
            "occurred_on": day.isoformat(),
            "paid_with": paid_with,
        }
    )
    async with await finance.runtimes["post_ledger_entry"].unit_of_work(actor=ADMIN.user_id) as uow:
        entry_id = await service.expense(uow, body)
        await uow.commit()
    return entry_id


async def _list(finance: Finance, who: Any = ADMIN, **params: Any) -> list[dict[str, Any]]:
    answer = await finance.call(
        "finance-report", "GET", "/api/finance/expenses", who, params=params
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def _reverse(finance: Finance, expense_id: str, reason: str = "digitado errado") -> Any:
    return await finance.call(
        "post-ledger-entry",
        "POST",
        f"/api/finance/expenses/{expense_id}/reverse",
        json={"reason": reason},
    )


async def _income(finance: Finance, day: date, amount: int, received_with: str = "cash") -> Any:
    return await finance.call(
        "post-ledger-entry",
        "POST",
        "/api/finance/incomes",
        json={
            "description": "Sebo vendido à graxaria",
            "amount_cents": amount,
            "received_with": received_with,
            "occurred_on": day.isoformat(),
        },
    )


async def test_the_expense_list_with_filters_and_the_ids_its_post_answered(
    finance: Finance,
) -> None:
    first, second = date(1601, 2, 10), date(1601, 2, 20)
    light = await _expense(finance, first, 35_000, "energia", "bank")
    rent = await _expense(finance, second, 150_000, "aluguel", "cash", "Aluguel de fevereiro")
    items = await _list(finance, **{"from": "1601-02-01", "to": "1601-02-28"})
    assert items == [
        {
            "id": rent,
            "occurred_on": "1601-02-20",
            "category": "aluguel",
            "description": "Aluguel de fevereiro",
            "amount_cents": 150_000,
            "paid_with": "cash",
            "reversal": None,
        },
        {
            "id": light,
            "occurred_on": "1601-02-10",
            "category": "energia",
            "description": "Conta de luz",
            "amount_cents": 35_000,
            "paid_with": "bank",
            "reversal": None,
        },
    ]
    energy = await _list(
        finance, **{"from": "1601-02-01", "to": "1601-02-28", "category": "energia"}
    )
    assert [i["id"] for i in energy] == [light]
    only_first = await _list(finance, **{"from": "1601-02-01", "to": "1601-02-15"})
    assert [i["id"] for i in only_first] == [light]
    assert len(await _list(finance, **{"from": "1601-02-01", "to": "1601-02-28", "limit": 1})) == 1
    for bad in ({"from": "1601-02-28", "to": "1601-02-01"}, {"limit": 0}, {"from": "ontem"}):
        answer = await finance.call("finance-report", "GET", "/api/finance/expenses", params=bad)
        assert answer.status_code == 422, bad


async def test_a_reversal_takes_the_expense_back_by_exactly_its_amount(
    finance: Finance,
) -> None:
    day = date(1602, 3, 5)
    kept = await _expense(finance, day, 10_000, "agua")
    wrong = await _expense(finance, day, 99_900, "manutencao", "bank")
    before, result_before = await finance.balances(), await finance.result(day)
    assert result_before["expenses_cents"] == 109_900
    answer = await _reverse(finance, wrong, "valor digitado errado")
    assert answer.status_code == 201, answer.text
    reversal_id = answer.json()["id"]
    assert answer.json()["reverses"] == wrong
    result_after = await finance.result(day)
    assert result_before["expenses_cents"] - result_after["expenses_cents"] == 99_900
    assert result_after["net_result_cents"] - result_before["net_result_cents"] == 99_900
    assert result_after["revenue_cents"] == result_before["revenue_cents"]
    after = await finance.balances()
    assert after["banco"] - before["banco"] == 99_900
    assert after["despesa_manutencao"] - before["despesa_manutencao"] == -99_900
    assert {a for a in after if after[a] != before[a]} == {"banco", "despesa_manutencao"}
    items = {i["id"]: i for i in await _list(finance, **{"from": "1602-03-05", "to": "1602-03-05"})}
    assert set(items) == {kept, wrong}  # the reversal is not an expense of its own
    assert items[kept]["reversal"] is None
    reversal = items[wrong]["reversal"]
    assert reversal["id"] == reversal_id
    assert reversal["reason"] == "valor digitado errado"
    assert reversal["actor"] == ADMIN.user_id
    assert reversal["at"]
    assert items[wrong]["amount_cents"] == 99_900  # the expense as it was posted


async def test_reversing_twice_is_409_even_at_once(finance: Finance) -> None:
    day = date(1603, 4, 1)
    expense = await _expense(finance, day, 5_000)
    answers = await asyncio.gather(*(_reverse(finance, expense) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    conflict = next(a for a in answers if a.status_code == 409)
    assert conflict.headers["content-type"].startswith(PROBLEM)
    assert (await _reverse(finance, expense)).status_code == 409
    assert (await finance.result(day))["expenses_cents"] == 0


async def test_reversing_what_is_no_expense_is_404_and_bad_input_422(finance: Finance) -> None:
    day = date(1604, 5, 1)
    before = await finance.balances()
    assert (await _reverse(finance, str(uuid.uuid4()))).status_code == 404
    income = await _income(finance, day, 1_000)
    assert income.status_code == 201
    middle = await finance.balances()
    not_an_expense = await _reverse(finance, income.json()["id"])
    assert not_an_expense.status_code == 404
    assert not_an_expense.headers["content-type"].startswith(PROBLEM)
    expense = await _expense(finance, day, 2_000)
    reversal = (await _reverse(finance, expense)).json()["id"]
    assert (await _reverse(finance, reversal)).status_code == 404  # a reversal is no expense
    for bad in ({"reason": ""}, {}, {"reason": "x" * 201}, {"reason": "ok", "more": 1}):
        answer = await finance.call(
            "post-ledger-entry", "POST", f"/api/finance/expenses/{expense}/reverse", json=bad
        )
        assert answer.status_code == 422, bad
    bad_path = await finance.call(
        "post-ledger-entry", "POST", "/api/finance/expenses/nope/reverse", json={"reason": "x"}
    )
    assert bad_path.status_code == 404
    assert (await finance.balances())["caixa"] - before["caixa"] == middle["caixa"] - before[
        "caixa"
    ]


async def test_other_income_is_its_own_line_and_raises_the_result(finance: Finance) -> None:
    day = date(1605, 6, 10)
    await _expense(finance, day, 3_000, "outras")
    before, result_before = await finance.balances(), await finance.result(day)
    cash = await _income(finance, day, 12_345, "cash")
    bank = await _income(finance, day, 655, "bank")
    assert (cash.status_code, bank.status_code) == (201, 201), cash.text
    result_after = await finance.result(day)
    assert result_after["other_income_cents"] - result_before["other_income_cents"] == 13_000
    assert result_after["net_result_cents"] - result_before["net_result_cents"] == 13_000
    assert result_after["net_result_cents"] == 13_000 - 3_000
    for unchanged in ("revenue_cents", "cogs_cents", "gross_profit_cents", "expenses_cents"):
        assert result_after[unchanged] == result_before[unchanged], unchanged
    assert result_after["by_payment_method"] == result_before["by_payment_method"]
    [period] = result_after["series"]
    assert (period["other_income_cents"], period["net_result_cents"]) == (13_000, 10_000)
    after = await finance.balances()  # balanced: asserted inside
    assert after["caixa"] - before["caixa"] == 12_345
    assert after["banco"] - before["banco"] == 655
    assert after["outras_receitas"] - before["outras_receitas"] == 13_000
    rows = exports.result_rows(result_after)
    assert rows[0] == [
        "período",
        "receita",
        "cmv",
        "lucro bruto",
        "despesas",
        "perdas",
        "outras receitas",
        "resultado",
    ]
    assert rows[-1] == ["total", "0,00", "0,00", "0,00", "30,00", "0,00", "130,00", "100,00"]
    for bad in (
        {
            "description": "x",
            "amount_cents": 0,
            "received_with": "cash",
            "occurred_on": "1605-06-10",
        },
        {
            "description": "x",
            "amount_cents": 1,
            "received_with": "pix",
            "occurred_on": "1605-06-10",
        },
        {
            "description": "",
            "amount_cents": 1,
            "received_with": "cash",
            "occurred_on": "1605-06-10",
        },
        {"description": "x", "amount_cents": 1, "received_with": "cash"},
    ):
        answer = await finance.call("post-ledger-entry", "POST", "/api/finance/incomes", json=bad)
        assert answer.status_code == 422, bad
    assert (await finance.result(day))["other_income_cents"] == 13_000


async def test_only_the_admin_lists_reverses_and_records_income(finance: Finance) -> None:
    day = date(1606, 7, 1)
    expense = await _expense(finance, day, 1_000)
    income = {
        "description": "x",
        "amount_cents": 100,
        "received_with": "cash",
        "occurred_on": day.isoformat(),
    }
    for who, status in ((SELLER, 403), (STOCK, 403), (None, 401)):
        listed = await finance.call("finance-report", "GET", "/api/finance/expenses", who)
        reversed_ = await finance.call(
            "post-ledger-entry",
            "POST",
            f"/api/finance/expenses/{expense}/reverse",
            who,
            json={"reason": "x"},
        )
        got = await finance.call(
            "post-ledger-entry", "POST", "/api/finance/incomes", who, json=income
        )
        assert (listed.status_code, reversed_.status_code, got.status_code) == (status,) * 3, who
    result = await finance.result(day)
    assert (result["expenses_cents"], result["other_income_cents"]) == (1_000, 0)
