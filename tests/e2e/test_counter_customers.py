"""Issue 17 through the gateway, on both brokers: customers and fiado, the receipt, a till per
operator, a vendedor's cancel, returns; the trial balance stays balanced through all of it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.support.api import client, create_product, create_user, sell, sell_when_known, sign_in
from tests.support.system import RunningSystem, wait_for

TODAY = datetime.now(ZoneInfo("America/Sao_Paulo")).date().isoformat()
RECEIPT_COLUMNS = 48


def _seller(system: RunningSystem, admin: httpx.Client) -> tuple[str, httpx.Client]:
    """A new vendedor: its id and a client with its token."""
    name = f"v{uuid.uuid4().hex[:8]}"
    user_id = create_user(admin, name, "senha-do-vendedor", "vendedor")
    login = sign_in(system, name, "senha-do-vendedor")
    assert login.status_code == 200, login.text
    return user_id, client(system, login.json()["access_token"], timeout=20)


def _product(admin: httpx.Client, name: str, price_cents: int) -> str:
    return create_product(
        admin, name=f"{name} {uuid.uuid4().hex[:4]}", unit="kg", price_cents=price_cents
    )


def _sale_in(api: httpx.Client, sale_id: str, *statuses: str) -> dict[str, Any]:
    def settled() -> dict[str, Any] | None:
        sale: dict[str, Any] = api.get(f"/api/sales/{sale_id}").json()
        return sale if sale["status"] in statuses else None

    found: dict[str, Any] = wait_for(settled, timeout=30)
    return found


def _trial(api: httpx.Client) -> dict[str, int]:
    trial = api.get("/api/finance/trial-balance")
    assert trial.status_code == 200, trial.text
    body = trial.json()
    assert body["total_debit_cents"] == body["total_credit_cents"]
    return {a["account"]: a["balance_cents"] for a in body["accounts"]}


def _customer(api: httpx.Client, **body: Any) -> dict[str, Any]:
    created = api.post("/api/customers", json=body)
    assert created.status_code == 201, created.text
    customer: dict[str, Any] = created.json()
    return customer


def _statement(api: httpx.Client, customer_id: str) -> dict[str, Any]:
    answer = api.get(f"/api/customers/{customer_id}/statement")
    assert answer.status_code == 200, answer.text
    statement: dict[str, Any] = answer.json()
    return statement


def test_fiado_up_to_the_limit_then_paid_another_way_and_the_account_paid(
    system: RunningSystem,
) -> None:
    with client(system, timeout=20) as admin:
        _, seller = _seller(system, admin)
        with seller:
            # Who sets what, and the CPF's check digits.
            refused = seller.post(
                "/api/customers", json={"name": "Sem Limite", "credit_limit_cents": 100}
            )
            assert refused.status_code == 403, refused.text
            bad_cpf = admin.post("/api/customers", json={"name": "X", "cpf": "111.444.777-36"})
            assert bad_cpf.status_code == 422
            assert bad_cpf.headers["content-type"].startswith("application/problem+json")
            marker = uuid.uuid4().hex[:6]
            joao = _customer(
                admin,
                name=f"João Conceição {marker}",
                phone="(11) 98888-7777",
                credit_limit_cents=10000,
            )
            assert (joao["balance_cents"], joao["available_cents"]) == (0, 10000)
            found = seller.get("/api/customers", params={"q": f"joao conceicao {marker}"})
            assert [c["id"] for c in found.json()["items"]] == [joao["id"]]
            assert (
                seller.patch(
                    f"/api/customers/{joao['id']}", json={"credit_limit_cents": 999999}
                ).status_code
                == 403
            )

            picanha = _product(admin, "Picanha", 6000)
            fiado = {"method": "fiado", "customer_id": joao["id"]}
            first = sell_when_known(
                seller, {"items": [{"product_id": picanha, "quantity": "1"}], "payment": fiado}
            )
            paid = _sale_in(seller, first["id"], "paid", "payment_failed")
            assert paid["status"] == "paid", paid
            assert paid["customer_name"] == joao["name"]

            # R$ 60,00 owed of R$ 100,00: another R$ 50,00 would pass the limit.
            over = sell(
                seller,
                {"items": [{"product_id": picanha, "quantity": "0.834"}], "payment": fiado},
            )
            assert over.status_code == 201, over.text
            failed = _sale_in(seller, over.json()["id"], "paid", "payment_failed")
            assert failed["status"] == "payment_failed"
            assert failed["payment"]["reason"] == "limite de fiado excedido"
            retried = seller.post(
                f"/api/sales/{failed['id']}/payments",
                json={"method": "cash", "cash_received_cents": 10000},
            )
            assert retried.status_code == 200, retried.text
            assert _sale_in(seller, failed["id"], "paid", "payment_failed")["status"] == "paid"

            statement = _statement(seller, joao["id"])
            assert (statement["balance_cents"], statement["available_cents"]) == (6000, 4000)
            assert [(e["kind"], e["amount_cents"]) for e in statement["entries"]] == [
                ("sale", 6000)
            ]

            too_much = seller.post(
                f"/api/customers/{joao['id']}/payments",
                json={"amount_cents": 6001, "method": "cash"},
            )
            assert too_much.status_code == 422
            paid_in = seller.post(
                f"/api/customers/{joao['id']}/payments",
                json={"amount_cents": 2500, "method": "pix"},
            )
            assert paid_in.status_code == 201, paid_in.text
            statement = _statement(seller, joao["id"])
            assert statement["balance_cents"] == 3500
            assert statement["entries"][-1]["kind"] == "payment"
            assert statement["entries"][-1]["balance_after_cents"] == 3500

        # Half of the fiado picanha comes back: R$ 30,00 back to the account.
        returned = admin.post(
            f"/api/sales/{first['id']}/returns",
            json={"items": [{"product_id": picanha, "quantity": "0.500"}], "reason": "dura"},
        )
        assert returned.status_code == 201, returned.text
        assert returned.json()["refund_cents"] == 3000
        wait_for(lambda: _statement(admin, joao["id"])["balance_cents"] == 500, timeout=30)

        # The ledger: what customers owe is the fiado sales less their payments and returns
        # (the only fiado of this module's system).
        wait_for(lambda: _trial(admin).get("clientes_a_receber") == 500, timeout=30)


def test_the_receipt_of_a_paid_sale(system: RunningSystem) -> None:
    with client(system, timeout=20) as admin:
        alcatra = _product(admin, "Alcatra com nome comprido de verdade para quebrar", 4990)
        sale = sell_when_known(
            admin,
            {
                "items": [{"product_id": alcatra, "quantity": "1.250"}],
                "payment": {"method": "cash", "cash_received_cents": 10000},
            },
        )
        _sale_in(admin, sale["id"], "paid")
        receipt = admin.get(f"/api/sales/{sale['id']}/receipt")
        assert receipt.status_code == 200, receipt.text
        assert receipt.headers["content-type"] == "text/plain; charset=utf-8"
        text = receipt.text
        assert "NÃO É DOCUMENTO FISCAL" in text
        assert "62,38" in text  # 1,250 kg × R$ 49,90
        assert "1,250 kg" in text
        assert sale["id"].replace("-", "")[:8] in text.replace("-", "").lower()
        assert all(len(line) <= RECEIPT_COLUMNS for line in text.splitlines())
        html = admin.get(f"/api/sales/{sale['id']}/receipt", params={"format": "html"})
        assert html.status_code == 200
        assert html.headers["content-type"].startswith("text/html")
        assert "80mm" in html.text.replace(" ", "")

        # A receipt only once paid: a total ending in ,13 is declined by the acquirer.
        unpaid = sell(
            admin,
            {
                "items": [{"product_id": alcatra, "quantity": "1"}],
                "discount_cents": 4990 - 4913,
                "payment": {"method": "debit"},
            },
        ).json()
        _sale_in(admin, unpaid["id"], "payment_failed")
        assert admin.get(f"/api/sales/{unpaid['id']}/receipt").status_code == 409
        _, seller = _seller(system, admin)
        with seller:
            assert seller.get(f"/api/sales/{sale['id']}/receipt").status_code == 404


def test_a_till_per_operator_from_opening_to_closing(system: RunningSystem) -> None:
    with client(system, timeout=20) as admin:
        seller_id, seller = _seller(system, admin)
        with seller:
            opened = seller.post("/api/till/sessions", json={"opening_cents": 10000})
            assert opened.status_code == 201, opened.text
            session = opened.json()
            assert session["operator_id"] == seller_id
            again = seller.post("/api/till/sessions", json={"opening_cents": 0})
            assert again.status_code == 409

            fraldinha = _product(admin, "Fraldinha", 5000)
            sale = sell_when_known(
                seller,
                {
                    "items": [{"product_id": fraldinha, "quantity": "1"}],
                    "payment": {"method": "cash", "cash_received_cents": 6000},
                },
            )
            assert sale["till_session_id"] == session["id"]
            _sale_in(seller, sale["id"], "paid")
            pix = sell(
                seller,
                {
                    "items": [{"product_id": fraldinha, "quantity": "0.500"}],
                    "payment": {"method": "pix"},
                },
            ).json()
            _sale_in(seller, pix["id"], "paid")

            too_big = seller.post(
                f"/api/till/sessions/{session['id']}/movements",
                json={"kind": "sangria", "amount_cents": 999999, "reason": "banco"},
            )
            assert too_big.status_code == 422
            for kind, amount in (("sangria", 8000), ("suprimento", 1000)):
                moved = seller.post(
                    f"/api/till/sessions/{session['id']}/movements",
                    json={"kind": kind, "amount_cents": amount, "reason": "troco e depósito"},
                )
                assert moved.status_code == 201, moved.text

            mine = seller.get("/api/till/sessions", params={"date": TODAY}).json()["items"]
            assert [s["id"] for s in mine] == [session["id"]]
            # 100,00 opening + 50,00 cash sale − 80,00 sangria + 10,00 suprimento.
            assert mine[0]["expected"]["cash_cents"] == 8000
            assert mine[0]["expected"]["pix_cents"] == 2500

            closed = seller.post(
                f"/api/till/sessions/{session['id']}/close",
                json={"counted": {"cash_cents": 7950, "pix_cents": 2500}},
            )
            assert closed.status_code == 200, closed.text
            body = closed.json()
            assert body["status"] == "closed"
            assert body["difference"]["cash_cents"] == -50
            assert body["difference"]["pix_cents"] == 0
            assert (
                seller.post(
                    f"/api/till/sessions/{session['id']}/close",
                    json={"counted": {"cash_cents": 0}},
                ).status_code
                == 409
            )

        every = admin.get("/api/till/sessions", params={"date": TODAY, "status": "closed"})
        assert session["id"] in [s["id"] for s in every.json()["items"]]

        def closing_has_the_session() -> dict[str, Any] | None:
            day = admin.get("/api/finance/cash-closing", params={"day": TODAY}).json()
            ids = [s["session_id"] for s in day.get("sessions", [])]
            return day if session["id"] in ids else None

        wait_for(closing_has_the_session, timeout=30)
        _trial(admin)


def test_a_vendedor_cancels_their_own_unpaid_sale_only(system: RunningSystem) -> None:
    with client(system, timeout=20) as admin:
        _, seller = _seller(system, admin)
        _, other = _seller(system, admin)
        with seller, other:
            acem = _product(admin, "Acém", 2913)  # 1 kg: R$ 29,13, declined by the acquirer
            body = {
                "items": [{"product_id": acem, "quantity": "1"}],
                "payment": {"method": "debit"},
            }
            sale = sell_when_known(seller, body)
            _sale_in(seller, sale["id"], "payment_failed")
            assert other.post(f"/api/sales/{sale['id']}/cancel").status_code == 404
            assert seller.post(f"/api/sales/{sale['id']}/cancel").status_code == 202
            assert _sale_in(seller, sale["id"], "cancelled")["status"] == "cancelled"


def test_returning_part_of_a_paid_sale(system: RunningSystem) -> None:
    with client(system, timeout=20) as admin:
        costela = _product(admin, "Costela", 4000)
        moved = admin.post(
            "/api/inventory/movements",
            json={
                "product_id": costela,
                "kind": "receipt",
                "quantity": "10",
                "unit_cost_cents": 2000,
                "paid_with": "bank",
            },
        )
        assert moved.status_code == 201, moved.text
        sale = sell_when_known(
            admin,
            {"items": [{"product_id": costela, "quantity": "2"}], "payment": {"method": "pix"}},
        )
        _sale_in(admin, sale["id"], "paid")

        def stock() -> str:
            level: str = admin.get(f"/api/inventory/stock/{costela}").json()["quantity"]
            return level

        wait_for(lambda: stock() == "8.000", timeout=30)
        before = admin.get("/api/finance/report", params={"from": TODAY, "to": TODAY}).json()

        over = admin.post(
            f"/api/sales/{sale['id']}/returns",
            json={"items": [{"product_id": costela, "quantity": "2.001"}], "reason": "x"},
        )
        assert over.status_code == 422
        returned = admin.post(
            f"/api/sales/{sale['id']}/returns",
            json={"items": [{"product_id": costela, "quantity": "0.500"}], "reason": "passada"},
        )
        assert returned.status_code == 201, returned.text
        assert returned.json()["refund_cents"] == 2000
        wait_for(lambda: stock() == "8.500", timeout=30)

        def reversed_in_report() -> dict[str, Any] | None:
            report: dict[str, Any] = admin.get(
                "/api/finance/report", params={"from": TODAY, "to": TODAY}
            ).json()
            moved_revenue = before["revenue_cents"] - report["revenue_cents"]
            moved_cogs = before["cogs_cents"] - report["cogs_cents"]
            return report if (moved_revenue, moved_cogs) == (2000, 1000) else None

        wait_for(reversed_in_report, timeout=30)
        shown = admin.get(f"/api/sales/{sale['id']}").json()
        assert shown["returned_cents"] == 2000
        assert [r["refund_cents"] for r in shown["returns"]] == [2000]
        rest = admin.post(
            f"/api/sales/{sale['id']}/returns",
            json={"items": [{"product_id": costela, "quantity": "1.600"}], "reason": "x"},
        )
        assert rest.status_code == 422  # 1,500 kg is all that is left
        _trial(admin)
