"""The ingress over real HTTP, on both backends: what goes in, what subscribers receive."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.broker.harness import TRACEPARENT, Recorder, binary_headers, new_id, running_broker
from tests.broker.specs import NAMESPACE, SALE_COMPLETED, sales_topology, trigger

TOPOLOGY = sales_topology(trigger("mine", {"type": SALE_COMPLETED, "actor": "u-1"}))


async def test_a_binary_event_is_delivered_in_binary_mode_with_its_trace(
    amqp: str | None, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    event_id = new_id()
    headers = {
        **binary_headers(event_id, actor="u-1", subject="sale-9"),
        "traceparent": TRACEPARENT,
        "tracestate": "dd=s:1",
    }
    async with running_broker(TOPOLOGY, recorder, amqp) as broker:
        answer = await client.post(broker.url, headers=headers, content=b'{"total_cents":1250}')
        assert (answer.status_code, answer.content) == (202, b"")
        [got] = await recorder.wait_for("/all", 1)
    assert got.body == b'{"total_cents":1250}'
    assert {name: got.headers.get(name) for name in headers} == headers
    assert "ce-traceparent" not in got.headers


async def test_a_structured_event_is_delivered_in_binary_mode(
    amqp: str | None, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    event = {
        "specversion": "1.0",
        "id": new_id(),
        "source": "/acougue/complete-sale",
        "type": SALE_COMPLETED,
        "subject": "sale-9",
        "time": "2025-05-01T12:00:00Z",
        "actor": "u-1",
        "data": {"total_cents": 1250, "items": ["picanha"]},
    }
    async with running_broker(TOPOLOGY, recorder, amqp) as broker:
        answer = await client.post(
            broker.url,
            content=json.dumps(event),
            headers={"content-type": "application/cloudevents+json", "traceparent": TRACEPARENT},
        )
        assert answer.status_code == 202
        [got] = await recorder.wait_for("/mine", 1)
    assert json.loads(got.body) == event["data"]
    assert got.headers["content-type"] == "application/json"
    for name in ("id", "source", "type", "subject", "time", "actor"):
        assert got.headers[f"ce-{name}"] == event[name]
    assert got.headers["ce-specversion"] == "1.0"
    assert got.headers["traceparent"] == TRACEPARENT


async def test_an_invalid_event_gets_a_400_problem(
    amqp: str | None, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    no_type = {k: v for k, v in binary_headers(new_id()).items() if k != "ce-type"}
    async with running_broker(TOPOLOGY, recorder, amqp) as broker:
        answers = [
            await client.post(broker.url, headers=no_type, content=b"{}"),
            await client.post(
                broker.url, headers={"content-type": "application/cloudevents+json"}, content=b"{"
            ),
            await client.post(broker.url, content=b""),
        ]
        await asyncio.sleep(0.2)
    for answer in answers:
        assert answer.status_code == 400
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["status"] == 400
        assert problem["title"] == "Bad Request"
        assert problem["type"]
        assert problem["detail"].startswith("not a valid CloudEvent")
    assert recorder.received == []


async def test_the_knative_ingress_path_is_accepted_and_other_brokers_are_404(
    amqp: str | None, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    async with running_broker(TOPOLOGY, recorder, amqp) as broker:
        ours = await client.post(
            f"{broker.url}/{NAMESPACE}/default", headers=binary_headers(new_id()), content=b"{}"
        )
        other = await client.post(
            f"{broker.url}/{NAMESPACE}/other", headers=binary_headers(new_id()), content=b"{}"
        )
        elsewhere = await client.post(
            f"{broker.url}/a/b/c", headers=binary_headers(new_id()), content=b"{}"
        )
        await recorder.wait_for("/all", 1)
    assert ours.status_code == 202
    assert other.status_code == 404
    assert other.json()["detail"] == f"no Broker {NAMESPACE}/other here"
    assert elsewhere.status_code == 404
    assert elsewhere.headers["content-type"] == "application/problem+json"


async def test_filters_deliver_exact_matches_only_and_unfiltered_gets_all(
    amqp: str | None, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    events = [
        binary_headers("e-1", SALE_COMPLETED, actor="u-1"),
        binary_headers("e-2", SALE_COMPLETED, actor="u-2"),
        binary_headers("e-3", "com.acougue.Sale.Completed", actor="u-1"),
        binary_headers("e-4", "com.acougue.sale.completed.v2", actor="u-1"),
        binary_headers("e-5", "com.acougue.payment.approved"),
    ]
    async with running_broker(TOPOLOGY, recorder, amqp) as broker:
        for headers in events:
            assert (
                await client.post(broker.url, headers=headers, content=b"{}")
            ).status_code == 202
        await recorder.wait_for("/all", 5)
        await recorder.wait_for("/sales", 2)
        await recorder.wait_for("/mine", 1)
        await asyncio.sleep(0.3)
    assert sorted(r.headers["ce-id"] for r in recorder.on("/all")) == [
        "e-1",
        "e-2",
        "e-3",
        "e-4",
        "e-5",
    ]
    assert sorted(r.headers["ce-id"] for r in recorder.on("/sales")) == ["e-1", "e-2"]
    assert [r.headers["ce-id"] for r in recorder.on("/mine")] == ["e-1"]


async def test_parallelism_one_keeps_publish_order(
    amqp: str | None, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    ids = [f"e-{n:02d}" for n in range(30)]
    async with running_broker(TOPOLOGY, recorder, amqp) as broker:
        for event_id in ids:
            await client.post(broker.url, headers=binary_headers(event_id), content=b"{}")
        received = await recorder.wait_for("/sales", len(ids))
    assert [r.headers["ce-id"] for r in received] == ids


async def test_health_and_readiness(
    amqp: str | None, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    async with running_broker(TOPOLOGY, recorder, amqp) as broker:
        health = await client.get(f"{broker.url}/healthz")
        ready = await client.get(f"{broker.url}/readyz")
    assert health.status_code == 200
    assert ready.status_code == 200
    assert ready.json()["backend"] == ("rabbitmq" if amqp else "memory")
