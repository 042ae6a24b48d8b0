"""The gateway as a client uses it, for the tests that start the whole system: bearer
headers, a client with a token, a user, a login, a product, a sale once the counter knows
its products, a receipt of stock."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.system import RunningSystem, wait_for


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def client(system: RunningSystem, token: str | None = None, *, timeout: float = 15) -> httpx.Client:
    """A client of the system's gateway with a bearer token (the admin's unless given)."""
    return httpx.Client(
        base_url=system.gateway, headers=bearer(token or system.admin_token()), timeout=timeout
    )


def sign_in(
    system: RunningSystem, username: str, password: str, *, timeout: float = 15
) -> httpx.Response:
    return httpx.post(
        system.gateway + "/api/auth/login",
        json={"username": username, "password": password},
        timeout=timeout,
    )


def create_user(api: httpx.Client, username: str, password: str, role: str) -> str:
    """A user made by the client's (admin) token; its id."""
    created = api.post(
        "/api/users", json={"username": username, "password": password, "role": role}
    )
    assert created.status_code == 201, created.text
    user_id: str = created.json()["id"]
    return user_id


def create_product(api: httpx.Client, **body: Any) -> str:
    answer = api.post("/api/products", json=body)
    assert answer.status_code == 201, answer.text
    product_id: str = answer.json()["id"]
    return product_id


def sell(api: httpx.Client, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    return api.post("/api/sales", json=body, headers={"Idempotency-Key": key or str(uuid.uuid4())})


def sell_when_known(
    api: httpx.Client, body: dict[str, Any], *, timeout: float = 20.0
) -> dict[str, Any]:
    """The sale's JSON, sold again until the counter's catalogue knows its products (it
    follows the product events)."""

    def sold() -> httpx.Response | None:
        answer = sell(api, body)
        return answer if answer.status_code == 201 else None

    sale: dict[str, Any] = wait_for(sold, timeout=timeout).json()
    return sale


def receive(
    api: httpx.Client, product_id: str, quantity: str, unit_cost_cents: int, **extra: Any
) -> httpx.Response:
    """A receipt of stock (extra fields, such as paid_with, go into the body)."""
    body = {
        "product_id": product_id,
        "kind": "receipt",
        "quantity": quantity,
        "unit_cost_cents": unit_cost_cents,
        **extra,
    }
    return api.post("/api/inventory/movements", json=body)
