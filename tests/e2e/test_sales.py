"""The counter through the gateway and the broker: scale labels, PIX, cards, cash."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from shared.pix import read_charge
from tests.support.api import bearer, client, create_product, receive, sell, sell_when_known
from tests.support.system import RunningSystem, wait_for


def _until(api: httpx.Client, sale_id: str, status: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        sale: dict[str, Any] = api.get(f"/api/sales/{sale_id}").json()
        return sale if sale["status"] == status else None

    found: dict[str, Any] = wait_for(reached, timeout=30)
    return found


def _known(api: httpx.Client, product_id: str) -> bool:
    answer = api.get(f"/api/inventory/stock/{product_id}")
    return answer.status_code == 200


def test_pix_sale_by_price_label_is_paid_and_leaves_stock(system: RunningSystem) -> None:
    with client(system) as api:
        picanha = create_product(api, name="Picanha", unit="kg", price_cents=6990, plu=1234)
        wait_for(lambda: _known(api, picanha))
        bad = sell(api, {"items": [{"barcode": "2123400123458"}], "payment": {"method": "pix"}})
        assert bad.status_code == 422
        assert bad.json()["barcode"] == "2123400123458"
        # until the counter's catalogue has PLU 1234
        label = {"items": [{"barcode": "2123400123457"}], "payment": {"method": "pix"}}
        sale = sell_when_known(api, label)
        assert sale["status"] == "pending_payment"
        assert sale["total_cents"] == 12345  # the printed price is charged
        line = sale["items"][0]
        assert (line["product_id"], line["quantity"], line["total_cents"]) == (
            picanha,
            "1.766",
            12345,
        )

        paid = _until(api, sale["id"], "paid")
        pix = paid["payment"]["pix"]
        charge = read_charge(pix["payload"])  # verifies the CRC
        assert charge.amount_cents == 12345
        assert charge.key == "pix@acougue.example"
        assert charge.txid == pix["txid"]
        qr = api.get(f"/api/sales/{sale['id']}/pix.svg")
        assert qr.status_code == 200
        assert qr.headers["content-type"].startswith("image/svg+xml")
        wait_for(lambda: api.get(f"/api/inventory/stock/{picanha}").json()["quantity"] == "-1.766")


def test_declined_card_then_cash_with_change(system: RunningSystem) -> None:
    with client(system) as api:
        carvao = create_product(
            api, name="Carvão 5 kg", unit="un", price_cents=2363, barcode="7896543210982"
        )
        wait_for(lambda: _known(api, carvao))
        body = {
            "items": [{"barcode": "7896543210982", "quantity": "2"}],
            "discount_cents": 13,
            "payment": {"method": "debit"},
        }
        sale = sell_when_known(api, body)
        assert sale["total_cents"] == 4713  # 2 × 23,63 − 0,13: ends in 13 → declined
        failed = _until(api, sale["id"], "payment_failed")
        assert failed["payment"]["reason"] == "saldo insuficiente"

        short = api.post(
            f"/api/sales/{sale['id']}/payments",
            json={"method": "cash", "cash_received_cents": 4000},
        )
        assert short.status_code == 422
        retried = api.post(
            f"/api/sales/{sale['id']}/payments",
            json={"method": "cash", "cash_received_cents": 5000},
        )
        assert retried.status_code == 200, retried.text
        assert retried.json()["payment"]["change_cents"] == 287
        paid = _until(api, sale["id"], "paid")
        assert paid["attempt"] == 2
        assert paid["payment"]["method"] == "cash"


def test_idempotency_key_answers_the_same_sale(system: RunningSystem) -> None:
    with client(system) as api:
        linguica = create_product(api, name="Linguiça toscana", unit="kg", price_cents=2990)
        body = {
            "items": [{"product_id": linguica, "quantity": "0.750"}],
            "payment": {"method": "cash", "cash_received_cents": 3000},
        }
        key = str(uuid.uuid4())
        first = wait_for(lambda: (a := sell(api, body, key)).status_code == 201 and a)
        again = sell(api, body, key)
        assert again.status_code == 201
        assert again.json()["id"] == first.json()["id"]
        assert again.headers["idempotent-replayed"] == "true"
        assert first.json()["total_cents"] == 2243  # 0.750 × 29,90 = 22,425 → 22,43
        assert first.json()["payment"]["change_cents"] == 757
        other = sell(api, {**body, "discount_cents": 100}, key)
        assert other.status_code == 422
        missing = api.post("/api/sales", json=body)
        assert missing.status_code in (400, 422)
        assert missing.headers["content-type"] == "application/problem+json"
        # a declined sale of the same moment must stay out of the paid listing
        declined = sell(
            api,
            {
                "items": [{"product_id": linguica, "quantity": "1"}],
                "discount_cents": 1677,
                "payment": {"method": "debit"},
            },
        )
        assert declined.status_code == 201, declined.text
        assert declined.json()["total_cents"] == 1313  # ends in 13 → declined
        _until(api, declined.json()["id"], "payment_failed")
        # the sale is listed among the paid ones, and the filter lets nothing else through
        listed = wait_for(
            lambda: (
                (items := api.get("/api/sales", params={"status": "paid"}).json()["items"])
                and first.json()["id"] in [s["id"] for s in items]
                and items
            )
        )
        assert {s["status"] for s in listed} == {"paid"}
        mine = [s for s in listed if s["id"] == first.json()["id"]]
        assert len(mine) == 1  # replayed, not sold twice
        assert mine[0]["total_cents"] == 2243
        assert declined.json()["id"] not in [s["id"] for s in listed]


def test_cancelling_a_paid_sale_refunds_it_and_returns_the_stock(system: RunningSystem) -> None:
    with client(system) as api:
        alcatra = create_product(api, name="Alcatra", unit="kg", price_cents=5490)
        wait_for(lambda: _known(api, alcatra))
        receive(api, alcatra, "10", 3800)
        body = {
            "items": [{"product_id": alcatra, "quantity": "2.000"}],
            "payment": {"method": "credit", "installments": 3},
        }
        sale = sell_when_known(api, body)
        _until(api, sale["id"], "paid")
        wait_for(lambda: api.get(f"/api/inventory/stock/{alcatra}").json()["quantity"] == "8.000")
        assert api.post(f"/api/sales/{sale['id']}/cancel").status_code == 202
        refunded = _until(api, sale["id"], "refunded")
        assert refunded["payment"]["status"] == "refunded"
        wait_for(lambda: api.get(f"/api/inventory/stock/{alcatra}").json()["quantity"] == "10.000")
        assert api.post(f"/api/sales/{sale['id']}/cancel").status_code == 409


def test_a_vendedor_sees_only_their_own_sales(system: RunningSystem) -> None:
    with client(system) as admin:
        name = f"v{uuid.uuid4().hex[:8]}"
        admin.post(
            "/api/users",
            json={"username": name, "password": "senha-do-vendedor", "role": "vendedor"},
        )
        cafe = create_product(admin, name="Coxa de frango", unit="kg", price_cents=1590)
        body = {"items": [{"product_id": cafe, "quantity": "1"}], "payment": {"method": "pix"}}
        mine = sell_when_known(admin, body)
        login = httpx.post(
            system.gateway + "/api/auth/login",
            json={"username": name, "password": "senha-do-vendedor"},
        )
        with client(system, login.json()["access_token"]) as seller:
            theirs = sell(seller, body).json()
            assert seller.get(f"/api/sales/{mine['id']}").status_code == 404
            assert seller.get(f"/api/sales/{theirs['id']}").status_code == 200
            ids = [s["id"] for s in seller.get("/api/sales").json()["items"]]
            assert ids == [theirs["id"]]
            # Paid, it is the admin's to cancel (issue 17: unpaid, it would be the seller's).
            wait_for(lambda: seller.get(f"/api/sales/{theirs['id']}").json()["status"] == "paid")
            assert seller.post(f"/api/sales/{theirs['id']}/cancel").status_code == 403


def test_many_sales_of_one_product_at_once(system: RunningSystem) -> None:
    """Twenty counters selling the same cut at the same moment: every sale is paid and
    leaves stock exactly once (no lost update, no double count)."""
    import asyncio

    with client(system) as api:
        cupim = create_product(api, name="Cupim", unit="kg", price_cents=4990)
        wait_for(lambda: _known(api, cupim))
        receive(api, cupim, "30", 3000)
        body = {"items": [{"product_id": cupim, "quantity": "0.500"}], "payment": {"method": "pix"}}
        sell_when_known(api, body)  # once the counter's catalogue has it
        token = system.admin_token()

    async def burst() -> list[int]:
        async with httpx.AsyncClient(
            base_url=system.gateway, headers=bearer(token), timeout=30
        ) as counter:
            answers = await asyncio.gather(
                *(
                    counter.post(
                        "/api/sales", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
                    )
                    for _ in range(20)
                )
            )
        return [a.status_code for a in answers]

    assert asyncio.run(burst()) == [201] * 20
    with client(system) as api:
        # 30 kg received, 21 sales of 0,5 kg: 19,5 kg left, once every sale has left stock.
        wait_for(
            lambda: api.get(f"/api/inventory/stock/{cupim}").json()["quantity"] == "19.500",
            timeout=60,
        )
        moves = api.get(
            "/api/inventory/movements", params={"product_id": cupim, "limit": 100}
        ).json()["items"]
        assert len([m for m in moves if m["kind"] == "sale"]) == 21
