"""What the ingress needs from a backend: take an event durably enough, or say it cannot."""

from __future__ import annotations

from typing import Protocol

from tooling.broker.envelope import Envelope


class BackendUnavailable(RuntimeError):
    """The backend cannot take the event now (the ingress answers 503; the publisher retries)."""


class Backend(Protocol):
    @property
    def ready(self) -> bool:
        """True while events can be accepted and dispatched."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, envelope: Envelope) -> None:
        """Return only once the backend holds the event; raise `BackendUnavailable` otherwise."""
        ...
