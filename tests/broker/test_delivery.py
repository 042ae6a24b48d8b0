"""Retries, backoff and dead letters on both backends, against a real subscriber."""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging

import httpx
import pytest

from tests.broker.harness import Received, Recorder, binary_headers, new_id, running_broker
from tests.broker.specs import delivery, topology, trigger
from tooling.manifests import Topology
from tooling.serving import free_port

FAIL, REJECT, SLOW = "test.fail", "test.reject", "test.slow"


def _topology(dead_letter_sink: str | None = "/dls") -> Topology:
    return topology(
        [
            trigger("fail", {"type": FAIL}),
            trigger("reject", {"type": REJECT}),
            trigger(
                "slow",
                {"type": SLOW},
                delivery=delivery(retry=1, delay=0.01, sink=dead_letter_sink, timeout=0.2),
            ),
        ],
        delivery(retry=2, delay=0.02, sink=dead_letter_sink),
    )


async def _dead_letter_of(
    client: httpx.AsyncClient, broker_url: str, recorder: Recorder, event_type: str
) -> Received:
    """Publish one event of `event_type` and wait for the dead letter it ends as."""
    await client.post(broker_url, headers=binary_headers(new_id(), event_type), content=b"{}")
    [dead] = await recorder.wait_for("/dls", 1)
    return dead


def _assert_dispatch_error(dead: Received, error: str) -> None:
    """No answer came (timeout, refused connection): Knative records it as a 500 with the
    client's error as the data."""
    assert dead.headers["ce-knativeerrorcode"] == "500"
    data = base64.b64decode(dead.headers["ce-knativeerrordata"])
    assert data.startswith(f"dispatch error: {error}".encode())


async def test_a_5xx_is_retried_with_exponential_backoff_then_dead_lettered(
    amqp: str | None, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    recorder.answer("/fail", 500)
    event_id = new_id()
    async with running_broker(_topology(), recorder, amqp) as broker:
        await client.post(
            broker.url, headers=binary_headers(event_id, FAIL, actor="u-1"), content=b'{"n":1}'
        )
        [dead] = await recorder.wait_for("/dls", 1)
        attempts = recorder.on("/fail")
    assert len(attempts) == 3  # the first attempt and retry: 2
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.04 * 0.9
    assert gaps[1] >= 0.08 * 0.9
    assert dead.headers["ce-id"] == event_id
    assert dead.headers["ce-actor"] == "u-1"
    assert dead.body == b'{"n":1}'
    assert dead.headers["ce-knativeerrordest"] == f"{recorder.url}/fail"
    assert dead.headers["ce-knativeerrorcode"] == "500"
    assert base64.b64decode(dead.headers["ce-knativeerrordata"]) == b"answer 500"


async def test_a_non_retryable_4xx_is_dead_lettered_at_once(
    amqp: str | None, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    recorder.answer("/reject", 400)
    async with running_broker(_topology(), recorder, amqp) as broker:
        dead = await _dead_letter_of(client, broker.url, recorder, REJECT)
        await asyncio.sleep(0.1)
    assert len(recorder.on("/reject")) == 1
    assert dead.headers["ce-knativeerrorcode"] == "400"


async def test_a_timeout_is_retried_and_recorded_as_500(
    amqp: str | None, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    recorder.answer("/slow", 200, delay=1.0)
    async with running_broker(_topology(), recorder, amqp) as broker:
        dead = await _dead_letter_of(client, broker.url, recorder, SLOW)
    assert len(recorder.on("/slow")) == 2
    _assert_dispatch_error(dead, "ReadTimeout")


async def test_an_unreachable_subscriber_is_retried_then_dead_lettered(
    amqp: str | None, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/gone"
    wiring = topology([trigger("gone", {"type": FAIL}, uri=nowhere)], delivery(retry=1, delay=0.01))
    async with running_broker(wiring, recorder, amqp) as broker:
        dead = await _dead_letter_of(client, broker.url, recorder, FAIL)
    assert dead.headers["ce-knativeerrordest"] == nowhere
    _assert_dispatch_error(dead, "ConnectError")


async def test_a_refusing_dead_letter_sink_never_loses_the_event(
    amqp: str | None, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    recorder.answer("/reject", 400)
    recorder.script(
        "/dls", (503, 0), (503, 0), (503, 0), (400, 0)
    )  # a whole round of 3, then one more
    event_id = new_id()
    async with running_broker(_topology(), recorder, amqp) as broker:
        await client.post(broker.url, headers=binary_headers(event_id, REJECT), content=b"{}")
        dead_letters = await recorder.wait_for("/dls", 5)
    assert {r.headers["ce-id"] for r in dead_letters} == {event_id}


async def test_without_a_dead_letter_sink_a_failed_event_is_logged_and_dropped(
    amqp: str | None,
    recorder: Recorder,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder.answer("/reject", 422)
    event_id = new_id()
    with caplog.at_level(logging.INFO, logger="acougue.broker"):
        async with running_broker(_topology(dead_letter_sink=None), recorder, amqp) as broker:
            await client.post(broker.url, headers=binary_headers(event_id, REJECT), content=b"{}")
            await recorder.wait_for("/reject", 1)
            await asyncio.sleep(0.2)
    errors = [r for r in _ours(caplog) if r.levelno == logging.ERROR and event_id in r.getMessage()]
    assert len(errors) == 1
    assert "no deadLetterSink" in errors[0].getMessage()
    assert getattr(errors[0], "event_id", None) == event_id
    outcomes = [
        r
        for r in _ours(caplog)
        if getattr(r, "event_id", None) == event_id and r.levelno == logging.WARNING
    ]
    assert [
        (getattr(r, "trigger", None), getattr(r, "status", None), getattr(r, "attempt", None))
        for r in outcomes
    ] == [("reject", 422, 1)]
    assert all(hasattr(r, "duration_ms") for r in outcomes)
    assert recorder.on("/dls") == []


def _ours(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The broker's records (aio-pika's may not even format: its callback repr can raise)."""
    return [r for r in caplog.records if r.name == "acougue.broker"]
