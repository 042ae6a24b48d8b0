"""What only the RabbitMQ backend promises: eventing-rabbitmq's layout, confirms, redelivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aio_pika
import httpx
import pytest
from aio_pika import DeliveryMode, ExchangeType
from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from aio_pika.exceptions import ChannelPreconditionFailed

from tests.broker.harness import (
    TRACEPARENT,
    Recorder,
    RunningBroker,
    binary_headers,
    new_id,
    running_broker,
)
from tests.broker.specs import NAMESPACE, sales_topology, trigger
from tooling.broker.app import create_app
from tooling.broker.rabbitmq import RabbitMQBackend
from tooling.broker.settings import BrokerSettings
from tooling.serving import free_port, serving

TOPOLOGY = sales_topology(trigger("slow", {"type": "test.slow"}))


def _backend(broker: RunningBroker) -> RabbitMQBackend:
    assert isinstance(broker.backend, RabbitMQBackend)
    return broker.backend


@asynccontextmanager
async def _connection(amqp_url: str) -> AsyncIterator[aio_pika.abc.AbstractConnection]:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        yield connection


async def _refused(
    connection: aio_pika.abc.AbstractConnection, declare: str, *args: object, **kwargs: object
) -> bool:
    """Whether redeclaring with other properties is refused (so the existing ones differ)."""
    channel: AbstractChannel = await connection.channel()
    try:
        await getattr(channel, declare)(*args, **kwargs)
    except ChannelPreconditionFailed:
        return True
    return False


async def _kill(connection: AbstractRobustConnection | None) -> None:
    """Drop a robust connection as a network failure would (aio-pika then reconnects)."""
    assert connection is not None
    assert connection.transport is not None
    await connection.transport.connection.close()


async def test_the_layout_is_eventing_rabbitmqs(amqp_url: str, recorder: Recorder) -> None:
    async with (
        running_broker(TOPOLOGY, recorder, amqp_url) as broker,
        _connection(amqp_url) as connection,
    ):
        layout = _backend(broker).layout
        prefix = broker.settings.resource_prefix
        assert layout.exchange == f"{prefix}b.{NAMESPACE}.default"
        assert sorted(layout.queues()) == sorted(
            [f"{prefix}t.{NAMESPACE}.{name}" for name in ("all", "sales", "slow")]
            + [f"{prefix}b.{NAMESPACE}.default.dlq"]
        )
        assert sorted(layout.exchanges()) == sorted(
            [layout.exchange, f"{prefix}b.{NAMESPACE}.default.dlx"]
        )
        for exchange in layout.exchanges():
            assert await _refused(
                connection, "declare_exchange", exchange, ExchangeType.FANOUT, durable=True
            )
            assert await _refused(
                connection, "declare_exchange", exchange, ExchangeType.HEADERS, durable=False
            )
            assert not await _refused(
                connection, "declare_exchange", exchange, ExchangeType.HEADERS, durable=True
            )
        dead_letter_exchange = f"{prefix}b.{NAMESPACE}.default.dlx"
        for queue, arguments in layout.queue_arguments().items():
            trigger_queue = queue.startswith(f"{prefix}t.")
            # Every Trigger queue dead-letters into the Broker's exchange (its Policy upstream).
            assert arguments == (
                {"x-queue-type": "quorum", "x-dead-letter-exchange": dead_letter_exchange}
                if trigger_queue
                else {"x-queue-type": "quorum"}
            )
            assert await _refused(
                connection,
                "declare_queue",
                queue,
                durable=True,
                arguments={**arguments, "x-queue-type": "classic"},
            )
            assert (
                await _refused(
                    connection,
                    "declare_queue",
                    queue,
                    durable=True,
                    arguments={"x-queue-type": "quorum"},
                )
                is trigger_queue
            )
            assert not await _refused(
                connection, "declare_queue", queue, durable=True, arguments=arguments
            )


async def test_messages_carry_unprefixed_attribute_headers_and_the_data_as_body(
    amqp_url: str, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    event_id = new_id()
    async with (
        running_broker(TOPOLOGY, recorder, amqp_url) as broker,
        _connection(amqp_url) as connection,
    ):
        channel = await connection.channel()
        peek = await channel.declare_queue(exclusive=True)
        exchange = await channel.get_exchange(_backend(broker).layout.exchange)
        await peek.bind(exchange, arguments={"x-match": "all", "type": "test.peek", "actor": "u-1"})
        headers = {**binary_headers(event_id, "test.peek", actor="u-1"), "traceparent": TRACEPARENT}
        answer = await client.post(broker.url, headers=headers, content=b'{"kg":"1.250"}')
        assert answer.status_code == 202
        message = await peek.get(fail=False)  # already routed when 202 came back
        assert message is not None
        await message.ack()
    assert message.body == b'{"kg":"1.250"}'
    assert message.headers == {
        "specversion": "1.0",
        "id": event_id,
        "source": "/acougue/complete-sale",
        "type": "test.peek",
        "actor": "u-1",
        "datacontenttype": "application/json",
        "traceparent": TRACEPARENT,
    }
    assert message.content_type == "application/json"
    assert message.delivery_mode == DeliveryMode.PERSISTENT
    assert message.message_id == event_id


async def test_202_waits_for_the_publisher_confirm(
    amqp_url: str, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    """A queue that rejects publishes makes RabbitMQ nack: the ingress must not answer 202."""
    async with (
        running_broker(TOPOLOGY, recorder, amqp_url) as broker,
        _connection(amqp_url) as connection,
    ):
        channel = await connection.channel()
        full = await channel.declare_queue(
            exclusive=True, arguments={"x-max-length": 0, "x-overflow": "reject-publish"}
        )
        exchange = await channel.get_exchange(_backend(broker).layout.exchange)
        await full.bind(exchange, arguments={"x-match": "all", "type": "test.refused"})
        refused = await client.post(
            broker.url, headers=binary_headers(new_id(), "test.refused"), content=b"{}"
        )
        await full.delete(if_unused=False, if_empty=False)
        accepted = await client.post(
            broker.url, headers=binary_headers(new_id(), "test.refused"), content=b"{}"
        )
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert "did not confirm" in refused.json()["detail"]
    assert accepted.status_code == 202


async def test_a_message_unacked_when_the_dispatcher_connection_dies_is_redelivered(
    amqp_url: str, recorder: Recorder, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.script(
        "/slow", (200, 1.5)
    )  # the first delivery is still in flight when the link drops
    event_id = new_id()
    url = f"{amqp_url}?reconnect_interval=0.2"
    async with running_broker(TOPOLOGY, recorder, url) as broker:
        await client.post(broker.url, headers=binary_headers(event_id, "test.slow"), content=b"{}")
        await recorder.wait_for("/slow", 1)
        await _kill(_backend(broker).dispatcher_connection)
        deliveries = await recorder.wait_for("/slow", 2, within=10)
        await asyncio.sleep(1.8)  # the first delivery ends; its ack can no longer be sent
        assert len(recorder.on("/slow")) == 2
        async with _connection(amqp_url) as connection:
            queue = await (await connection.channel()).declare_queue(
                _backend(broker).layout.trigger_queue(broker.wiring.routes[2]), passive=True
            )
            assert queue.declaration_result.message_count == 0
    assert [d.headers["ce-id"] for d in deliveries] == [event_id, event_id]
    ours = [r for r in caplog.records if r.name == "acougue.broker"]  # aio-pika's may not format
    assert any("RabbitMQ redelivers it" in r.getMessage() for r in ours)


async def test_the_ingress_answers_503_while_rabbitmq_is_unreachable(
    amqp_url: str, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    url = f"{amqp_url}?reconnect_interval=30"
    async with running_broker(TOPOLOGY, recorder, url) as broker:
        assert (await client.get(f"{broker.url}/readyz")).status_code == 200
        await _kill(_backend(broker).publisher_connection)
        ready = await client.get(f"{broker.url}/readyz")
        answer = await client.post(broker.url, headers=binary_headers(new_id()), content=b"{}")
        health = await client.get(f"{broker.url}/healthz")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert answer.status_code == 503
    assert answer.json()["status"] == 503
    assert answer.headers["retry-after"] == "1"
    assert health.status_code == 200


async def test_start_up_fails_when_rabbitmq_cannot_be_reached(recorder: Recorder) -> None:
    settings = BrokerSettings(
        amqp_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/",
        connect_timeout=0.5,
        service_urls={"sub": recorder.url},
    )
    with pytest.raises(RuntimeError, match="exited during start-up"):
        async with serving(create_app(settings, TOPOLOGY)):
            pass
