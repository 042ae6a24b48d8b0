"""Counter attacks (issue 14): a price frozen by a forged product event dated 2099, a
vendedor's 100 % discount, absurd quantities that overflow stock, a vendedor reading costs.
Through the gateway, and straight at apply-product-to-sales. Each test fails on 5149426."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.support.api import bearer, client, create_product, create_user, sign_in
from tests.support.fixtures import system_fixture
from tests.support.system import RunningSystem, wait_for

PROBLEM = "application/problem+json"
PASSWORD = "balcao-" + uuid.uuid4().hex[:12]


class Shop:
    def __init__(self, system: RunningSystem, admin: str, vendedor: str, product: str) -> None:
        self.system = system
        self.admin = bearer(admin)
        self.vendedor = bearer(vendedor)
        self.product = product

    def post(self, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
        extra = {"Idempotency-Key": str(uuid.uuid4())} if path == "/api/sales" else {}
        return httpx.post(
            self.system.gateway + path, json=body, headers={**headers, **extra}, timeout=15
        )

    def get(self, path: str, headers: dict[str, str]) -> httpx.Response:
        return httpx.get(self.system.gateway + path, headers=headers, timeout=15)


system = system_fixture("counter")


@pytest.fixture(scope="module")
def shop(system: RunningSystem) -> Shop:
    admin = system.admin_token()
    with client(system, admin) as api:
        create_user(api, "vendedor1", PASSWORD, "vendedor")
        login = sign_in(system, "vendedor1", PASSWORD)
        assert login.status_code == 200, login.text
        product = create_product(api, name="Alcatra", unit="kg", price_cents=5000)
    shop = Shop(system, admin, login.json()["access_token"], product)
    wait_for(lambda: shop.get(f"/api/inventory/stock/{shop.product}", shop.admin).is_success)
    return shop


def _sale(product: str, quantity: str = "1.000", discount: int = 0) -> dict[str, Any]:
    return {
        "items": [{"product_id": product, "quantity": quantity}],
        "discount_cents": discount,
        "payment": {"method": "pix"},
    }


def _price_at_the_counter(shop: Shop, expected: int) -> bool:
    answer = shop.post("/api/sales", _sale(shop.product), shop.admin)
    return answer.status_code == 201 and answer.json()["total_cents"] == expected


def _forged_update(product: str, **data: Any) -> dict[str, Any]:
    state = {
        "product_id": product,
        "name": "Alcatra",
        "unit": "kg",
        "price_cents": 1,
        "category_id": None,
        "plu": None,
        "barcode": None,
        "min_stock": "0.000",
        "active": True,
        "changed": ["price_cents"],
        **data,
    }
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/acougue/update-product",
        "type": "com.acougue.product.updated",
        "subject": product,
        "time": "2099-01-01T00:00:00Z",
        "datacontenttype": "application/json",
        "data": state,
    }


def test_a_forged_product_state_dated_2099_cannot_freeze_a_price(shop: Shop) -> None:
    """Before: the forged state won over every later real update (it was the newest by
    `time`). Now the read model orders by the catalogue's version: an unversioned state is
    refused, an old version changes nothing (and the broker's authentication may refuse
    the delivery first), and the next real update applies."""
    wait_for(lambda: _price_at_the_counter(shop, 5000), timeout=30)
    target = shop.system.url("apply-product-to-sales")
    headers = {"Content-Type": "application/cloudevents+json"}
    for forged in (_forged_update(shop.product), _forged_update(shop.product, version=1)):
        answer = httpx.post(target, json=forged, headers=headers, timeout=15)
        assert answer.status_code >= 200, answer.text
    assert _price_at_the_counter(shop, 5000)
    patched = httpx.patch(
        f"{shop.system.gateway}/api/products/{shop.product}",
        json={"price_cents": 5200},
        headers=shop.admin,
        timeout=15,
    )
    assert patched.status_code == 200, patched.text
    wait_for(lambda: _price_at_the_counter(shop, 5200), timeout=30)


def test_a_vendedor_cannot_give_the_sale_away(shop: Shop) -> None:
    wait_for(lambda: shop.post("/api/sales", _sale(shop.product), shop.vendedor).is_success)
    whole = shop.post("/api/sales", _sale(shop.product, discount=5200), shop.vendedor)
    assert whole.status_code == 403, whole.text
    assert whole.headers["content-type"].startswith(PROBLEM)
    assert whole.json()["code"] == "discount_approval_required"
    forged = shop.post(
        "/api/sales",
        {**_sale(shop.product, discount=5200), "discount_approval": "eyJhbGciOiJub25lIn0.e30."},
        shop.vendedor,
    )
    assert forged.status_code == 403, forged.text
    within = shop.post("/api/sales", _sale(shop.product, discount=520), shop.vendedor)
    assert within.status_code == 201, within.text  # 10 % of R$ 52,00
    assert shop.post("/api/sales", _sale(shop.product, discount=5200), shop.admin).is_success


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/sales", "sale"),
        ("/api/inventory/movements", "receipt"),
        ("/api/inventory/movements", "count"),
    ],
)
def test_absurd_quantities_are_refused(shop: Shop, path: str, body: str) -> None:
    bodies: dict[str, Any] = {
        "sale": _sale(shop.product, quantity="999999999.999"),
        "receipt": {
            "product_id": shop.product,
            "kind": "receipt",
            "quantity": "999999999.999",
            "unit_cost_cents": 1,
        },
        "count": {"product_id": shop.product, "kind": "count", "quantity": "10000"},
    }
    answer = shop.post(path, bodies[body], shop.admin)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)


def test_a_vendedor_does_not_see_costs(shop: Shop) -> None:
    received = shop.post(
        "/api/inventory/movements",
        {"product_id": shop.product, "kind": "receipt", "quantity": "10", "unit_cost_cents": 3100},
        shop.admin,
    )
    assert received.status_code == 201, received.text
    one = f"/api/inventory/stock/{shop.product}"
    admin_view = shop.get(one, shop.admin).json()
    assert isinstance(admin_view["average_cost_cents"], int)  # admin and estoquista see it
    vendedor_one = shop.get(one, shop.vendedor)
    assert vendedor_one.status_code == 200
    assert "average_cost_cents" not in vendedor_one.json()
    listing = shop.get("/api/inventory/stock", shop.vendedor).json()["items"]
    assert listing
    assert all("cost" not in key for item in listing for key in item)
