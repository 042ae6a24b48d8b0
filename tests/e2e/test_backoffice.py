"""Issue 18 through the gateway, on both brokers: suppliers and their bills, card money
expected and settled, an expense reversed, other income, a category renamed, the import path
for past sales and stock, and the dashboard. The trial balance stays balanced through every
new kind of entry, and the report's figures move by exactly what each operation says."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.support.api import client, create_product, receive, sell_when_known
from tests.support.system import RunningSystem, wait_for

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
TODAY = datetime.now(SAO_PAULO).date()


def _product(admin: httpx.Client, name: str, price_cents: int) -> str:
    return create_product(
        admin, name=f"{name} {uuid.uuid4().hex[:4]}", unit="kg", price_cents=price_cents
    )


def _trial(api: httpx.Client) -> dict[str, int]:
    trial = api.get("/api/finance/trial-balance")
    assert trial.status_code == 200, trial.text
    body = trial.json()
    assert body["total_debit_cents"] == body["total_credit_cents"]
    return {a["account"]: a["balance_cents"] for a in body["accounts"]}


def _moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Each account's change, the unchanged left out."""
    names = set(before) | set(after)
    moved = {n: after.get(n, 0) - before.get(n, 0) for n in names}
    return {n: d for n, d in moved.items() if d}


def _report(api: httpx.Client, first: date, last: date | None = None) -> dict[str, Any]:
    answer = api.get(
        "/api/finance/report", params={"from": first.isoformat(), "to": (last or first).isoformat()}
    )
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


def _items(api: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    answer = api.get(path, params=params)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def _problem(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_supplier_bill_opened_by_a_receipt_a_prazo_and_paid_in_two_parts(
    system: RunningSystem,
) -> None:
    with client(system, timeout=20) as admin:
        _problem(
            admin.post("/api/suppliers", json={"name": "X", "cnpj": "11.222.333/0001-80"}), 422
        )
        name = f"Frigorífico {uuid.uuid4().hex[:6]}"
        created = admin.post("/api/suppliers", json={"name": name, "phone": "(11) 3333-4444"})
        assert created.status_code == 201, created.text
        supplier = created.json()
        assert _items(admin, "/api/suppliers", q=name[:14])[0]["id"] == supplier["id"]

        product = _product(admin, "Acém", 3990)
        before = _trial(admin)
        yesterday = TODAY - timedelta(days=1)
        received = receive(
            admin,
            product,
            "10.000",
            3000,
            supplier_id=supplier["id"],
            paid_with="payable",
            due_on=yesterday.isoformat(),
        )
        assert received.status_code == 201, received.text

        def bill() -> dict[str, Any] | None:
            found = _items(admin, "/api/finance/payables", supplier_id=supplier["id"])
            return found[0] if found else None

        opened: dict[str, Any] = wait_for(bill, timeout=30)
        assert opened["supplier_name"] == name
        assert opened["amount_cents"] == 30000
        assert opened["open_cents"] == 30000
        assert opened["due_on"] == yesterday.isoformat()
        assert opened["overdue"] is True
        # The ledger follows the same event on its own (post-ledger-entry).
        posted = {"estoque": 30000, "fornecedores_a_pagar": 30000}
        wait_for(lambda: _moved(before, _trial(admin)) == posted, timeout=30)

        # A rename reaches the bill's supplier name (finance follows supplier.saved).
        renamed = admin.patch(f"/api/suppliers/{supplier['id']}", json={"name": name + " Ltda"})
        assert renamed.status_code == 200, renamed.text
        wait_for(lambda: (bill() or {}).get("supplier_name") == name + " Ltda", timeout=30)

        result_before = _report(admin, TODAY)
        trial_before = _trial(admin)
        pay = f"/api/finance/payables/{opened['id']}/payments"
        part = admin.post(
            pay, json={"amount_cents": 10000, "paid_with": "bank", "paid_on": TODAY.isoformat()}
        )
        assert part.status_code == 201, part.text
        assert part.json()["open_cents"] == 20000
        assert _moved(trial_before, _trial(admin)) == {
            "banco": -10000,
            "fornecedores_a_pagar": -10000,
        }
        too_much = admin.post(
            pay, json={"amount_cents": 20001, "paid_with": "cash", "paid_on": TODAY.isoformat()}
        )
        _problem(too_much, 422)
        rest = admin.post(
            pay, json={"amount_cents": 20000, "paid_with": "cash", "paid_on": TODAY.isoformat()}
        )
        assert rest.status_code == 201, rest.text
        assert rest.json()["status"] == "paid"
        # Paying a bill is no expense: the result does not move.
        result_after = _report(admin, TODAY)
        assert result_after["net_result_cents"] == result_before["net_result_cents"]
        paid = _items(admin, "/api/finance/payables", status="paid", supplier_id=supplier["id"])
        assert [b["id"] for b in paid] == [opened["id"]]
        assert not _items(admin, "/api/finance/payables", status="open", supplier_id=supplier["id"])


def test_an_expense_reversed_once_and_other_income_move_the_result_by_exactly_their_amounts(
    system: RunningSystem,
) -> None:
    with client(system, timeout=20) as admin:
        day = TODAY.isoformat()
        before = _report(admin, TODAY)
        posted = admin.post(
            "/api/finance/expenses",
            json={
                "category": "manutencao",
                "amount_cents": 12345,
                "description": "Conserto da serra (lançado em dobro)",
                "occurred_on": day,
                "paid_with": "cash",
            },
        )
        assert posted.status_code == 201, posted.text
        expense_id = posted.json()["id"]
        listed = _items(admin, "/api/finance/expenses", **{"from": day, "to": day})
        assert {"id": expense_id, "amount_cents": 12345, "reversal": None}.items() <= next(
            e for e in listed if e["id"] == expense_id
        ).items()
        assert _report(admin, TODAY)["expenses_cents"] == before["expenses_cents"] + 12345

        trial_before = _trial(admin)
        reverse = f"/api/finance/expenses/{expense_id}/reverse"
        done = admin.post(reverse, json={"reason": "lançada em dobro"})
        assert done.status_code == 201, done.text
        _problem(admin.post(reverse, json={"reason": "de novo"}), 409)
        assert _moved(trial_before, _trial(admin)) == {
            "caixa": 12345,
            "despesa_manutencao": -12345,
        }
        again = next(
            e
            for e in _items(admin, "/api/finance/expenses", **{"from": day, "to": day})
            if e["id"] == expense_id
        )
        assert again["reversal"]["reason"] == "lançada em dobro"
        assert _report(admin, TODAY)["expenses_cents"] == before["expenses_cents"]

        income = admin.post(
            "/api/finance/incomes",
            json={
                "description": "Venda de sebo ao graxeiro",
                "amount_cents": 4500,
                "received_with": "bank",
                "occurred_on": day,
            },
        )
        assert income.status_code == 201, income.text
        after = _report(admin, TODAY)
        assert after["net_result_cents"] == before["net_result_cents"] + 4500
        assert after["other_income_cents"] == before["other_income_cents"] + 4500
        assert after["revenue_cents"] == before["revenue_cents"]  # not a sale
        _trial(admin)


def test_past_sales_imported_land_on_their_days_and_their_card_money_is_settled(
    system: RunningSystem,
) -> None:
    with client(system, timeout=20) as admin:
        product = _product(admin, "Picanha", 8990)
        receive(admin, product, "20.000", 4500)
        trial_before = _trial(admin)
        # The counter's catalogue follows the product events: a live sale tells when it knows.
        sell_when_known(
            admin,
            {
                "items": [{"product_id": product, "quantity": "0.500"}],
                "payment": {"method": "cash", "cash_received_cents": 5000},
            },
        )
        five_days_ago = TODAY - timedelta(days=5)
        a_week_ago = TODAY - timedelta(days=7)
        tag = uuid.uuid4().hex[:8]
        when = datetime.combine(five_days_ago, datetime.min.time(), SAO_PAULO).replace(hour=10)
        report_before = _report(admin, five_days_ago)
        imported = admin.post(
            "/api/import/sales",
            json={
                "sales": [
                    {
                        "legacy_id": f"old-{tag}-1",
                        "occurred_at": when.isoformat(),
                        "items": [
                            {"product_id": product, "quantity": "1.000", "unit_price_cents": 8000}
                        ],
                        "payment": {"method": "debit"},
                    }
                ]
            },
        )
        assert imported.status_code == 200, imported.text
        assert imported.json()["imported"] == 1
        # Imported again: nothing more.
        again = admin.post("/api/import/sales", json={"sales": [imported_sale(product, tag, when)]})
        assert again.status_code == 200, again.text
        assert again.json()["imported"] == 0

        def revenue_landed() -> dict[str, Any] | None:
            report = _report(admin, five_days_ago)
            return (
                report if report["revenue_cents"] == report_before["revenue_cents"] + 8000 else None
            )

        wait_for(revenue_landed, timeout=30)

        # A CSV of the old program's sales, a week ago at 15:30 (São Paulo).
        csv = (
            "legacy_id,occurred_at,product,quantity,unit_price_cents,method,installments,"
            "discount_cents\n"
            f'csv-{tag},{a_week_ago:%d/%m/%Y} 15:30,{product},"2,000",7000,credit,3,0\n'
        )
        from_csv = admin.post(
            "/api/import/sales.csv", content=csv.encode(), headers={"Content-Type": "text/csv"}
        )
        assert from_csv.status_code == 200, from_csv.text
        assert from_csv.json()["imported"] == 1

        # The debit sale's money was expected the day after; the credit one in 3 parts.
        def expected() -> list[dict[str, Any]] | None:
            found = _items(
                admin,
                "/api/finance/receivables",
                **{"from": (a_week_ago + timedelta(days=1)).isoformat()},
            )
            debit_day = (five_days_ago + timedelta(days=1)).isoformat()
            debit = [r for r in found if r["expected_on"] == debit_day and r["gross_cents"] == 8000]
            credit = [r for r in found if r["installments"] == 3 and r["method"] == "credit"]
            credit = [r for r in credit if r["expected_on"] > a_week_ago.isoformat()]
            parts = sum(r["gross_cents"] for r in credit)
            return found if debit and len(credit) >= 3 and parts >= 14000 else None

        wait_for(expected, timeout=30)
        settled = admin.post("/api/finance/receivables/settle", json={"until": TODAY.isoformat()})
        assert settled.status_code == 200, settled.text
        net = settled.json()["net_cents"]
        assert net > 0
        _problem(
            admin.post(
                "/api/finance/receivables/settle",
                json={"until": (TODAY + timedelta(days=1)).isoformat()},
            ),
            422,
        )
        # The live sale's and both imported sales' revenue went in (finance follows their
        # events on its own); what was settled left recebíveis for banco.
        revenue = 4495 + 8000 + 14000
        wait_for(lambda: _moved(trial_before, _trial(admin))["receita_vendas"] == revenue)
        moved = _moved(trial_before, _trial(admin))
        assert moved["banco"] == net

        # The dashboard of five days ago counts the imported sale at its hour.
        board = admin.get("/api/dashboard", params={"date": five_days_ago.isoformat()})
        assert board.status_code == 200, board.text
        figures = board.json()
        assert figures["sales_count"] >= 1
        assert figures["revenue_cents"] >= 8000
        assert figures["by_hour"][10]["revenue_cents"] >= 8000
        assert figures["by_method"]["debit"] >= 8000
        # Today's dashboard compares with the same weekday last week (the CSV sale).
        today_board = admin.get("/api/dashboard").json()
        assert today_board["date"] == TODAY.isoformat()
        assert today_board["same_weekday_last_week"]["revenue_cents"] >= 14000
        assert today_board["sales_count"] >= 1


def imported_sale(product: str, tag: str, when: datetime) -> dict[str, Any]:
    return {
        "legacy_id": f"old-{tag}-1",
        "occurred_at": when.isoformat(),
        "items": [{"product_id": product, "quantity": "1.000", "unit_price_cents": 8000}],
        "payment": {"method": "debit"},
    }


def test_past_stock_imported_and_a_category_renamed_then_closed_to_new_products(
    system: RunningSystem,
) -> None:
    with client(system, timeout=20) as admin:
        product = _product(admin, "Costela", 2990)
        three_days_ago = TODAY - timedelta(days=3)
        when = datetime.combine(three_days_ago, datetime.min.time(), SAO_PAULO).replace(hour=7)
        before = _report(admin, three_days_ago)
        imported = admin.post(
            "/api/import/stock",
            json={
                "movements": [
                    {
                        "product_id": product,
                        "kind": "receipt",
                        "quantity": "30.000",
                        "unit_cost_cents": 1500,
                        "paid_with": "cash",
                        "occurred_at": when.isoformat(),
                    },
                    {
                        "product_id": product,
                        "kind": "loss",
                        "quantity": "1.000",
                        "reason": "aparas",
                        "occurred_at": (when + timedelta(hours=3)).isoformat(),
                    },
                ]
            },
        )
        assert imported.status_code == 200, imported.text

        def loss_landed() -> dict[str, Any] | None:
            report = _report(admin, three_days_ago)
            return report if report["losses_cents"] == before["losses_cents"] + 1500 else None

        wait_for(loss_landed, timeout=30)
        stock = admin.get(f"/api/inventory/stock/{product}")
        assert stock.status_code == 200, stock.text
        assert stock.json()["quantity"] == "29.000"

        created = admin.post("/api/categories", json={"name": f"Suínos {uuid.uuid4().hex[:4]}"})
        assert created.status_code == 201, created.text
        category = created.json()["id"]
        renamed = admin.patch(
            f"/api/categories/{category}", json={"name": f"Suínos e cia {uuid.uuid4().hex[:4]}"}
        )
        assert renamed.status_code == 200, renamed.text
        closed = admin.patch(f"/api/categories/{category}", json={"active": False})
        assert closed.status_code == 200, closed.text
        listed = {c["id"]: c for c in _items(admin, "/api/categories")}
        assert listed[category]["active"] is False
        refused = admin.post(
            "/api/products",
            json={"name": "Pernil", "unit": "kg", "price_cents": 2590, "category_id": category},
        )
        _problem(refused, 422)
