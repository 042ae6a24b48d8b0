"""The transactional outbox: events are rows until the broker has them.

`add` writes an event in the caller's transaction (optionally not to be published before
a delay: a scheduled event). `relay` publishes what is unpublished and due: right after a
commit, by the function that wrote them, for the aggregates just touched; and for
everything, by the outbox relay (`functions/relay`), the one function a PingSource wakes,
which sweeps every domain's outbox table with a role that may read and mark those rows and
nothing else. Concurrent relays never reorder one aggregate's events: a relay takes only
the *oldest* unpublished event of an aggregate (FOR UPDATE SKIP LOCKED) and then publishes
that aggregate's events in order while holding it, so another relay skips the aggregate.
A failed publish backs off that aggregate (exponentially, capped) without blocking others.

Each row keeps the W3C trace context of the span that wrote it; its publish is a
`cloudevents.publish` span in that trace, whenever it happens (`shared.tracing`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from psycopg import sql
from psycopg.types.json import Jsonb

from shared import tracecontext, tracing
from shared.db.pool import Conn, LazyPool, untraced
from shared.events.envelope import Envelope
from shared.metrics import metrics
from shared.publisher import Publisher, PublishError
from shared.tracecontext import TraceContext

log = logging.getLogger("acougue.outbox")

MAX_BACKOFF = timedelta(minutes=5)

# One round trip: the oldest due unpublished event of an aggregate that no other relay
# holds (FOR UPDATE SKIP LOCKED), then every unpublished event of that aggregate, locked,
# in order.
_NEXT_AGGREGATE = """
WITH head AS (
  SELECT o.aggregate_id FROM {outbox} o
  WHERE o.published_at IS NULL AND o.next_attempt_at <= now()
    AND (%(aggregates)s::text[] IS NULL OR o.aggregate_id = ANY(%(aggregates)s::text[]))
    AND NOT EXISTS (
      SELECT 1 FROM {outbox} p
      WHERE p.aggregate_id = o.aggregate_id AND p.published_at IS NULL AND p.id < o.id)
  ORDER BY o.id
  LIMIT 1
  FOR UPDATE OF o SKIP LOCKED
)
SELECT r.id, r.aggregate_id, r.attributes, r.data, r.traceparent, r.tracestate, r.attempts,
       r.next_attempt_at <= now() AS due,
       extract(epoch FROM clock_timestamp() - r.created_at)::float8 AS age_seconds
FROM {outbox} r JOIN head ON r.aggregate_id = head.aggregate_id
WHERE r.published_at IS NULL
ORDER BY r.id
FOR UPDATE OF r
"""

_BACKLOG = """
SELECT count(*) AS backlog,
       coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8 AS oldest
FROM {outbox} WHERE published_at IS NULL AND next_attempt_at <= now()
"""
_FAILED = (
    "UPDATE {outbox} SET attempts = %s, next_attempt_at = now() + %s, last_error = %s WHERE id = %s"
)
_PUBLISHED = "UPDATE {outbox} SET published_at = now() WHERE id = ANY(%s)"
# The CloudEvents distributed-tracing extension: a stored event (a dead letter) may carry
# the context of the trace it came from. It is never sent on (Knative's broker drops it).
_ORIGIN_TRACE = ("traceparent", "tracestate")


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s ... capped at five minutes."""
    return min(timedelta(seconds=2 ** min(attempts - 1, 16)), MAX_BACKOFF)


@dataclass
class RelayResult:
    published: int = 0
    failed: int = 0


async def add(
    conn: Conn,
    envelope: Envelope,
    trace: TraceContext | None,
    *,
    aggregate: str | None = None,
    not_before: timedelta | None = None,
) -> None:
    """Write an event in the caller's transaction; `not_before` delays its publication."""
    envelope = _sent_again(envelope)
    tracing.entry_span().tag(tracing.business_tags(envelope.data))
    attributes = envelope.attributes()
    await untraced(conn).execute(  # bookkeeping: the publish is the event's span
        "INSERT INTO outbox (event_id, event_type, aggregate_id, attributes, data,"
        " traceparent, tracestate, next_attempt_at) VALUES (%s, %s, %s, %s, %s, %s, %s,"
        " now() + %s)",
        (
            envelope.id,
            envelope.type,
            aggregate or envelope.subject or envelope.id,
            Jsonb(attributes),
            Jsonb(envelope.data),
            trace.traceparent if trace else None,
            trace.tracestate if trace else None,
            not_before or timedelta(0),
        ),
    )


def _sent_again(envelope: Envelope) -> Envelope:
    """An event sent again (a dead-letter replay) starts anew, linked to its origin trace."""
    if "traceparent" not in envelope.extensions:
        return envelope
    origin = tracecontext.from_headers(envelope.extensions)
    if origin is not None:
        tracing.current_span().link(origin, {"acougue.link": "replay of a dead letter"})
    kept = {k: v for k, v in envelope.extensions.items() if k not in _ORIGIN_TRACE}
    return envelope.model_copy(update={"extensions": kept})


class Outbox:
    """One outbox table: the function's own (`outbox` on its search path), or, for the
    relay, a domain's (`schema`)."""

    def __init__(
        self,
        pool: LazyPool,
        publisher: Publisher | None,
        *,
        batch: int = 100,
        schema: str | None = None,
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._batch = batch
        self.schema = schema
        table = sql.Identifier(schema, "outbox") if schema else sql.Identifier("outbox")
        self._sql = {
            name: sql.SQL(text).format(outbox=table)
            for name, text in (
                ("next", _NEXT_AGGREGATE),
                ("backlog", _BACKLOG),
                ("failed", _FAILED),
                ("published", _PUBLISHED),
            )
        }

    async def relay(self, aggregates: list[str] | None = None) -> RelayResult:
        """Publish due events, aggregate by aggregate, in order; at most `batch` aggregates."""
        result = RelayResult()
        if self._publisher is None:
            log.warning("no K_SINK: events stay in the outbox until the relay can publish them")
            return result
        pool = await self._pool.get()
        handled: set[str] = set()
        for _ in range(self._batch):
            async with pool.connection() as traced, traced.transaction():
                conn = untraced(traced)  # bookkeeping: each publish is the span
                rows = await (
                    await conn.execute(self._sql["next"], {"aggregates": aggregates})
                ).fetchall()
                if not rows:
                    break
                published: list[object] = []
                for row in rows:
                    # A scheduled event not yet due holds back what follows it.
                    if not row["due"] or not await self._publish_row(conn, row, result):
                        break
                    published.append(row["id"])
                if published:  # marked in the transaction that holds them, as one statement
                    await conn.execute(self._sql["published"], (published,))
                handled.add(str(rows[0]["aggregate_id"]))
            # After a commit: once each aggregate it wrote is done, there is nothing to look
            # for (another writer's events are its own to publish, or the sweep's).
            if aggregates is not None and handled.issuperset(aggregates):
                break
        if aggregates is None:  # a sweep: say how much is still waiting, and for how long
            async with pool.connection() as conn:
                backlog = await (await untraced(conn).execute(self._sql["backlog"])).fetchone()
            if backlog is not None:
                tags = {"domain": self.schema} if self.schema else None
                metrics().gauge("outbox.backlog", int(str(backlog["backlog"])), tags)
                metrics().gauge(
                    "outbox.oldest_unpublished_seconds", float(str(backlog["oldest"])), tags
                )
        return result

    async def _publish_row(self, conn: Conn, row: dict[str, object], result: RelayResult) -> bool:
        assert self._publisher is not None
        attributes = row["attributes"]
        assert isinstance(attributes, dict)
        envelope = Envelope.from_attributes(attributes, row["data"])
        trace = (
            TraceContext(str(row["traceparent"]), str(row["tracestate"] or "") or None)
            if row["traceparent"]
            else None
        )
        try:
            with tracing.span(
                tracing.PUBLISH_SPAN,
                resource=envelope.type,
                parent=trace,
                kind="producer",
                tags=tracing.event_tags(
                    envelope.type, envelope.id, envelope.source, envelope.subject, envelope.data
                ),
            ):
                await self._publisher.publish(envelope, trace)
        except PublishError as exc:
            metrics().increment("outbox.publish_failures", tags={"event_type": envelope.type})
            attempts = int(str(row["attempts"])) + 1
            await conn.execute(
                self._sql["failed"], (attempts, backoff(attempts), str(exc)[:500], row["id"])
            )
            log.warning("publish of %s failed (attempt %d): %s", envelope.id, attempts, exc)
            result.failed += 1
            return False
        metrics().event_published(envelope.type, envelope.data, float(str(row["age_seconds"])))
        result.published += 1
        return True
