"""Through the gateway and the broker, as a real client, on both broker backends."""

from __future__ import annotations

import json
import os
import signal
import uuid
from typing import Any

import httpx

from shared.events import ownership
from tests.support.identity import delivery_headers, publish_headers
from tests.support.system import ADMIN_PASSWORD, RunningSystem, wait_for


def _client(system: RunningSystem, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=system.gateway, headers=headers, timeout=15)


def _events(api: httpx.Client, type_: str) -> list[dict[str, Any]]:
    answer = api.get("/api/events", params={"type": type_, "limit": 500})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_health_login_and_identity(system: RunningSystem) -> None:
    with _client(system) as anonymous:
        assert anonymous.get("/healthz").status_code == 200
        assert anonymous.get("/readyz").json() == {"status": "ready"}
        assert "Açougue" in anonymous.get("/").text
        wrong = anonymous.post("/api/auth/login", json={"username": "admin", "password": "nope"})
        assert wrong.status_code == 401
        assert wrong.headers["content-type"] == "application/problem+json"
        assert anonymous.get("/api/me").status_code == 401
        login = anonymous.post(
            "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
    assert login.status_code == 200
    body = login.json()
    assert body["token_type"] == "bearer"
    assert 0 < body["expires_in"] <= 900
    assert body["user"]["role"] == "admin"
    with _client(system, body["access_token"]) as api:
        assert api.get("/api/me").json()["username"] == "admin"


def test_product_lifecycle_reaches_the_event_log(system: RunningSystem) -> None:
    with _client(system, system.admin_token()) as api:
        category = api.post("/api/categories", json={"name": f"Miúdos {uuid.uuid4().hex[:6]}"})
        assert category.status_code == 201, category.text
        plu = int(uuid.uuid4().int % 9000) + 1000
        created = api.post(
            "/api/products",
            json={
                "name": "Coração de frango",
                "unit": "kg",
                "price_cents": 1899,
                "category_id": category.json()["id"],
                "plu": plu,
                "barcode": "7891000315507",
                "min_stock": "2.5",
            },
        )
        assert created.status_code == 201, created.text
        product = created.json()
        assert product["min_stock"] == "2.500"
        assert product["active"] is True

        found = api.get("/api/products", params={"q": "coracao"}).json()["items"]
        assert [p["id"] for p in found] == [product["id"]]
        assert (
            api.get("/api/products", params={"q": str(plu)}).json()["items"][0]["id"]
            == product["id"]
        )
        assert api.get(f"/api/products/{product['id']}").json()["name"] == "Coração de frango"

        patched = api.patch(f"/api/products/{product['id']}", json={"price_cents": 2099})
        assert patched.status_code == 200, patched.text
        assert patched.json()["price_cents"] == 2099

        def logged() -> list[dict[str, Any]]:
            return [
                e
                for e in _events(api, "com.acougue.product.created")
                if e["subject"] == product["id"]
            ]

        event = wait_for(logged)[0]
        assert event["source"] == "/acougue/create-product"
        assert event["data"]["price_cents"] == 1899
        updated = wait_for(
            lambda: [
                e
                for e in _events(api, "com.acougue.product.updated")
                if e["subject"] == product["id"]
            ]
        )
        assert updated[0]["data"]["changed"] == ["price_cents"]


def test_bad_input_gets_a_problem_not_a_crash(system: RunningSystem) -> None:
    with _client(system, system.admin_token()) as api:
        unknown_field = api.post(
            "/api/products", json={"name": "Picanha", "unit": "kg", "price_cents": 100, "cor": "x"}
        )
        assert unknown_field.status_code == 422
        assert unknown_field.headers["content-type"] == "application/problem+json"
        bad_ean = api.post(
            "/api/products",
            json={"name": "Picanha", "unit": "kg", "price_cents": 100, "barcode": "7891000315508"},
        )
        assert bad_ean.status_code == 422
        float_money = api.post(
            "/api/products", json={"name": "X", "unit": "kg", "price_cents": 10.5}
        )
        assert float_money.status_code == 422
        assert api.get(f"/api/products/{uuid.uuid4()}").status_code == 404
        assert api.get("/api/products/not-a-uuid").status_code == 422
    with _client(system, "not.a.token") as forged:
        answer = forged.get("/api/products")
        assert answer.status_code == 401
        assert answer.json()["status"] == 401


def _publish(
    system: RunningSystem, event_id: str, type_: str, data: bytes, subject: str = "dup"
) -> httpx.Response:
    """Publish as the function that owns the type (the broker refuses anyone else)."""
    owner = min(ownership.owners(type_))
    return httpx.post(
        system.broker_ingress,
        content=data,
        headers={
            "ce-specversion": "1.0",
            "ce-id": event_id,
            "ce-source": ownership.source_of(owner),
            "ce-type": type_,
            "ce-subject": subject,
            "content-type": "application/json",
            **publish_headers(system.data_dir, owner),
        },
        timeout=10,
    )


SALE_PAID = "com.acougue.sale.paid"


def _sale_paid(sale_id: str, product_id: str, quantity: str) -> bytes:
    line = {
        "product_id": product_id,
        "quantity": quantity,
        "unit_price_cents": 1000,
        "total_cents": int(float(quantity) * 1000),
    }
    return json.dumps(
        {
            "sale_id": sale_id,
            "seller_id": None,
            "items": [line],
            "total_cents": line["total_cents"],
            "payment_method": "pix",
        }
    ).encode()


def test_the_same_cloudevent_twice_is_applied_once(system: RunningSystem) -> None:
    """A paid sale delivered twice takes its stock once: the stock subscriber's movements
    have no key of their own, only the inbox stands between a redelivery and a double take."""
    with _client(system, system.admin_token()) as api:
        created = api.post(
            "/api/products",
            json={"name": f"Fraldinha {uuid.uuid4().hex[:6]}", "unit": "kg", "price_cents": 1000},
        )
        assert created.status_code == 201, created.text
        product = created.json()["id"]

        def stock() -> str | None:
            answer = api.get(f"/api/inventory/stock/{product}")
            return str(answer.json()["quantity"]) if answer.status_code == 200 else None

        wait_for(stock)
        received = api.post(
            "/api/inventory/movements",
            json={
                "product_id": product,
                "kind": "receipt",
                "quantity": "10",
                "unit_cost_cents": 600,
            },
        )
        assert received.status_code in (200, 201), received.text
        wait_for(lambda: stock() == "10.000")

        sale, event_id = str(uuid.uuid4()), str(uuid.uuid4())
        paid = _sale_paid(sale, product, "2.000")
        assert _publish(system, event_id, SALE_PAID, paid, sale).status_code == 202
        wait_for(lambda: stock() == "8.000")
        assert _publish(system, event_id, SALE_PAID, paid, sale).status_code == 202
        # a later sale proves the copy published before it has been handled too
        later = str(uuid.uuid4())
        barrier = _sale_paid(later, product, "1.000")
        assert _publish(system, str(uuid.uuid4()), SALE_PAID, barrier, later).status_code == 202

        def sale_moves() -> list[dict[str, Any]]:
            answer = api.get("/api/inventory/movements", params={"product_id": product})
            items: list[dict[str, Any]] = answer.json()["items"]
            return [m for m in items if m["kind"] == "sale"]

        wait_for(lambda: later in [m["cause_id"] for m in sale_moves()])
        moves = sale_moves()
        assert [m["cause_id"] for m in moves].count(sale) == 1
        assert stock() == "7.000"


def test_invalid_event_data_is_dead_lettered_at_once(system: RunningSystem) -> None:
    event_id = str(uuid.uuid4())
    answer = _publish(system, event_id, "com.acougue.product.created", b'{"name": 42}')
    assert answer.status_code == 202  # the broker takes it; the subscriber refuses it
    with _client(system, system.admin_token()) as api:
        event_log = system.url("event-log")
        letters = wait_for(
            lambda: [
                d
                for d in api.get("/api/dead-letters").json()["items"]
                if d["event_id"] == event_id and d["error_dest"].startswith(event_log)
            ]
        )
        assert letters[0]["error_code"] == "400"
        assert letters[0]["failures"] == 1  # refused once, never retried
        assert not [e for e in _events(api, "com.acougue.product.created") if e["id"] == event_id]


def test_a_dead_letter_can_be_replayed_from_the_api(system: RunningSystem) -> None:
    event_id = str(uuid.uuid4())
    _publish(system, event_id, "com.acougue.category.created", b'{"category_id": 1}')
    with _client(system, system.admin_token()) as api:

        def letter() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = api.get("/api/dead-letters").json()["items"]
            return [d for d in items if d["event_id"] == event_id]

        first = wait_for(letter)[0]
        assert first["replayed_at"] is None
        assert api.post(f"/api/dead-letters/{first['id']}/replay").status_code == 202
        # Still invalid, so the replay comes back as a second failure of the same event.
        again = wait_for(lambda: [d for d in letter() if d["failures"] == 2])[0]
        assert again["id"] == first["id"]
        assert api.post(f"/api/dead-letters/{uuid.uuid4()}/replay").status_code == 404


def test_functions_reached_directly_check_tokens_themselves(system: RunningSystem) -> None:
    token = system.admin_token()
    for service, path in (("catalog-query", "/api/products"), ("event-log", "/api/events")):
        direct = system.url(service) + path
        assert httpx.get(direct, timeout=10).status_code == 401
        forged = httpx.get(direct, headers={"Authorization": "Bearer " + token[:-4] + "AAAA"})
        assert forged.status_code == 401
        assert httpx.get(direct, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0."
    answer = httpx.get(
        system.url("catalog-query") + "/api/products",
        headers={"Authorization": f"Bearer {unsigned}"},
    )
    assert answer.status_code == 401


def test_events_committed_while_the_broker_is_down_are_swept(system: RunningSystem) -> None:
    """The broker dies between commit and publish; the sweep publishes after it is back."""
    with _client(system, system.admin_token()) as api:
        os.kill(system.pid("broker"), signal.SIGKILL)
        created = api.post(
            "/api/categories", json={"name": f"Durante a queda {uuid.uuid4().hex[:6]}"}
        )
        assert created.status_code == 201, created.text
        category_id = created.json()["id"]
        events = wait_for(
            lambda: [
                e
                for e in _events(api, "com.acougue.category.created")
                if e["subject"] == category_id
            ],
            timeout=40,
        )
    assert len(events) == 1


MALFORMED: list[tuple[str, dict[str, str], bytes]] = [
    ("no CloudEvent at all", {"content-type": "application/json"}, b'{"a": 1}'),
    (
        "not JSON",
        {
            "ce-specversion": "1.0",
            "ce-id": "m1",
            "ce-source": "/t",
            "ce-type": "com.acougue.sale.paid",
            "content-type": "application/json",
        },
        b"{not json",
    ),
    (
        "wrong specversion",
        {
            "ce-specversion": "0.3",
            "ce-id": "m2",
            "ce-source": "/t",
            "ce-type": "com.acougue.sale.paid",
            "content-type": "application/json",
        },
        b"{}",
    ),
    (
        "known type, wrong data",
        {
            "ce-specversion": "1.0",
            "ce-id": "m3",
            "ce-source": "/acougue/update-sale-status",
            "ce-type": "com.acougue.sale.paid",
            "content-type": "application/json",
        },
        b'{"sale_id": 7}',
    ),
    (
        "unknown type",
        {
            "ce-specversion": "1.0",
            "ce-id": "m4",
            "ce-source": "/t",
            "ce-type": "com.acougue.nothing",
            "content-type": "application/json",
        },
        b"{}",
    ),
    (
        "structured, broken",
        {"content-type": "application/cloudevents+json"},
        b'{"specversion": "1.0"}',
    ),
]


def test_malformed_cloudevents_get_a_4xx_from_every_function(system: RunningSystem) -> None:
    """A function reached with garbage answers 4xx (dead letter at once), never 5xx
    (which the broker would retry as if the function were down)."""
    functions = [n for n in system.state["urls"] if n not in ("gateway", "broker")]
    assert len(functions) >= 19
    for name in functions:
        broker = delivery_headers(system.data_dir, name)
        for label, headers, body in MALFORMED:
            answer = httpx.post(
                system.url(name) + "/", content=body, headers={**headers, **broker}, timeout=10
            )
            if name == "dead-letter" and label == "known type, wrong data":
                # The sink keeps what others refused: a valid envelope is stored as it is.
                assert answer.status_code == 200, answer.text
                continue
            assert 400 <= answer.status_code < 500, (
                name,
                label,
                answer.status_code,
                answer.text[:200],
            )
    ingress = httpx.post(
        system.broker_ingress,
        content=b"{}",
        headers={"content-type": "application/json", **publish_headers(system.data_dir, "auth")},
    )
    assert ingress.status_code == 400
