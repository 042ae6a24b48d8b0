"""Publishes CloudEvents to the broker's address (K_SINK), as Knative sources do."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from shared import httpclients, tracing
from shared.events.envelope import Envelope
from shared.tracecontext import TraceContext

httpclients.remember_missing_sniffio()


class PublishError(RuntimeError):
    """The broker did not take the event; it stays in the outbox for the sweep."""


class Publisher:
    """`token` (when the broker authenticates publishers) gives this function's bearer token."""

    def __init__(
        self, sink: str, *, timeout: float = 5.0, token: Callable[[], str] | None = None
    ) -> None:
        self.sink = sink
        self._token = token
        self._client = httpx.AsyncClient(timeout=timeout)

    async def publish(self, envelope: Envelope, trace: TraceContext | None = None) -> None:
        headers = envelope.binary_headers()
        if trace is not None:
            headers.update(trace.headers())
        if self._token is not None:
            headers["authorization"] = f"Bearer {self._token()}"
        tracing.inject(headers)  # with the tracer on: the publish span's context instead
        try:
            response = await self._client.post(self.sink, content=envelope.body(), headers=headers)
        except httpx.HTTPError as exc:
            raise PublishError(f"broker unreachable: {exc.__class__.__name__}: {exc}") from exc
        if not response.is_success:
            raise PublishError(f"broker answered {response.status_code}: {response.text[:200]}")

    async def aclose(self) -> None:
        await self._client.aclose()
