"""What one function process holds: settings, pool, outbox relay, token verifiers."""

from __future__ import annotations

from shared.auth.tokens import RemoteJwks, TokenVerifier, load_private_key
from shared.config import EventTrustSettings, FunctionSettings
from shared.db.outbox import Outbox
from shared.db.pool import LazyPool
from shared.db.uow import UnitOfWork
from shared.events import identity
from shared.publisher import Publisher


def event_verifier(settings: EventTrustSettings, function: str) -> identity.TokenVerifier | None:
    """Checks that a delivery is the broker's, for this function's audience (None: off)."""
    if settings.event_authentication == "off" or settings.event_jwks_url is None:
        return None
    return identity.TokenVerifier(
        RemoteJwks(settings.event_jwks_url),
        audience=identity.service_audience(settings.event_namespace, function),
        issuer=settings.event_issuer,
    )


def publish_token(settings: EventTrustSettings, function: str) -> identity.PublishToken | None:
    """The token this function shows the broker's ingress (None: off)."""
    path = settings.event_identity_key_file
    if settings.event_authentication == "off" or path is None:
        return None
    return identity.PublishToken(
        load_private_key(path.read_text()),
        subject=identity.service_account(settings.event_namespace, function),
        audience=identity.broker_audience(settings.event_namespace, settings.event_broker),
    )


class Runtime:
    def __init__(self, settings: FunctionSettings) -> None:
        self.settings = settings
        self.pool = LazyPool(settings)
        self.publisher = (
            Publisher(
                settings.k_sink,
                timeout=settings.publish_timeout_seconds,
                token=publish_token(settings, settings.function_name),
            )
            if settings.k_sink
            else None
        )
        self.outbox = Outbox(self.pool, self.publisher, batch=settings.outbox_batch)
        self.verifier = TokenVerifier(
            RemoteJwks(settings.auth_jwks_url),
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
        )
        self.event_verifier = event_verifier(settings, settings.function_name)

    async def unit_of_work(self, actor: str | None = None) -> UnitOfWork:
        return UnitOfWork(
            await self.pool.get(),
            self.outbox,
            source=self.settings.source,
            actor=actor,
        )

    async def ready(self) -> bool:
        """The readiness probe: can this function reach its schema now?"""
        pool = await self.pool.get()
        async with pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")
        return True
