"""Publishes CloudEvents to the broker's address (K_SINK), as Knative sources do."""

from __future__ import annotations

from collections.abc import Callable

from shared import event_http, tracing
from shared.events.envelope import Envelope
from shared.tracecontext import TraceContext


class PublishError(RuntimeError):
    """The broker did not take the event; it stays in the outbox for the sweep."""


class Publisher:
    """`token` (when the broker authenticates publishers) gives this function's bearer token.

    It posts with `shared.event_http`, the broker's own delivery client, rather than httpx: a
    publish is one binary-mode POST, and the publish span (`shared.db.outbox`) is its span,
    whose context the request carries (issue 16: httpx and its span were most of a
    publish's CPU)."""

    def __init__(
        self, sink: str, *, timeout: float = 5.0, token: Callable[[], str] | None = None
    ) -> None:
        self.sink = sink
        self._token = token
        self._timeout = timeout
        self._client = event_http.Client()

    async def publish(self, envelope: Envelope, trace: TraceContext | None = None) -> None:
        headers = envelope.binary_headers()
        if trace is not None:
            headers.update(trace.headers())
        if self._token is not None:
            headers["authorization"] = f"Bearer {self._token()}"
        tracing.inject(headers)  # with the tracer on: the publish span's context instead
        try:
            answer = await self._client.post(self.sink, headers, envelope.body(), self._timeout)
        except event_http.NoAnswer as exc:
            raise PublishError(f"broker unreachable: {exc}") from exc
        if not 200 <= answer.status < 300:
            text = answer.body[:200].decode("utf-8", errors="replace")
            raise PublishError(f"broker answered {answer.status}: {text}")

    async def aclose(self) -> None:
        await self._client.aclose()
