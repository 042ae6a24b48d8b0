"""RabbitMQ exchanges, queues and bindings as eventing-rabbitmq declares them for a Broker.

- one durable `headers` exchange per Broker;
- one durable quorum queue per Trigger, bound with the Trigger's filter attributes plus
  `x-match: all` (`pkg/rabbit/binding.go` `NewBinding`; an `x-` argument such as
  `x-knative-trigger` names the binding and is ignored by the match);
- a durable headers dead-letter exchange and quorum dead-letter queue per sink owner (the
  Broker, or a Trigger with its own `deadLetterSink`), bound with `x-match: all`.

Names carry the settings' resource prefix so that tests can run isolated and clean up.
"""

from __future__ import annotations

from dataclasses import dataclass

from aio_pika import ExchangeType
from aio_pika.abc import AbstractChannel, AbstractExchange
from pamqp.common import FieldTable

from tooling.broker.wiring import DeadLetterRoute, Route, Wiring

QUORUM: FieldTable = {"x-queue-type": "quorum"}


@dataclass(frozen=True)
class Layout:
    prefix: str
    wiring: Wiring

    @property
    def exchange(self) -> str:
        return f"{self.prefix}b.{self.wiring.namespace}.{self.wiring.broker}"

    def trigger_queue(self, route: Route) -> str:
        return f"{self.prefix}t.{self.wiring.namespace}.{route.trigger}"

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
        return [
            *(self.trigger_queue(r) for r in self.wiring.routes),
            *(self.dead_letter_queue(d) for d in self.wiring.dead_letters),
        ]


def binding_arguments(route: Route) -> FieldTable:
    arguments: FieldTable = dict(route.filter)
    arguments.update({"x-match": "all", "x-knative-trigger": route.trigger})
    return arguments


async def declare(channel: AbstractChannel, layout: Layout) -> AbstractExchange:
    """Declare everything (idempotent); return the Broker's exchange for the ingress."""
    exchange = await channel.declare_exchange(layout.exchange, ExchangeType.HEADERS, durable=True)
    for route in layout.wiring.routes:
        queue = await channel.declare_queue(
            layout.trigger_queue(route), durable=True, arguments=QUORUM
        )
        await queue.bind(exchange, routing_key="", arguments=binding_arguments(route))
    for dead_letter in layout.wiring.dead_letters:
        dlx = await channel.declare_exchange(
            layout.dead_letter_exchange(dead_letter), ExchangeType.HEADERS, durable=True
        )
        dlq = await channel.declare_queue(
            layout.dead_letter_queue(dead_letter), durable=True, arguments=QUORUM
        )
        await dlq.bind(
            dlx, routing_key="", arguments={"x-match": "all", "x-knative-dlq": dead_letter.name}
        )
    return exchange


async def delete(channel: AbstractChannel, layout: Layout) -> None:
    """Remove every queue and exchange of the layout (tests, or retiring a prefix)."""
    for queue in layout.queues():
        await channel.queue_delete(queue)
    for exchange in layout.exchanges():
        await channel.exchange_delete(exchange)
