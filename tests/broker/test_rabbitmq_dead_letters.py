"""What RabbitMQ dead-letters on its own reaches the dead-letter sink, as in eventing-rabbitmq;
and queues of an older layout (no dead-letter exchange) are declared again, messages kept.

A message RabbitMQ gives up on — a reject or nack without requeue, a quorum queue's delivery
limit, an expiry — leaves its queue through the queue's dead-letter exchange, or nowhere. The
tests reject one from a Trigger queue while no broker consumes it (deterministic: nobody else
can take it first), then start the broker, whose dead-letter dispatcher must deliver it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage

from tests.broker.harness import (
    TRACEPARENT,
    Recorder,
    delete_layout,
    new_id,
    running_broker,
    unique_prefix,
)
from tests.broker.specs import SUBSCRIBER, delivery, topology, trigger
from tooling.broker.envelope import Envelope
from tooling.broker.rabbitmq_codec import to_message
from tooling.broker.rabbitmq_layout import (
    QUORUM,
    Layout,
    MigrationRefused,
    binding_arguments,
    declare,
    holding_queue,
    migrate,
)
from tooling.broker.settings import BrokerSettings
from tooling.broker.wiring import Route, wire
from tooling.manifests import Topology

HELD = "test.held"
TOPOLOGY = topology(
    [
        trigger("held", {"type": HELD}),  # the Broker's dead-letter sink, /dls
        trigger("own", {"type": "test.own"}, delivery=delivery(sink="/own-dls")),  # its own sink
        trigger("all"),
    ],
    delivery(),
)
NO_SINK = topology([trigger("held", {"type": HELD})], delivery(sink=None))


def _layout(amqp_url: str, recorder: Recorder, prefix: str, topology: Topology) -> Layout:
    settings = BrokerSettings(
        amqp_url=amqp_url, service_urls={SUBSCRIBER: recorder.url}, resource_prefix=prefix
    )
    return Layout(prefix, wire(settings, topology))


def _route(layout: Layout, name: str) -> Route:
    [route] = [r for r in layout.wiring.routes if r.trigger == name]
    return route


def _event(event_type: str, event_id: str | None = None) -> Envelope:
    attributes = {
        "specversion": "1.0",
        "id": event_id or new_id(),
        "source": "/acougue/complete-sale",
        "type": event_type,
        "actor": "u-1",
        "datacontenttype": "application/json",
    }
    return Envelope(attributes, b'{"kg":"1.250"}', {"traceparent": TRACEPARENT})


@asynccontextmanager
async def _laid_out(amqp_url: str, layout: Layout) -> AsyncIterator[AbstractConnection]:
    """A plain connection to RabbitMQ; the layout's queues and exchanges are deleted after."""
    try:
        async with await aio_pika.connect(amqp_url) as connection:
            yield connection
    finally:
        await delete_layout(amqp_url, layout)


async def _reject(channel: AbstractChannel, queue: str, event_id: str) -> None:
    """Take the event from `queue` and reject it without requeue: RabbitMQ dead-letters it."""
    message = await (await channel.declare_queue(queue, passive=True)).get(fail=False)
    assert message is not None
    assert message.message_id == event_id
    await message.reject(requeue=False)


async def _queued(connection: AbstractConnection, queue: str) -> int:
    async with await connection.channel() as channel:
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0


@pytest.mark.parametrize(
    ("name", "sink", "other_sink"), [("held", "/dls", "/own-dls"), ("own", "/own-dls", "/dls")]
)
async def test_a_message_rabbitmq_dead_letters_reaches_the_dead_letter_sink_intact(
    amqp_url: str, recorder: Recorder, name: str, sink: str, other_sink: str
) -> None:
    """Into the Broker's sink, or the Trigger's own when it has one (its Policy wins upstream)."""
    prefix = unique_prefix()
    layout = _layout(amqp_url, recorder, prefix, TOPOLOGY)
    event = _event(f"test.{name}")
    async with _laid_out(amqp_url, layout) as connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await declare(channel, layout)
        await exchange.publish(to_message(event), routing_key="")
        await _reject(channel, layout.trigger_queue(_route(layout, name)), event.id)
        # The copy on the unfiltered Trigger is not touched: only the rejected one moves.
        assert await _queued(connection, layout.trigger_queue(_route(layout, "all"))) == 1
        async with running_broker(TOPOLOGY, recorder, amqp_url, resource_prefix=prefix):
            [dead] = await recorder.wait_for(sink, 1, within=5)
            await recorder.wait_for("/all", 1)
    assert recorder.on(f"/{name}") == []  # the subscriber never saw it
    assert recorder.on(other_sink) == []
    assert dead.body == b'{"kg":"1.250"}'
    assert dead.headers["content-type"] == "application/json"
    ce = {k[3:]: v for k, v in dead.headers.items() if k.startswith("ce-")}
    # The event as published; RabbitMQ's x-death headers are no attributes, and RabbitMQ adds
    # no knativeerror* extensions (eventing-rabbitmq's dead-letter dispatcher sends the same).
    assert ce == {k: v for k, v in event.attributes.items() if k != "datacontenttype"}


async def test_without_a_dead_letter_sink_a_trigger_queue_has_no_dead_letter_exchange(
    amqp_url: str, recorder: Recorder
) -> None:
    layout = _layout(amqp_url, recorder, unique_prefix(), NO_SINK)
    assert layout.trigger_queue_arguments(_route(layout, "held")) == QUORUM
    assert layout.exchanges() == [layout.exchange]


async def test_a_queue_of_the_older_layout_is_declared_again_with_its_messages_in_order(
    amqp_url: str, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    """An upgrade in place: the Trigger queue exists without a dead-letter exchange (RabbitMQ
    refuses to add one) and holds events; the broker declares it again, delivers them in
    order, and from then on what RabbitMQ dead-letters there reaches the sink."""
    prefix = unique_prefix()
    layout = _layout(amqp_url, recorder, prefix, TOPOLOGY)
    held = _route(layout, "held")
    events = [_event(HELD, f"old-{n}") for n in range(3)]
    async with _laid_out(amqp_url, layout) as connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            layout.exchange, aio_pika.ExchangeType.HEADERS, durable=True
        )
        old = await channel.declare_queue(
            layout.trigger_queue(held), durable=True, arguments=QUORUM
        )
        await old.bind(exchange, arguments=binding_arguments(held))
        for event in events:
            await exchange.publish(to_message(event), routing_key="")
        with caplog.at_level(logging.WARNING, logger="acougue.broker"):
            async with running_broker(TOPOLOGY, recorder, amqp_url, resource_prefix=prefix):
                delivered = await recorder.wait_for("/held", 3)
                assert not await _exists(connection, holding_queue(layout.trigger_queue(held)))
                # Declared again with the Broker's dead-letter exchange, which RabbitMQ enforces.
                probe = await connection.channel()
                with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed):
                    await probe.declare_queue(
                        layout.trigger_queue(held), durable=True, arguments=QUORUM
                    )
        assert "declared with other arguments" in caplog.text
        assert [d.headers["ce-id"] for d in delivered] == ["old-0", "old-1", "old-2"]


async def test_a_migration_cut_short_resumes_in_order(amqp_url: str, recorder: Recorder) -> None:
    """A crash left the older messages in the holding queue and a newer one in the old
    queue: the next start puts all three back, oldest first; a second run has nothing to do."""
    layout = _layout(amqp_url, recorder, unique_prefix(), TOPOLOGY)
    queue = layout.trigger_queue(_route(layout, "held"))
    async with _laid_out(amqp_url, layout) as connection:
        channel = await connection.channel(publisher_confirms=True)
        for name, put in ((holding_queue(queue), ["1", "2"]), (queue, ["3"])):
            await channel.declare_queue(name, durable=True, arguments=QUORUM)
            for event_id in put:
                await channel.default_exchange.publish(
                    to_message(_event(HELD, event_id)), routing_key=name
                )
        assert await migrate(connection, layout) == [queue]
        assert await migrate(connection, layout) == []
        assert not await _exists(connection, holding_queue(queue))
        moved = await channel.declare_queue(queue, passive=True)
        taken = []
        while (message := await moved.get(fail=False)) is not None:
            await message.ack()
            taken.append((message.message_id, message.headers["actor"]))
    assert taken == [("1", "u-1"), ("2", "u-1"), ("3", "u-1")]


async def test_a_queue_another_broker_still_consumes_is_not_migrated(
    amqp_url: str, recorder: Recorder
) -> None:
    layout = _layout(amqp_url, recorder, unique_prefix(), TOPOLOGY)
    queue = layout.trigger_queue(_route(layout, "held"))
    async with _laid_out(amqp_url, layout) as connection:
        channel = await connection.channel()
        old = await channel.declare_queue(queue, durable=True, arguments=QUORUM)
        await old.consume(_ack)
        async with await aio_pika.connect(amqp_url) as other:
            with pytest.raises(MigrationRefused, match="still read it"):
                await migrate(other, layout)
        assert not await _exists(connection, holding_queue(queue))


async def _ack(message: AbstractIncomingMessage) -> None:
    await message.ack()


async def _exists(connection: AbstractConnection, queue: str) -> bool:
    channel = await connection.channel()
    try:
        await channel.declare_queue(queue, passive=True)
    except aio_pika.exceptions.ChannelNotFoundEntity:
        return False
    await channel.close()
    return True
