"""Sweeps every domain's outbox: publishes what a crash, a broker outage or a schedule
left unpublished, with the guarantees of `shared.db.outbox` (order per aggregate, backoff,
the writer's trace context).

The relay's database role may read each domain's `outbox` and mark its rows (published,
attempts, next attempt, last error) and nothing else (`shared.db.migrations`). Which
outboxes it sweeps is what that role was granted: a domain added later is swept once the
migrations grant it, with no setting to keep in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.db.outbox import Outbox, RelayResult
from shared.db.pool import LazyPool
from shared.publisher import Publisher

# Outbox tables this role may read and mark: has_column_privilege sees column grants,
# which has_table_privilege('UPDATE') does not.
_OUTBOXES = """
SELECT n.nspname AS schema
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = 'outbox' AND c.relkind IN ('r', 'p')
  AND has_table_privilege(c.oid, 'SELECT')
  AND has_column_privilege(c.oid, 'published_at', 'UPDATE')
ORDER BY 1
"""


@dataclass
class SweepResult:
    by_domain: dict[str, RelayResult] = field(default_factory=dict)

    @property
    def published(self) -> int:
        return sum(r.published for r in self.by_domain.values())

    @property
    def failed(self) -> int:
        return sum(r.failed for r in self.by_domain.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "published": self.published,
            "failed": self.failed,
            "domains": {
                d: {"published": r.published, "failed": r.failed}
                for d, r in sorted(self.by_domain.items())
            },
        }


class Relay:
    def __init__(self, pool: LazyPool, publisher: Publisher, *, batch: int = 100) -> None:
        self._pool = pool
        self._publisher = publisher
        self._batch = batch
        self._outboxes: dict[str, Outbox] = {}

    async def outboxes(self) -> list[str]:
        """The domains (schemas) whose outbox this role may sweep."""
        pool = await self._pool.get()
        async with pool.connection() as conn:
            rows = await (await conn.execute(_OUTBOXES)).fetchall()
        return [str(row["schema"]) for row in rows]

    async def sweep(self) -> SweepResult:
        """One pass over every outbox; one domain's broken publish never stops the others."""
        result = SweepResult()
        for schema in await self.outboxes():
            outbox = self._outboxes.get(schema)
            if outbox is None:
                outbox = Outbox(self._pool, self._publisher, batch=self._batch, schema=schema)
                self._outboxes[schema] = outbox
            result.by_domain[schema] = await outbox.relay()
        return result
