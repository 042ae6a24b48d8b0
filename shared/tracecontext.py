"""W3C trace context of the work in progress, so that events written now carry it.

The HTTP and CloudEvent entrypoints set it from the incoming `traceparent`/`tracestate`
headers; the outbox stores it with each event and the publisher sends it on, so a later
sweep still continues the same trace. When the tracer is on (`shared.tracing`), `current()`
answers the context of the active span instead, so an event carries the span that wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


@dataclass(frozen=True)
class TraceContext:
    traceparent: str
    tracestate: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {"traceparent": self.traceparent}
        if self.tracestate:
            headers["tracestate"] = self.tracestate
        return headers


_current: ContextVar[TraceContext | None] = ContextVar("acougue_trace_context", default=None)
# Set by shared.tracing when the tracer is on: the W3C context of the active span.
_from_tracer: Callable[[], TraceContext | None] | None = None


def from_headers(headers: Mapping[str, str]) -> TraceContext | None:
    traceparent = headers.get("traceparent", "").strip().lower()
    if not _TRACEPARENT.match(traceparent) or traceparent.startswith("ff"):
        return None
    return TraceContext(traceparent, headers.get("tracestate") or None)


def set_current(context: TraceContext | None) -> None:
    _current.set(context)


def current() -> TraceContext | None:
    if _from_tracer is not None:
        active = _from_tracer()
        if active is not None:
            return active
    return _current.get()


def use_tracer(source: Callable[[], TraceContext | None] | None) -> None:
    """Let the tracer answer `current()` (None: back to the headers of the request)."""
    global _from_tracer
    _from_tracer = source
