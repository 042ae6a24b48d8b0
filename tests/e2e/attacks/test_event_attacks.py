"""Forged events, tried as an attacker would: straight at the functions and at the broker.

Before issue 14 every subscriber applied any well-formed CloudEvent on `POST /`, and the
broker's ingress took any event from anyone: each attack here succeeded (a 2xx, and the
effect in the books). Now a delivery needs the broker's token for that function, a publish
needs a function's identity and the ownership of the type, and nothing forged is applied.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest

from shared.auth.tokens import generate_private_key_pem, load_private_key
from shared.events.identity import TokenSigner, service_account, service_audience
from tests.support.api import create_product, sell, sell_when_known
from tests.support.fixtures import system_fixture
from tests.support.identity import NAMESPACE, delivery_headers, publish_headers
from tests.support.system import RunningSystem, wait_for

# The PIX stays pending while the attacks run: only a forged approval could pay it.
PIX_DELAY = 3600


system = system_fixture(
    "system-event-attacks", extra_env={"PIX_CONFIRM_DELAY_SECONDS": str(PIX_DELAY)}
)


@pytest.fixture(scope="module")
def pending_sale(api: httpx.Client) -> dict[str, Any]:
    product = create_product(
        api, name=f"Picanha {uuid.uuid4().hex[:6]}", unit="kg", price_cents=8990
    )
    body = {
        "items": [{"product_id": product, "quantity": "1.000"}],
        "payment": {"method": "pix"},
    }
    sale = sell_when_known(api, body)
    wait_for(lambda: _sale(api, sale["id"])["status"] == "pending_payment")
    return sale


def _sale(api: httpx.Client, sale_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.get(f"/api/sales/{sale_id}").json()
    return found


def _approval(sale: dict[str, Any]) -> dict[str, Any]:
    return {
        "payment_id": str(uuid.uuid4()),
        "sale_id": sale["id"],
        "attempt": 1,
        "method": "pix",
        "amount_cents": sale["total_cents"],
        "fee_cents": 0,
    }


def _event(type_: str, source: str, **extra: str) -> dict[str, str]:
    return {
        "ce-specversion": "1.0",
        "ce-id": str(uuid.uuid4()),
        "ce-source": source,
        "ce-type": f"com.acougue.{type_}",
        "content-type": "application/json",
        **extra,
    }


def _post(url: str, headers: dict[str, str], data: Any) -> httpx.Response:
    return httpx.post(url, content=json.dumps(data).encode(), headers=headers, timeout=10)


def _still_pending(api: httpx.Client, sale: dict[str, Any]) -> None:
    time.sleep(1.0)  # anything accepted would have been applied by now
    assert _sale(api, sale["id"])["status"] == "pending_payment"


def test_a_forged_approval_sent_straight_to_a_function_is_refused(
    system: RunningSystem, api: httpx.Client, pending_sale: dict[str, Any]
) -> None:
    headers = _event("payment.approved", "/acougue/process-payment")
    answer = _post(system.url("update-sale-status") + "/", headers, _approval(pending_sale))
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    _still_pending(api, pending_sale)


def test_a_forged_approval_published_to_the_broker_is_refused(
    system: RunningSystem, api: httpx.Client, pending_sale: dict[str, Any]
) -> None:
    headers = _event("payment.approved", "/acougue/process-payment")
    answer = _post(system.broker_ingress, headers, _approval(pending_sale))
    assert answer.status_code == 401, answer.text
    _still_pending(api, pending_sale)


def test_a_function_may_publish_only_the_types_it_owns_under_its_own_source(
    system: RunningSystem, api: httpx.Client, pending_sale: dict[str, Any]
) -> None:
    """complete-sale's identity (a token stolen from its pod) cannot approve a payment,
    whether it names itself or process-payment as the source."""
    as_seller = publish_headers(system.data_dir, "complete-sale")
    for source in ("/acougue/complete-sale", "/acougue/process-payment"):
        headers = {**_event("payment.approved", source), **as_seller}
        answer = _post(system.broker_ingress, headers, _approval(pending_sale))
        assert answer.status_code == 403, (source, answer.text)
    _still_pending(api, pending_sale)


def test_a_broker_token_for_another_function_is_refused(
    system: RunningSystem, api: httpx.Client, pending_sale: dict[str, Any]
) -> None:
    """A delivery token is bound to its audience: event-log's cannot open update-sale-status."""
    headers = {
        **_event("payment.approved", "/acougue/process-payment"),
        **delivery_headers(system.data_dir, "event-log"),
    }
    answer = _post(system.url("update-sale-status") + "/", headers, _approval(pending_sale))
    assert answer.status_code == 401, answer.text
    _still_pending(api, pending_sale)


def test_a_token_signed_with_another_key_or_expired_is_refused(system: RunningSystem) -> None:
    audience = service_audience(NAMESPACE, "update-sale-status")
    subject = service_account(NAMESPACE, "x")
    stranger = TokenSigner(load_private_key(generate_private_key_pem()), issuer="acougue-broker")
    expired = TokenSigner(
        load_private_key((system.data_dir / "identities" / "broker.pem").read_text()),
        issuer="acougue-broker",
        lifetime=-60,
    )
    for signer in (stranger, expired):
        headers = {
            **_event("sale.paid", "/acougue/update-sale-status"),
            "authorization": f"Bearer {signer.token(audience, subject)}",
        }
        answer = _post(system.url("apply-sale-to-stock") + "/", headers, {})
        assert answer.status_code == 401, answer.text


def test_a_refund_cannot_be_forced_with_a_forged_cancellation(system: RunningSystem) -> None:
    """`sale.cancelled` straight to process-payment made it emit a real payment.refunded."""
    headers = _event("sale.cancelled", "/acougue/cancel-sale")
    data = {"sale_id": str(uuid.uuid4()), "was_paid": True, "total_cents": 100}
    answer = _post(system.url("process-payment") + "/", headers, data)
    assert answer.status_code == 401, answer.text


def test_a_structured_event_sent_as_text_plain_is_refused(system: RunningSystem) -> None:
    """A web page can POST text/plain cross-origin without a preflight; the SDK took it."""
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/acougue/process-payment",
        "type": "com.acougue.payment.pending",
        "data": {},
    }
    url = system.url("update-sale-status") + "/"
    anonymous = httpx.post(
        url, content=json.dumps(event), headers={"content-type": "text/plain"}, timeout=10
    )
    assert anonymous.status_code == 401
    with_token = httpx.post(
        url,
        content=json.dumps(event),
        headers={
            "content-type": "text/plain",
            **delivery_headers(system.data_dir, "update-sale-status"),
        },
        timeout=10,
    )
    assert with_token.status_code == 415, with_token.text


def test_a_future_dated_product_update_is_refused_at_the_broker(system: RunningSystem) -> None:
    """A `product.updated` dated 2099 would have outranked every later real update."""
    headers = {
        **_event(
            "product.updated", "/acougue/update-product", **{"ce-time": "2099-01-01T00:00:00Z"}
        ),
        **publish_headers(system.data_dir, "update-product"),
    }
    answer = _post(system.broker_ingress, headers, {})
    assert answer.status_code == 400, answer.text
    assert "future" in answer.json()["detail"]


def test_a_dead_letter_cannot_be_planted_for_an_admin_to_replay(
    system: RunningSystem, api: httpx.Client, pending_sale: dict[str, Any]
) -> None:
    event_id = str(uuid.uuid4())
    headers = _event(
        "payment.approved",
        "/acougue/process-payment",
        **{"ce-id": event_id, "ce-knativeerrordest": "http://x", "ce-knativeerrorcode": "500"},
    )
    answer = _post(system.url("dead-letter") + "/", headers, _approval(pending_sale))
    assert answer.status_code == 401, answer.text
    letters = api.get("/api/dead-letters").json()["items"]
    assert not [d for d in letters if d["event_id"] == event_id]


def test_oversized_events_are_refused_before_they_are_read(system: RunningSystem) -> None:
    big = b'{"x": "' + b"a" * (5 * 1024 * 1024) + b'"}'
    for url, auth in (
        (system.url("event-log") + "/", delivery_headers(system.data_dir, "event-log")),
        (system.broker_ingress, publish_headers(system.data_dir, "create-category")),
    ):
        headers = {**_event("category.created", "/acougue/create-category"), **auth}
        answer = httpx.post(url, content=big, headers=headers, timeout=30)
        assert answer.status_code == 413, (url, answer.text[:200])


def test_the_real_flow_still_pays_a_sale(system: RunningSystem, api: httpx.Client) -> None:
    """The control: a card sale goes through every authenticated hop and is paid."""
    product = api.get("/api/products").json()["items"][0]["id"]
    answer = sell(
        api,
        {"items": [{"product_id": product, "quantity": "0.500"}], "payment": {"method": "debit"}},
    )
    assert answer.status_code == 201, answer.text
    wait_for(lambda: _sale(api, answer.json()["id"])["status"] == "paid", timeout=30)
