"""Stock by weight through the gateway and the broker, as the shop uses it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support.api import client
from tests.support.identity import publish_headers
from tests.support.system import RunningSystem, wait_for


def _product(api: httpx.Client, name: str, price: int, unit: str = "kg", **extra: Any) -> str:
    answer = api.post(
        "/api/products", json={"name": name, "unit": unit, "price_cents": price, **extra}
    )
    assert answer.status_code == 201, answer.text
    product_id: str = answer.json()["id"]
    # the stock's catalogue follows through product.created
    wait_for(lambda: api.get(f"/api/inventory/stock/{product_id}").status_code == 200)
    return product_id


def _stock(api: httpx.Client, product_id: str, **params: Any) -> dict[str, Any]:
    answer = api.get(f"/api/inventory/stock/{product_id}", params=params)
    assert answer.status_code == 200, answer.text
    stock: dict[str, Any] = answer.json()
    return stock


def _move(api: httpx.Client, **body: Any) -> httpx.Response:
    return api.post("/api/inventory/movements", json=body)


def _publish_sale(
    system: RunningSystem, type_: str, sale_id: str, items: list[dict[str, Any]]
) -> None:
    answer = httpx.post(
        system.broker_ingress,
        json={
            "sale_id": sale_id,
            "seller_id": None,
            "items": items,
            "total_cents": sum(i["total_cents"] for i in items),
            "payment_method": "pix",
        },
        headers={
            "ce-specversion": "1.0",
            "ce-id": str(uuid.uuid4()),
            "ce-source": "/acougue/update-sale-status",
            "ce-type": type_,
            "ce-subject": sale_id,
            **publish_headers(system.data_dir, "update-sale-status"),
        },
    )
    assert answer.status_code == 202, answer.text


def test_receipt_desossa_loss_count_and_flags(system: RunningSystem) -> None:
    tag = uuid.uuid4().hex[:6]
    with client(system) as api:
        dianteiro = _product(api, f"Dianteiro {tag}", 2500)
        acem = _product(api, f"Acém {tag}", 3500, min_stock="45")
        musculo = _product(api, f"Músculo {tag}", 3000)
        osso = _product(api, f"Osso {tag}", 0)

        soon = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
        receipt = _move(
            api,
            product_id=dianteiro,
            kind="receipt",
            quantity="100",
            unit_cost_cents=2000,
            lot="L-0042",
            expires_on=soon,
            paid_with="bank",
        )
        assert receipt.status_code == 201, receipt.text
        assert receipt.json()["balance_after"] == "100.000"
        level = _stock(api, dianteiro)
        assert (level["quantity"], level["average_cost_cents"]) == ("100.000", 2000)
        assert level["expiring"] == [{"lot": "L-0042", "expires_on": soon, "quantity": "100.000"}]

        desossa = api.post(
            "/api/inventory/breakdowns",
            json={
                "source_product_id": dianteiro,
                "source_quantity": "100.000",
                "outputs": [
                    {"product_id": acem, "quantity": "40.000"},
                    {"product_id": musculo, "quantity": "30.000"},
                    {"product_id": osso, "quantity": "20.000"},
                ],
                "cost_allocation": "value",
            },
        )
        assert desossa.status_code == 201, desossa.text
        result = desossa.json()
        assert result["yield_percent"] == "90.00"
        assert result["loss_quantity"] == "10.000"
        assert result["source_cost_cents"] == 200000
        costs = {o["product_id"]: o["total_cost_cents"] for o in result["outputs"]}
        assert costs == {acem: 121739, musculo: 78261, osso: 0}
        assert _stock(api, dianteiro)["quantity"] == "0.000"
        assert _stock(api, dianteiro)["expiring"] == []  # the lot went into the cuts
        assert _stock(api, acem)["average_cost_cents"] == 3043  # 121739 / 40 kg
        assert _stock(api, osso)["average_cost_cents"] == 0
        assert _stock(api, acem)["low"] is True  # 40 kg under a 45 kg minimum

        loss = _move(
            api, product_id=musculo, kind="loss", quantity="1.5", reason="quebra de resfriamento"
        )
        assert loss.status_code == 201, loss.text
        assert loss.json()["total_cost_cents"] == -3913  # 1.5 kg × 2608.70
        counted = _move(api, product_id=musculo, kind="count", quantity="28.000")
        assert counted.json()["quantity"] == "-0.500"
        assert _stock(api, musculo)["quantity"] == "28.000"

        kinds = [
            m["kind"]
            for m in api.get("/api/inventory/movements", params={"product_id": dianteiro}).json()[
                "items"
            ]
        ]
        assert kinds == ["loss", "breakdown_out", "receipt"]  # newest first

        def movement_events() -> list[dict[str, Any]]:
            items = api.get(
                "/api/events",
                params={"type": "com.acougue.inventory.movement.registered", "limit": 500},
            ).json()["items"]
            return [e for e in items if e["subject"] in (dianteiro, acem, musculo, osso)]

        events = wait_for(lambda: len(movement_events()) >= 8 and movement_events())
        receipt_event = next(e for e in events if e["data"]["kind"] == "receipt")
        assert receipt_event["data"]["total_cost_cents"] == 200000
        assert receipt_event["data"]["paid_with"] == "bank"


def test_bad_movements_are_refused_with_the_reason(system: RunningSystem) -> None:
    with client(system) as api:
        carvao = _product(api, f"Carvão {uuid.uuid4().hex[:6]}", 2500, unit="un")
        half = _move(api, product_id=carvao, kind="receipt", quantity="1.5", unit_cost_cents=1500)
        assert half.status_code == 422
        assert "whole units" in half.json()["detail"]
        no_cost = _move(api, product_id=carvao, kind="receipt", quantity="2")
        assert no_cost.status_code == 422
        no_reason = _move(api, product_id=carvao, kind="loss", quantity="1")
        assert no_reason.status_code == 422
        odd_reason = _move(api, product_id=carvao, kind="loss", quantity="1", reason="roubo")
        assert odd_reason.status_code == 422
        unknown = _move(api, product_id=str(uuid.uuid4()), kind="count", quantity="1")
        assert unknown.status_code == 422
        too_much = api.post(
            "/api/inventory/breakdowns",
            json={
                "source_product_id": carvao,
                "source_quantity": "1",
                "outputs": [{"product_id": carvao, "quantity": "2"}],
            },
        )
        assert too_much.status_code == 422


def test_sales_take_stock_at_average_cost_and_refunds_bring_it_back(system: RunningSystem) -> None:
    with client(system) as api:
        picanha = _product(api, f"Picanha {uuid.uuid4().hex[:6]}", 8990, min_stock="3")
        _move(api, product_id=picanha, kind="receipt", quantity="4.000", unit_cost_cents=6000)
        sale_id = str(uuid.uuid4())
        items = [
            {
                "product_id": picanha,
                "quantity": "5.250",
                "unit_price_cents": 8990,
                "total_cents": 47198,
            }
        ]
        _publish_sale(system, "com.acougue.sale.paid", sale_id, items)
        level = wait_for(lambda: (s := _stock(api, picanha))["quantity"] == "-1.250" and s)
        assert level["negative"] is True  # selling is never blocked by the count
        sale_moves = wait_for(
            lambda: [
                m
                for m in api.get("/api/inventory/movements", params={"product_id": picanha}).json()[
                    "items"
                ]
                if m["kind"] == "sale"
            ]
        )
        assert sale_moves[0]["cause_id"] == sale_id
        assert sale_moves[0]["unit_cost_cents"] == 6000
        assert sale_moves[0]["total_cost_cents"] == -31500

        low = wait_for(
            lambda: [
                e
                for e in api.get(
                    "/api/events", params={"type": "com.acougue.inventory.stock.low"}
                ).json()["items"]
                if e["subject"] == picanha
            ]
        )
        assert low[0]["data"]["quantity"] == "-1.250"

        _publish_sale(system, "com.acougue.sale.refunded", sale_id, items)
        wait_for(lambda: _stock(api, picanha)["quantity"] == "4.000")
        assert _stock(api, picanha)["average_cost_cents"] == 6000
