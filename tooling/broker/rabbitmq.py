"""The RabbitMQ backend: eventing-rabbitmq's ingress and dispatchers in one process.

The ingress publishes on its own connection with publisher confirms (202 after the
confirm). Dispatchers use another connection, like eventing-rabbitmq's separate dispatcher
pods: one channel per Trigger, prefetch 100, manual ack, `parallelism` workers; a message is
acked only after the subscriber's 2xx, or after its dead letter is confirmed by the
dead-letter exchange. That order is this broker's one departure from eventing-rabbitmq,
which acks before republishing and can lose the event if it dies in between.

Every Trigger queue with a dead-letter sink dead-letters into the sink's exchange, as
eventing-rabbitmq's policies make it (`rabbitmq_layout`): what RabbitMQ itself gives up on
(a delivery limit, a reject without requeue) reaches the dead-letter dispatcher too. At
start, before the ingress takes events, queues declared with other arguments by an older
layout are declared again with their messages kept (`rabbitmq_layout.migrate`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit, urlunsplit

import aio_pika
from aio_pika import ExchangeType
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
    ConsumerTag,
)
from aio_pika.exceptions import CONNECTION_EXCEPTIONS

from shared import tracecontext, tracing
from tooling.broker.backend import BackendUnavailable
from tooling.broker.delivery import Sender
from tooling.broker.dispatch import dispatch_dead_letter, dispatch_to_trigger
from tooling.broker.envelope import Envelope
from tooling.broker.logs import logger
from tooling.broker.rabbitmq_codec import MalformedMessage, from_message, to_message
from tooling.broker.rabbitmq_layout import Layout, declare, migrate
from tooling.broker.settings import BrokerSettings
from tooling.broker.wiring import DeadLetterRoute, Route, Wiring
from tooling.broker.workers import WorkerPool

PREFETCH = 100  # eventing-rabbitmq's dispatcher prefetch (raised to parallelism if larger)
_AMQP_FAILURES = (*CONNECTION_EXCEPTIONS, TimeoutError)

_Handler = Callable[[AbstractIncomingMessage], Awaitable[None]]


def redacted(url: str) -> str:
    """The URL without its password, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":******@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass
class _Consumer:
    queue: AbstractQueue
    tag: ConsumerTag
    pool: WorkerPool[AbstractIncomingMessage]


class RabbitMQBackend:
    def __init__(self, settings: BrokerSettings, wiring: Wiring, sender: Sender) -> None:
        if not settings.amqp_url:
            raise ValueError("the RabbitMQ backend needs AMQP_URL")
        self._url = settings.amqp_url
        self._settings = settings
        self._sender = sender
        self.layout = Layout(settings.resource_prefix, wiring)
        self.publisher_connection: AbstractRobustConnection | None = None
        self.dispatcher_connection: AbstractRobustConnection | None = None
        self._exchange: AbstractExchange | None = None
        self._consumers: list[_Consumer] = []
        self._running = False

    @property
    def ready(self) -> bool:
        return (
            self._running
            and _connected(self.publisher_connection)
            and _connected(self.dispatcher_connection)
        )

    async def start(self) -> None:
        self.publisher_connection = await self._connect("acougue-broker-ingress")
        await self._migrate()
        channel = await self.publisher_connection.channel(publisher_confirms=True)
        self._exchange = await declare(channel, self.layout)
        self.dispatcher_connection = await self._connect("acougue-broker-dispatcher")
        for route in self.layout.wiring.routes:
            await self._consume_trigger(route)
        for dead_letter in self.layout.wiring.dead_letters:
            await self._consume_dead_letters(dead_letter)
        self._running = True
        logger.info(
            "rabbitmq broker %s/%s started: exchange %s, %d trigger queue(s)",
            self.layout.wiring.namespace,
            self.layout.wiring.broker,
            self.layout.exchange,
            len(self.layout.wiring.routes),
        )

    async def stop(self) -> None:
        """Stop consuming, let in-flight deliveries finish (or leave them unacked), disconnect."""
        self._running = False
        for consumer in self._consumers:
            try:
                await consumer.queue.cancel(consumer.tag)
            except _AMQP_FAILURES as exc:
                logger.warning("could not cancel consumer on %s: %s", consumer.queue.name, exc)
        await asyncio.gather(*(c.pool.stop(self._settings.shutdown_grace) for c in self._consumers))
        self._consumers = []
        for connection in (self.dispatcher_connection, self.publisher_connection):
            if connection is not None:
                await connection.close()

    async def publish(self, envelope: Envelope) -> None:
        if self._exchange is None or not _connected(self.publisher_connection):
            raise BackendUnavailable("not connected to RabbitMQ")
        try:
            # The AMQP headers carry this span's context, as eventing-rabbitmq's ingress does.
            with tracing.span(
                "amqp.publish",
                resource=self.layout.exchange,
                kind="producer",
                tags={"messaging.system": "rabbitmq", "cloudevents.event_type": envelope.type},
            ):
                carried = tracecontext.current() if tracing.enabled() else None
                if carried is not None:
                    envelope = replace(envelope, trace=carried.headers())
                await self._exchange.publish(
                    to_message(envelope),
                    routing_key="",
                    mandatory=False,
                    timeout=self._settings.publish_timeout,
                )
        except _AMQP_FAILURES as exc:
            raise BackendUnavailable(
                f"RabbitMQ did not confirm the event: {type(exc).__name__}: {exc}"
            ) from exc

    async def _migrate(self) -> None:
        """Bring queues of an older layout to this one, on a plain connection of its own (a
        robust channel would declare the holding queues again after a reconnect)."""
        try:
            connection = await aio_pika.connect(
                self._url,
                client_properties={"connection_name": "acougue-broker-layout"},
                timeout=self._settings.connect_timeout,
            )
        except _AMQP_FAILURES as exc:
            raise BackendUnavailable(
                f"RabbitMQ at {redacted(self._url)} is unreachable: {type(exc).__name__}: {exc}"
            ) from exc
        async with connection:
            await migrate(connection, self.layout)

    async def _connect(self, name: str) -> AbstractRobustConnection:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.connect_timeout
        while True:
            try:
                return await aio_pika.connect_robust(
                    self._url,
                    client_properties={"connection_name": name},
                    timeout=self._settings.connect_timeout,
                )
            except _AMQP_FAILURES as exc:
                if loop.time() >= deadline:
                    raise BackendUnavailable(
                        f"RabbitMQ at {redacted(self._url)} is unreachable: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                logger.warning(
                    "RabbitMQ at %s not reachable yet (%s); retrying", redacted(self._url), exc
                )
                await asyncio.sleep(1.0)

    async def _dispatcher_channel(self, parallelism: int) -> AbstractChannel:
        assert self.dispatcher_connection is not None
        channel = await self.dispatcher_connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=max(PREFETCH, parallelism))
        return channel

    async def _consume(
        self, channel: AbstractChannel, queue_name: str, pool: WorkerPool[AbstractIncomingMessage]
    ) -> None:
        arguments = self.layout.queue_arguments()[queue_name]
        queue = await channel.declare_queue(queue_name, durable=True, arguments=arguments)
        pool.start()
        tag = await queue.consume(pool.queue.put, no_ack=False)
        self._consumers.append(_Consumer(queue, tag, pool))

    async def _consume_trigger(self, route: Route) -> None:
        channel = await self._dispatcher_channel(route.parallelism)
        dead_letter_exchange: AbstractExchange | None = None
        if route.dead_letter is not None:
            dead_letter_exchange = await channel.declare_exchange(
                self.layout.dead_letter_exchange(route.dead_letter),
                ExchangeType.HEADERS,
                durable=True,
            )
        pool = WorkerPool[AbstractIncomingMessage](
            f"trigger:{route.trigger}",
            route.parallelism,
            self._trigger_handler(route, dead_letter_exchange),
        )
        await self._consume(channel, self.layout.trigger_queue(route), pool)

    async def _consume_dead_letters(self, route: DeadLetterRoute) -> None:
        channel = await self._dispatcher_channel(1)
        pool = WorkerPool[AbstractIncomingMessage](
            f"dlq:{route.scope}/{route.name}", 1, self._dead_letter_handler(route)
        )
        await self._consume(channel, self.layout.dead_letter_queue(route), pool)

    def _trigger_handler(
        self, route: Route, dead_letter_exchange: AbstractExchange | None
    ) -> _Handler:
        async def handle(message: AbstractIncomingMessage) -> None:
            envelope = await _envelope_or_drop(message, route.trigger)
            if envelope is None:
                return
            try:
                dead_letter = await dispatch_to_trigger(self._sender, route, envelope)
                if dead_letter is not None and dead_letter_exchange is not None:
                    await dead_letter_exchange.publish(
                        to_message(dead_letter),
                        routing_key="",
                        mandatory=False,
                        timeout=self._settings.publish_timeout,
                    )
            except Exception as exc:
                logger.error(
                    "event %s of trigger %s not settled (%s: %s); it goes back on its queue",
                    envelope.id,
                    route.trigger,
                    type(exc).__name__,
                    exc,
                    extra={"event_id": envelope.id, "trigger": route.trigger},
                )
                await self._requeue_later(message)
                return
            await _settle(message.ack(), message, "ack")

        return handle

    def _dead_letter_handler(self, route: DeadLetterRoute) -> _Handler:
        async def handle(message: AbstractIncomingMessage) -> None:
            envelope = await _envelope_or_drop(message, f"dead-letter:{route.scope}/{route.name}")
            if envelope is None:
                return
            try:
                delivered = await dispatch_dead_letter(self._sender, route, envelope)
            except Exception:
                logger.exception(
                    "dead letter %s not settled; it goes back on its queue", envelope.id
                )
                delivered = False
            if delivered:
                await _settle(message.ack(), message, "ack")
            else:
                await self._requeue_later(message)

        return handle

    async def _requeue_later(self, message: AbstractIncomingMessage) -> None:
        """Put a message back after a pause, so a failing sink is not hammered in a loop."""
        await asyncio.sleep(self._settings.dead_letter_pause)
        await _settle(message.nack(requeue=True), message, "nack")


def _connected(connection: AbstractRobustConnection | None) -> bool:
    return connection is not None and not connection.is_closed and connection.connected.is_set()


async def _settle(action: Awaitable[None], message: AbstractIncomingMessage, verb: str) -> None:
    """Ack or nack; if the channel is gone RabbitMQ has already requeued the message."""
    try:
        await action
    except _AMQP_FAILURES as exc:
        logger.warning(
            "could not %s message %s (%s: %s); RabbitMQ redelivers it",
            verb,
            message.message_id,
            type(exc).__name__,
            exc,
        )


async def _envelope_or_drop(message: AbstractIncomingMessage, label: str) -> Envelope | None:
    """The message as an event; one that is none is acked and logged (as eventing-rabbitmq)."""
    try:
        return from_message(message)
    except MalformedMessage as exc:
        logger.error("dropping a message on %s that is not a CloudEvent: %s", label, exc)
        await _settle(message.ack(), message, "ack")
        return None
