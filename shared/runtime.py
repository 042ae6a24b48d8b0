"""What one function process holds: settings, pool, outbox relay, token verifier."""

from __future__ import annotations

from shared.auth.tokens import RemoteJwks, TokenVerifier
from shared.config import FunctionSettings
from shared.db.outbox import Outbox
from shared.db.pool import LazyPool
from shared.db.uow import UnitOfWork
from shared.publisher import Publisher


class Runtime:
    def __init__(self, settings: FunctionSettings) -> None:
        self.settings = settings
        self.pool = LazyPool(settings)
        self.publisher = (
            Publisher(settings.k_sink, timeout=settings.publish_timeout_seconds)
            if settings.k_sink
            else None
        )
        self.outbox = Outbox(self.pool, self.publisher, batch=settings.outbox_batch)
        self.verifier = TokenVerifier(
            RemoteJwks(settings.auth_jwks_url),
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
        )

    async def unit_of_work(self, actor: str | None = None) -> UnitOfWork:
        return UnitOfWork(
            await self.pool.get(),
            self.outbox,
            source=self.settings.source,
            actor=actor,
            chaos_exit_after_commit=self.settings.chaos,
        )

    async def ready(self) -> bool:
        """The readiness probe: can this function reach its schema now?"""
        pool = await self.pool.get()
        async with pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")
        return True
