"""The month's result through the gateway: every figure follows from the events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.support.api import client, receive, sell_when_known
from tests.support.system import RunningSystem, wait_for

TODAY = datetime.now(ZoneInfo("America/Sao_Paulo")).date().isoformat()


def _report(api: httpx.Client) -> dict[str, Any]:
    answer = api.get("/api/finance/report", params={"from": TODAY, "to": TODAY})
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


def _balanced(api: httpx.Client) -> dict[str, Any]:
    trial: dict[str, Any] = api.get("/api/finance/trial-balance").json()
    assert trial["total_debit_cents"] == trial["total_credit_cents"]
    return trial


def test_a_paid_sale_moves_revenue_and_cmv_by_the_exact_amounts(system: RunningSystem) -> None:
    with client(system, timeout=20) as api:
        before = _report(api)
        product = api.post(
            "/api/products",
            json={"name": f"Fraldinha {uuid.uuid4().hex[:4]}", "unit": "kg", "price_cents": 5990},
        ).json()["id"]
        wait_for(lambda: api.get(f"/api/inventory/stock/{product}").status_code == 200)
        # Two receipts at different costs: the average is (10 × 30,00 + 10 × 36,00) / 20 = 33,00.
        for cost in (3000, 3600):
            moved = receive(api, product, "10", cost, paid_with="bank")
            assert moved.status_code == 201, moved.text
        body = {
            "items": [{"product_id": product, "quantity": "2.500"}],
            "payment": {"method": "debit"},
        }
        sale = sell_when_known(api, body)
        assert sale["total_cents"] == 14975  # 2.5 kg × 59,90
        wait_for(lambda: api.get(f"/api/sales/{sale['id']}").json()["status"] == "paid")

        def moved_by_sale() -> dict[str, Any] | None:
            report = _report(api)
            return report if report["cogs_cents"] - before["cogs_cents"] == 8250 else None

        after = wait_for(moved_by_sale, timeout=30)  # CMV = 2.5 kg × 33,00 average cost
        assert after["revenue_cents"] - before["revenue_cents"] == 14975
        fee = round(14975 * 99 / 10000)  # the debit card's fee, 0.99 %
        assert after["expenses_cents"] - before["expenses_cents"] == fee
        assert after["gross_profit_cents"] == after["revenue_cents"] - after["cogs_cents"]
        assert after["by_payment_method"]["debit"]["revenue_cents"] >= 14975
        margin = next(m for m in after["margin_by_product"] if m["product_id"] == product)
        assert (margin["revenue_cents"], margin["cogs_cents"]) == (14975, 8250)
        assert margin["name"].startswith("Fraldinha")
        trial = _balanced(api)
        accounts = {a["account"]: a for a in trial["accounts"]}
        assert accounts["estoque"]["balance_cents"] >= 66000 - 8250

        # Cancelling the paid sale reverses its revenue and its CMV.
        assert api.post(f"/api/sales/{sale['id']}/cancel").status_code == 202
        wait_for(
            lambda: (
                (r := _report(api))["revenue_cents"] == before["revenue_cents"]
                and r["cogs_cents"] == before["cogs_cents"]
            ),
            timeout=30,
        )
        _balanced(api)


def test_expenses_daily_series_cash_closing_and_csv(system: RunningSystem) -> None:
    with client(system, timeout=20) as api:
        before = _report(api)
        expense = api.post(
            "/api/finance/expenses",
            json={
                "category": "energia",
                "amount_cents": 48790,
                "description": "Conta de luz de novembro",
                "occurred_on": TODAY,
                "paid_with": "bank",
            },
        )
        assert expense.status_code == 201, expense.text
        refused = api.post(
            "/api/finance/expenses",
            json={
                "category": "festa",
                "amount_cents": 10,
                "description": "x",
                "occurred_on": TODAY,
                "paid_with": "cash",
            },
        )
        assert refused.status_code == 422
        after = _report(api)
        assert after["expenses_cents"] - before["expenses_cents"] == 48790
        assert after["net_result_cents"] == (
            after["revenue_cents"]
            - after["cogs_cents"]
            - after["expenses_cents"]
            - after["losses_cents"]
        )
        assert [s["period"] for s in after["series"]] == [TODAY]
        month = api.get("/api/finance/report", params={"group_by": "month"}).json()
        assert len(month["series"]) == 1

        assert (
            api.post(
                "/api/finance/cash-operations", json={"kind": "opening", "amount_cents": 20000}
            ).status_code
            == 201
        )
        assert (
            api.post(
                "/api/finance/cash-operations", json={"kind": "sangria", "amount_cents": 5000}
            ).status_code
            == 422
        )
        sangria = api.post(
            "/api/finance/cash-operations",
            json={"kind": "sangria", "amount_cents": 5000, "reason": "depósito no banco"},
        )
        assert sangria.status_code == 201, sangria.text
        closing = api.get("/api/finance/cash-closing", params={"day": TODAY}).json()
        assert closing["opening_float_cents"] == 20000
        assert closing["sangria_cents"] == 5000
        assert closing["expected"]["cash"] == (
            closing["opening_float_cents"]
            + closing["cash_sales_cents"]
            - closing["cash_refunds_cents"]
            + closing["suprimento_cents"]
            - closing["sangria_cents"]
            - closing["cash_paid_out_cents"]
        )
        counted = closing["expected"]["cash"] - 150  # 1,50 missing from the drawer
        closed = api.post(
            "/api/finance/cash-closing",
            json={"day": TODAY, "counted": {"cash": counted, "pix": 0, "debit": 0, "credit": 0}},
        ).json()
        assert closed["difference"]["cash"] == -150

        csv = api.get("/api/finance/entries.csv", params={"from": TODAY, "to": TODAY})
        assert csv.status_code == 200
        assert csv.headers["content-type"].startswith("text/csv")
        text = csv.content.decode("utf-8-sig")
        assert text.splitlines()[0] == "data;lançamento;origem;descrição;conta;débito;crédito"
        assert "despesa_energia;487,90;0,00" in text
        entries = api.get("/api/finance/entries", params={"from": TODAY, "to": TODAY}).json()[
            "items"
        ]
        assert all(
            sum(line["debit_cents"] for line in e["lines"])
            == sum(line["credit_cents"] for line in e["lines"])
            for e in entries
        )
        _balanced(api)
