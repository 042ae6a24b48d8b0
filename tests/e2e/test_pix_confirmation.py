"""A delayed PIX confirmation through the whole system, with no timer on process-payment.

The simulated bank's notice is a scheduled event in process-payment's outbox; the outbox
relay (the only function a PingSource wakes) publishes it once due and the Broker brings it
back. A sale cancelled while its PIX waits is never paid by the late notice.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.support.api import client, create_product, sell_when_known
from tests.support.fixtures import system_fixture
from tests.support.system import RunningSystem, wait_for

DELAY = 3


system = system_fixture("system-pix-delay", extra_env={"PIX_CONFIRM_DELAY_SECONDS": str(DELAY)})


def _sale(api: httpx.Client, product_id: str) -> dict[str, Any]:
    body = {
        "items": [{"product_id": product_id, "quantity": "1.000"}],
        "payment": {"method": "pix"},
    }
    return sell_when_known(api, body)


def _status(api: httpx.Client, sale_id: str) -> str:
    return str(api.get(f"/api/sales/{sale_id}").json()["status"])


def _events(api: httpx.Client, type_: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get("/api/events", params={"type": type_}).json()["items"]
    return items


def test_a_pix_charge_is_paid_when_the_banks_scheduled_notice_falls_due(
    system: RunningSystem,
) -> None:
    with client(system) as api:
        product = create_product(api, name="Fraldinha", unit="kg", price_cents=4590)

        started = time.monotonic()
        paid_later = _sale(api, product)
        cancelled = _sale(api, product)
        assert _status(api, paid_later["id"]) == "pending_payment"
        assert api.post(f"/api/sales/{cancelled['id']}/cancel").status_code == 202

        wait_for(lambda: _status(api, paid_later["id"]) == "paid", timeout=30)
        assert time.monotonic() - started >= DELAY - 0.5, "paid before the bank's delay"
        wait_for(lambda: len(_events(api, "com.acougue.payment.pix_received")) == 2, timeout=30)
        time.sleep(1.0)  # the cancelled sale's notice has been applied by now
        assert _status(api, cancelled["id"]) == "cancelled"
        approved = _events(api, "com.acougue.payment.approved")
        assert [e["data"]["sale_id"] for e in approved] == [paid_later["id"]]
