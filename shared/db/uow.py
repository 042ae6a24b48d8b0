"""The unit of work: one transaction that rolls back unless the command commits it.

Events emitted inside it are outbox rows of the same transaction, so the change and the
news of it commit or vanish together. After a commit the unit publishes them at once;
whatever that misses (a crash, a broker outage) the outbox relay publishes later.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

from psycopg_pool import AsyncConnectionPool

from shared import tracecontext
from shared.db import inbox, outbox
from shared.db.pool import Conn, untraced
from shared.events import ownership
from shared.events.envelope import Envelope, new_envelope
from shared.events.registry import Payload, type_of

log = logging.getLogger("acougue.uow")


class OwnershipError(RuntimeError):
    """A function emitted an event type it does not own."""


class UnitOfWork:
    conn: Conn

    def __init__(
        self,
        pool: AsyncConnectionPool[Conn],
        relay: outbox.Outbox,
        *,
        source: str,
        actor: str | None = None,
    ) -> None:
        self._pool = pool
        self._relay = relay
        self.source = source
        self.actor = actor
        self._committed = False
        self._aggregates: list[str] = []

    async def __aenter__(self) -> Self:
        self._lease = self._pool.connection()
        self.conn = await self._lease.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                await untraced(self.conn).rollback()
        finally:
            await self._lease.__aexit__(exc_type, exc, tb)
        if self._committed and self._aggregates and exc is None:
            self.after_commit()
            try:
                await self._relay.relay(self._aggregates)
            except Exception:
                # Committed is committed: the relay publishes what this could not.
                log.warning("publish after commit failed; left to the relay", exc_info=True)

    @staticmethod
    def after_commit() -> None:
        """Between a commit and its publish: nothing. The fault suite's injection
        (tests/faults/inject, never in an image) replaces it to crash right here."""

    async def commit(self) -> None:
        await untraced(self.conn).commit()
        self._committed = True

    async def emit(
        self,
        payload: Payload,
        *,
        subject: str,
        aggregate: str | None = None,
        not_before: timedelta | None = None,
        time: datetime | None = None,
    ) -> Envelope:
        """Write an event to the outbox in this transaction; it is published after commit.

        Events of one `aggregate` (default: the subject) are published in the order they
        were written. `not_before` schedules the event: the relay publishes it once due.
        `time` is the event's CloudEvents time when it happened before now (an imported
        record keeps its original time; consumers date their effects by it).
        """
        type_ = type_of(type(payload))
        refusal = ownership.source_refusal(type_, self.source)
        if refusal is not None:  # the broker would refuse it: a wiring mistake, found in tests
            raise OwnershipError(f"{refusal} (shared.events.ownership)")
        envelope = new_envelope(
            type_=type_,
            source=self.source,
            subject=subject,
            data=payload.model_dump(mode="json"),
            actor=self.actor,
            time=time,
        )
        key = aggregate or subject
        await outbox.add(
            self.conn, envelope, tracecontext.current(), aggregate=key, not_before=not_before
        )
        if not_before is None and key not in self._aggregates:
            self._aggregates.append(key)
        return envelope

    async def republish(self, envelope: Envelope, *, aggregate: str) -> None:
        """Publish an existing event again (a dead-letter replay), same id and source."""
        await outbox.add(self.conn, envelope, tracecontext.current(), aggregate=aggregate)
        if aggregate not in self._aggregates:
            self._aggregates.append(aggregate)

    async def first_delivery(self, event: Envelope) -> bool:
        """Record an incoming event in the inbox; False if this domain applied it already."""
        return await inbox.first_delivery(
            self.conn, source=event.source, event_id=event.id, event_type=event.type
        )
