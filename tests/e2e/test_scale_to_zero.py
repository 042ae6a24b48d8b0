"""The whole system with scale to zero at Knative's shortest window (6 s): the functions
stop when idle, and a sale through the gateway wakes every function it needs, the broker's
deliveries included, with every effect complete; the runner's status endpoint says so."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.api import client, receive, sell_when_known
from tests.support.fixtures import system_fixture
from tests.support.system import RunningSystem, wait_for

system = system_fixture("scale-to-zero", extra_env={"ACOUGUE_STABLE_WINDOW": "6"})
# What one paid sale touches: the gateway's calls, then the broker's deliveries.
SALE_PATH = (
    "auth",
    "complete-sale",
    "process-payment",
    "update-sale-status",
    "apply-sale-to-stock",
    "post-ledger-entry",
    "event-log",
)


def _status(system: RunningSystem) -> dict[str, dict[str, Any]]:
    answer = httpx.get(system.url("status") + "/status", timeout=10)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    assert body["scale_to_zero"] is True
    processes: dict[str, dict[str, Any]] = body["processes"]
    return processes


def _all_down(system: RunningSystem, names: tuple[str, ...]) -> bool:
    found = _status(system)
    return all(found[name]["state"] == "down" and found[name]["pid"] is None for name in names)


def test_idle_functions_stop_and_a_sale_wakes_what_it_needs(system: RunningSystem) -> None:
    with client(system, timeout=60) as api:
        product = api.post(
            "/api/products", json={"name": "Picanha", "unit": "kg", "price_cents": 8990}
        ).json()["id"]
        wait_for(lambda: api.get(f"/api/inventory/stock/{product}").status_code == 200)
        assert receive(api, product, "10", 5000, paid_with="bank").status_code == 201
        wait_for(lambda: _all_down(system, SALE_PATH), timeout=90)
        found = _status(system)
        assert found["gateway"]["state"] == "up", "min-scale 1"
        assert found["broker"]["state"] == "up"
        cold_before = {name: found[name]["cold_starts"] for name in SALE_PATH}

        sale = sell_when_known(
            api,
            {
                "items": [{"product_id": product, "quantity": "1.000"}],
                "payment": {"method": "debit"},
            },
            timeout=60,
        )
        wait_for(lambda: api.get(f"/api/sales/{sale['id']}").json()["status"] == "paid", timeout=60)
        wait_for(
            lambda: api.get(f"/api/inventory/stock/{product}").json()["quantity"] == "9.000",
            timeout=60,
        )
        found = _status(system)
        for name in SALE_PATH:
            assert found[name]["cold_starts"] > cold_before[name], (name, found[name])
        # The state file the tests read agrees with the endpoint.
        assert system.status()["complete-sale"]["pid"] == found["complete-sale"]["pid"]
        # And they stop again once the sale's work is done.
        wait_for(lambda: _all_down(system, SALE_PATH), timeout=90)


def test_a_function_at_zero_answers_its_first_request_directly(system: RunningSystem) -> None:
    """Straight at its port (no gateway): the request waits for the process, then 200."""
    wait_for(lambda: _all_down(system, ("catalog-query",)), timeout=90)
    answer = httpx.get(system.url("catalog-query") + "/healthz", timeout=60)
    assert answer.status_code == 200
    assert _status(system)["catalog-query"]["state"] in ("starting", "up")
