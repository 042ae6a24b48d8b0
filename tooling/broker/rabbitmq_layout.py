"""RabbitMQ exchanges, queues and bindings as eventing-rabbitmq declares them for a Broker.

- one durable `headers` exchange per Broker;
- one durable quorum queue per Trigger, bound with the Trigger's filter attributes plus
  `x-match: all` (`pkg/rabbit/binding.go` `NewBinding`; an `x-` argument such as
  `x-knative-trigger` names the binding and is ignored by the match);
- a durable headers dead-letter exchange and quorum dead-letter queue per sink owner (the
  Broker, or a Trigger with its own `deadLetterSink`), bound with `x-match: all`;
- every Trigger queue whose events have a dead-letter sink dead-letters into that sink's
  exchange, so a message RabbitMQ itself gives up on (a quorum queue's delivery limit, a
  reject or nack without requeue, an expired message) reaches the sink instead of vanishing.

Dead-lettering in eventing-rabbitmq, read from github.com/knative-extensions/eventing-rabbitmq
at tag knative-v1.22.1 (what it does, where, and → what this layout does):

- Trigger queue: `<ns>.<trigger>.<broker UID>`, durable, of the RabbitmqBrokerConfig's
  `queueType` (quorum), declared with no arguments at all (`pkg/rabbit/queue.go` `NewQueue`,
  `pkg/rabbitmqnaming/naming.go` `CreateTriggerQueueRabbitName`)
  → `<prefix>t.<ns>.<trigger>`, quorum.
- The Broker's dead letters, only when the Broker has a `deadLetterSink`: headers exchange
  `b.<ns>.<broker>.dlx.<UID>`, queue `b.<ns>.<broker>.dlq.<UID>` bound with `x-match: all`,
  `x-knative-dlq: <broker>` (`pkg/reconciler/broker/broker.go` `reconcileDeadLetterResources`)
  → `<prefix>b.<ns>.<broker>.dlx` and `.dlq`, the same binding.
- Which queues dead-letter there: a RabbitMQ Policy of priority 0, pattern `<broker UID>$`,
  apply-to `queues`, definition `{"dead-letter-exchange": <Broker DLX>}`, so every Trigger
  queue of the Broker (`pkg/rabbit/queue.go` `NewBrokerDLXPolicy`, created by `broker.go`)
  → the queue argument `x-dead-letter-exchange: <Broker DLX>` on every Trigger queue.
- A Trigger with its own `deadLetterSink`: exchange `t.<ns>.<trigger>.dlx.<UID>`, queue
  `t.<ns>.<trigger>.dlq.<UID>` bound with `x-match: all`, and a Policy of priority 1, pattern
  `^<its queue>$`, `{"dead-letter-exchange": <Trigger DLX>}`, which beats the Broker's
  (`queue.go` `NewPolicy`, `pkg/reconciler/trigger/trigger.go` `ReconcileKind`)
  → `x-dead-letter-exchange: <Trigger DLX>` on that Trigger's queue.
- No `deadLetterSink` at all: no exchange, no policy, so what RabbitMQ dead-letters is
  dropped (`broker.go` `deadLetterEnabled`) → no argument.
- The dead-letter queue itself: no policy of its own; `<UID>$` misses
  `b.acougue-system.default.dlq.…` because `kmeta.ChildName` hashes a name longer than 63
  characters and keeps 2 characters of the UID (`vendor/knative.dev/pkg/kmeta/names.go`)
  → no argument.
- Delivery limit, TTL: none set, so RabbitMQ's defaults apply (a quorum queue's delivery
  limit is 20 since RabbitMQ 4.0, unlimited before) → none set.
- A message RabbitMQ dead-letters keeps the event's headers as they were (no
  `knativeerrordest`/`knativeerrorcode`: only the dispatcher adds those) plus RabbitMQ's
  `x-death` and `x-first-death-*`, which the dead-letter dispatcher skips as `x-` headers
  (`pkg/rabbit/message.go` `ReadBinary`) → `rabbitmq_codec.from_message` skips them too.
- The dead-letter dispatcher POSTs the event to the sink with the delivery's retries and
  acks whatever the answer (`pkg/dispatcher/dispatcher.go` `dispatchDLQ`) → this broker
  keeps a dead letter the sink refuses and tries again later.

eventing-rabbitmq sets the dead-letter exchange by policy because the messaging-topology
operator applies policies through RabbitMQ's management API, and a policy can change on a
live queue. Locally only AMQP is assumed (the management plugin is off on a plain install),
so the exchange is a queue argument, which RabbitMQ never lets change on an existing queue
(PRECONDITION_FAILED). `migrate` handles that: a queue found declared with other arguments
(one from before this layout had them, or a Trigger whose dead-letter sink changed) has its
messages moved, in order, to a holding queue, is deleted and declared again, and gets them
back. It runs before the ingress takes events, and refuses while another broker consumes
the queue.

Names carry the settings' resource prefix so that tests can run isolated and clean up.
"""

from __future__ import annotations

from dataclasses import dataclass

from aio_pika import ExchangeType
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractQueue
from aio_pika.exceptions import ChannelNotFoundEntity, ChannelPreconditionFailed
from pamqp.common import FieldTable

from tooling.broker.logs import logger
from tooling.broker.rabbitmq_codec import copy_of
from tooling.broker.wiring import DeadLetterRoute, Route, Wiring

QUORUM: FieldTable = {"x-queue-type": "quorum"}
DEAD_LETTER_EXCHANGE = "x-dead-letter-exchange"


class MigrationRefused(RuntimeError):
    """A queue to declare again is still consumed by someone else (another broker)."""


@dataclass(frozen=True)
class Layout:
    prefix: str
    wiring: Wiring

    @property
    def exchange(self) -> str:
        return f"{self.prefix}b.{self.wiring.namespace}.{self.wiring.broker}"

    def trigger_queue(self, route: Route) -> str:
        return f"{self.prefix}t.{self.wiring.namespace}.{route.trigger}"

    def trigger_queue_arguments(self, route: Route) -> FieldTable:
        """Quorum, dead-lettering into the exchange of the Trigger's sink when it has one."""
        arguments: FieldTable = dict(QUORUM)
        if route.dead_letter is not None:
            arguments[DEAD_LETTER_EXCHANGE] = self.dead_letter_exchange(route.dead_letter)
        return arguments

    def _dead_letter_base(self, route: DeadLetterRoute) -> str:
        kind = "b" if route.scope == "broker" else "t"
        return f"{self.prefix}{kind}.{self.wiring.namespace}.{route.name}"

    def dead_letter_exchange(self, route: DeadLetterRoute) -> str:
        return f"{self._dead_letter_base(route)}.dlx"

    def dead_letter_queue(self, route: DeadLetterRoute) -> str:
        return f"{self._dead_letter_base(route)}.dlq"

    def exchanges(self) -> list[str]:
        return [self.exchange, *(self.dead_letter_exchange(d) for d in self.wiring.dead_letters)]

    def queues(self) -> list[str]:
        return list(self.queue_arguments())

    def queue_arguments(self) -> dict[str, FieldTable]:
        """Every queue of the layout with the arguments it is declared with."""
        return {
            **{self.trigger_queue(r): self.trigger_queue_arguments(r) for r in self.wiring.routes},
            **{self.dead_letter_queue(d): dict(QUORUM) for d in self.wiring.dead_letters},
        }


def holding_queue(queue: str) -> str:
    """Where `migrate` keeps a queue's messages meanwhile (':' is in no Kubernetes name)."""
    return f"{queue}:migrating"


def binding_arguments(route: Route) -> FieldTable:
    arguments: FieldTable = dict(route.filter)
    arguments.update({"x-match": "all", "x-knative-trigger": route.trigger})
    return arguments


async def declare(channel: AbstractChannel, layout: Layout) -> AbstractExchange:
    """Declare everything (idempotent; after `migrate`); return the Broker's exchange."""
    exchange = await channel.declare_exchange(layout.exchange, ExchangeType.HEADERS, durable=True)
    for dead_letter in layout.wiring.dead_letters:  # before any queue dead-letters into one
        dlx = await channel.declare_exchange(
            layout.dead_letter_exchange(dead_letter), ExchangeType.HEADERS, durable=True
        )
        dlq = await channel.declare_queue(
            layout.dead_letter_queue(dead_letter), durable=True, arguments=QUORUM
        )
        await dlq.bind(
            dlx, routing_key="", arguments={"x-match": "all", "x-knative-dlq": dead_letter.name}
        )
    for route in layout.wiring.routes:
        queue = await channel.declare_queue(
            layout.trigger_queue(route),
            durable=True,
            arguments=layout.trigger_queue_arguments(route),
        )
        await queue.bind(exchange, routing_key="", arguments=binding_arguments(route))
    return exchange


async def migrate(connection: AbstractConnection, layout: Layout) -> list[str]:
    """Declare again, messages kept in order, every queue declared with other arguments.

    Call it on a plain (not robust) connection before `declare`, while nothing publishes to
    the Broker's exchange; it is safe to run again after a crash half-way. Returns the
    queues it declared again.
    """
    migrated = []
    for name, arguments in layout.queue_arguments().items():
        if await _migrate_queue(connection, name, arguments):
            migrated.append(name)
    return migrated


async def _migrate_queue(connection: AbstractConnection, name: str, arguments: FieldTable) -> bool:
    holding = holding_queue(name)
    migrated = False
    if not await _declares(connection, name, arguments):
        async with await connection.channel(publisher_confirms=True) as channel:
            old = await channel.declare_queue(name, passive=True)
            consumers = old.declaration_result.consumer_count
            if consumers:
                raise MigrationRefused(
                    f"queue {name} must be declared again with arguments {arguments}, but "
                    f"{consumers} consumer(s) still read it: stop the broker they belong to"
                )
            await channel.declare_queue(holding, durable=True, arguments=QUORUM)
            moved = await _move(channel, old, holding)
            await channel.queue_delete(name)
            await channel.declare_queue(name, durable=True, arguments=arguments)
        logger.warning(
            "queue %s was declared with other arguments; declared again with %s, "
            "its %d message(s) kept",
            name,
            arguments,
            moved,
        )
        migrated = True
    if await _exists(connection, holding):  # this run's, or one a crash left behind
        async with await connection.channel(publisher_confirms=True) as channel:
            kept = await channel.declare_queue(holding, passive=True)
            await _move(channel, kept, name)
            await channel.queue_delete(holding)
        migrated = True
    return migrated


async def _declares(connection: AbstractConnection, name: str, arguments: FieldTable) -> bool:
    """Declare the queue; False when it exists with other arguments (RabbitMQ refuses)."""
    channel = await connection.channel()
    try:
        await channel.declare_queue(name, durable=True, arguments=arguments)
    except ChannelPreconditionFailed:
        return False
    finally:
        await channel.close()
    return True


async def _exists(connection: AbstractConnection, name: str) -> bool:
    channel = await connection.channel()
    try:
        await channel.declare_queue(name, passive=True)
    except ChannelNotFoundEntity:
        return False
    finally:
        await channel.close()
    return True


async def _move(channel: AbstractChannel, source: AbstractQueue, target: str) -> int:
    """Move every ready message, oldest first: each is confirmed on `target`, then acked."""
    moved = 0
    while (message := await source.get(no_ack=False, fail=False)) is not None:
        await channel.default_exchange.publish(copy_of(message), routing_key=target, mandatory=True)
        await message.ack()
        moved += 1
    return moved


async def delete(channel: AbstractChannel, layout: Layout) -> None:
    """Remove every queue and exchange of the layout (tests, or retiring a prefix)."""
    for queue in layout.queues():
        await channel.queue_delete(queue)
        await channel.queue_delete(holding_queue(queue))
    for exchange in layout.exchanges():
        await channel.exchange_delete(exchange)
