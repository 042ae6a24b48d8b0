"""A subscriber with its own inbox key, for a second function of the finance schema that
takes an event post-ledger-entry takes too (inventory.movement.registered).

The inbox is one table per schema keyed by the event's (source, id): two functions of one
schema sharing it would each find the other's row and skip the event as a duplicate, so
either the ledger's posting or the bill would be lost. This one records (consumer + source,
id) instead: each function applies each event once, independently of the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.db import inbox
from shared.events.envelope import Envelope
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber


def inbox_source(consumer: str, event: Envelope) -> str:
    return f"{consumer} {event.source}"


class OwnInboxSubscriber(Subscriber):
    """`Subscriber`, its inbox rows keyed by `consumer` as well."""

    def __init__(self, runtime: Runtime, handlers: Iterable[On[Any]], *, consumer: str) -> None:
        super().__init__(runtime, handlers)
        self.consumer = consumer

    async def apply(self, event: Envelope) -> bool:
        """Apply the event once for this consumer; False when it did before."""
        entry = self.handlers.get(event.type)
        payload = self.payload(event)
        async with await self.runtime.unit_of_work(actor=event.actor) as uow:
            first = await inbox.first_delivery(
                uow.conn,
                source=inbox_source(self.consumer, event),
                event_id=event.id,
                event_type=event.type,
            )
            if not first:
                return False
            if entry is not None:
                await entry.handler(uow, event, payload)
            await uow.commit()
        return True
