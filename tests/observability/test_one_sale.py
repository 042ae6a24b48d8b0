"""One PIX sale through the gateway is one trace, read back from Datadog's test agent.

Also: the log lines name the spans they were written in, metrics reach DogStatsD, no
secret lands on a span, and a dead letter replayed starts a new trace linked to its origin.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.observability.agent import Span, StatsdListener, TestAgent, Trace
from tests.support.api import client, create_product, sell_when_known
from tests.support.identity import publish_headers
from tests.support.system import ADMIN_PASSWORD, RunningSystem, wait_for
from tooling.manifests import load_topology

pytestmark = pytest.mark.e2e

PIX_KEY = "pix@acougue.example"  # knative/services/process-payment.yaml
# Who handles what in one PIX sale (PIX is confirmed at once in the local settings).
CHAIN = (
    ("complete-sale", "POST /api/sales"),
    ("process-payment", "com.acougue.sale.completed"),
    ("update-sale-status", "com.acougue.payment.approved"),
    ("apply-sale-to-stock", "com.acougue.sale.paid"),
)
LEDGER = ("post-ledger-entry", "com.acougue.payment.approved")


def _ledger_subscribes() -> bool:
    """post-ledger-entry is being added: expect it once the manifests wire it."""
    return any(
        t.subscriber.service == LEDGER[0] and t.filter.get("type") == LEDGER[1]
        for t in load_topology().triggers
    )


@dataclass(frozen=True)
class Sale:
    id: str
    total_cents: int
    token: str


@pytest.fixture(scope="module")
def sale(traced_system: RunningSystem) -> Sale:
    token = traced_system.admin_token()
    with client(traced_system, token) as api:
        product = create_product(api, name="Fraldinha", unit="kg", price_cents=4590)
        body = {
            "items": [{"product_id": product, "quantity": "1.500"}],
            "payment": {"method": "pix"},
        }
        # Generous limits: each returns as soon as it holds (a loaded machine is slow).
        sold = sell_when_known(api, body, timeout=60)
        paid = f"/api/sales/{sold['id']}"
        wait_for(lambda: api.get(paid).json()["status"] == "paid", timeout=60)
        stock = f"/api/inventory/stock/{product}"
        wait_for(lambda: api.get(stock).json().get("quantity") == "-1.500", timeout=60)
    return Sale(sold["id"], sold["total_cents"], token)


def _sale_trace(agent: TestAgent, sale: Sale) -> Trace:
    """The one trace with the sale's spans, once every expected service has reported."""
    wanted = [*CHAIN, LEDGER] if _ledger_subscribes() else list(CHAIN)

    def complete() -> Trace | None:
        holding = [
            t
            for t in agent.traces()
            if any(s.meta.get("acougue.sale_id") == sale.id for s in t.spans)
        ]
        assert len(holding) <= 1, f"the sale is spread over {len(holding)} traces"
        if holding and all(holding[0].entries(svc, res) for svc, res in wanted):
            return holding[0]
        return None

    found: Trace = wait_for(complete, timeout=60, interval=0.5)
    return found


def test_a_sale_is_one_trace_across_gateway_functions_and_broker(
    agent: TestAgent, sale: Sale
) -> None:
    trace = _sale_trace(agent, sale)
    (root,) = trace.roots()  # every other span's parent is in the trace: no broken link
    assert (root.service, root.parent_id, root.resource) == ("gateway", 0, "POST /api/sales")
    assert {"gateway", "broker", *(svc for svc, _ in CHAIN)} <= trace.services()

    previous = root
    for service, resource in CHAIN:
        entry = trace.entries(service, resource)[0]
        above = trace.ancestors(entry)
        assert previous in above, f"{service} does not descend from {previous.service}"
        if service != "complete-sale":
            # delivered by the broker, under the publish span of the function that emitted it
            assert trace.by_id(entry.parent_id) in [s for s in above if s.service == "broker"]
            publish = next(s for s in above if s.name == "cloudevents.publish")
            assert publish.service == previous.service
            assert publish.resource == entry.resource
        assert entry.meta["env"] == "obs"
        assert entry.meta["version"] == "obs-test"
        previous = entry
    if _ledger_subscribes():
        ledger = trace.entries(*LEDGER)[0]
        assert trace.entries("process-payment")[0] in trace.ancestors(ledger)


def test_spans_carry_business_tags_and_no_secret(agent: TestAgent, sale: Sale) -> None:
    trace = _sale_trace(agent, sale)
    counter = trace.entries("complete-sale", "POST /api/sales")[0]
    assert counter.meta["acougue.sale_id"] == sale.id
    assert counter.meta["acougue.payment_method"] == "pix"
    assert counter.metrics["acougue.amount_cents"] == sale.total_cents
    stock = trace.entries("apply-sale-to-stock", "com.acougue.sale.paid")[0]
    assert stock.meta["cloudevents.event_type"] == "com.acougue.sale.paid"
    assert stock.meta["cloudevents.event_subject"] == sale.id
    assert stock.meta["acougue.outcome"] == "applied"

    secrets_ = (ADMIN_PASSWORD, sale.token, PIX_KEY, "000201")  # 000201: a BR Code's start
    for span in agent.all_spans():
        text = json.dumps([span.meta, span.resource])
        leaked = [s[:12] for s in secrets_ if s in text]
        assert not leaked, f"{span.service} {span.name} carries {leaked}"


def _log_lines(system: RunningSystem, service: str) -> list[dict[str, Any]]:
    lines = []
    for raw in system.logs(service).splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def test_log_lines_carry_the_ids_of_their_span(
    agent: TestAgent, traced_system: RunningSystem, sale: Sale
) -> None:
    trace = _sale_trace(agent, sale)
    for service, resource in CHAIN:
        entry = trace.entries(service, resource)[0]
        if resource.startswith("POST"):
            wanted = f"{resource} 201"
            line = next(
                (
                    x
                    for x in _log_lines(traced_system, service)
                    if x["message"] == wanted and x.get("dd.span_id") == str(entry.span_id)
                ),
                None,
            )
        else:
            event_id = entry.meta["cloudevents.event_id"]
            line = next(
                (
                    x
                    for x in _log_lines(traced_system, service)
                    if x.get("event_id") == event_id and x.get("outcome") == "applied"
                ),
                None,
            )
        assert line is not None, f"no log line of {service} for {resource}"
        assert line["dd.span_id"] == str(entry.span_id)
        assert trace.matches_log_id(line["dd.trace_id"]), (line["dd.trace_id"], trace.full_id)
        assert (line["service"], line["dd.env"], line["dd.version"]) == (service, "obs", "obs-test")
        assert line["duration_ms"] >= 0


def test_metrics_reach_dogstatsd(
    statsd: StatsdListener, traced_system: RunningSystem, sale: Sale
) -> None:
    with client(traced_system, sale.token) as api:
        product = api.post(
            "/api/products", json={"name": "Carvão", "unit": "un", "price_cents": 2013}
        ).json()["id"]
        body = {"items": [{"product_id": product, "quantity": "1"}], "payment": {"method": "debit"}}
        declined = sell_when_known(api, body, timeout=60)
        wait_for(
            lambda: api.get(f"/api/sales/{declined['id']}").json()["status"] == "payment_failed",
            timeout=60,
        )

    def seen(name: str, **tags: str) -> bool:
        return bool(statsd.find(name, **tags))

    wait_for(lambda: seen("acougue.payments.declined", payment_method="debit"), timeout=30)
    completed = statsd.find(
        "acougue.sales.completed", payment_method="pix", service="complete-sale"
    )
    assert completed
    assert completed[0].kind == "c"
    assert (completed[0].tags["env"], completed[0].tags["version"]) == ("obs", "obs-test")
    amounts = statsd.find("acougue.sales.paid.amount_cents", payment_method="pix")
    assert sale.total_cents in [d.value for d in amounts]
    lag = statsd.find("acougue.outbox.lag", event_type="sale.completed")
    assert lag
    assert lag[0].kind == "d"
    assert 0 <= lag[0].value < 30
    assert statsd.find("acougue.outbox.backlog")
    assert statsd.find("acougue.event.lag", event_type="com.acougue.sale.paid")
    assert statsd.find("acougue.broker.deliveries", service="broker", outcome="delivered")
    assert statsd.find("acougue.function.cold_start", service="process-payment")
    durations = statsd.find("acougue.request.duration", service="complete-sale", kind="http")
    assert any(d.tags.get("route") == "POST /api/sales" for d in durations)


def test_a_replayed_dead_letter_starts_a_trace_linked_to_its_origin(
    agent: TestAgent, traced_system: RunningSystem, sale: Sale
) -> None:
    origin_trace = secrets.randbits(128) | (1 << 127)
    origin = f"00-{origin_trace:032x}-{secrets.randbits(64) | 1:016x}-01"
    event_id = str(uuid.uuid4())
    answer = httpx.post(  # a category event event-log refuses (400): dead-lettered at once
        traced_system.broker_ingress,
        content=b'{"category_id": 1}',
        headers={
            "ce-specversion": "1.0",
            "ce-id": event_id,
            "ce-source": "/acougue/create-category",
            "ce-type": "com.acougue.category.created",
            "content-type": "application/json",
            "traceparent": origin,
            **publish_headers(traced_system.data_dir, "create-category"),
        },
        timeout=10,
    )
    assert answer.status_code == 202
    with client(traced_system, sale.token) as api:

        def letter() -> dict[str, Any] | None:
            items = api.get("/api/dead-letters").json()["items"]
            return next((d for d in items if d["event_id"] == event_id), None)

        first = wait_for(letter, timeout=60)
        assert api.post(f"/api/dead-letters/{first['id']}/replay").status_code == 202
        wait_for(lambda: (d := letter()) is not None and d["failures"] == 2, timeout=60)

    low = origin_trace & (2**64 - 1)

    def linked() -> tuple[Trace, Span] | None:
        for trace in agent.traces():
            for span in trace.spans:
                if any(link.trace_id == low for link in span.links) and trace.entries(
                    "event-log", "com.acougue.category.created"
                ):
                    return trace, span
        return None

    replay, linking = wait_for(linked, timeout=60, interval=0.5)
    assert replay.trace_id != low  # a new trace
    assert linking.service == "dead-letter"
    assert linking.resource == "POST /api/dead-letters/{dead_letter_id:uuid}/replay"
    failed_again = replay.entries("event-log", "com.acougue.category.created")[0]
    assert failed_again.meta["cloudevents.event_id"] == event_id
    assert failed_again.meta["acougue.outcome"] == "rejected:400"
    # The link points at the dead-letter sink's span, in the trace the event failed in.
    (link,) = [link for link in linking.links if link.trace_id == low]
    original = next(t for t in agent.traces() if t.trace_id == low)
    target = original.by_id(link.span_id)
    assert target is not None
    assert target.service == "dead-letter"
    assert original.full_id == f"{origin_trace:032x}"
    assert original.entries("event-log", "com.acougue.category.created")
