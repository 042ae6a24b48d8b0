"""Datadog APM in every process: one sale is one trace, across functions and the broker.

`configure(service)` turns the tracer on, unless `DD_TRACE_ENABLED=false`. Every process
calls it once, through `shared.logs.configure_logging` (functions and gateway) or the
broker's `main`. It imports ddtrace only then, and patches only what the process uses
(Starlette, which functions-framework's ASGI app is; FastAPI for the gateway; httpx;
psycopg) rather than everything `ddtrace.auto` would: importing the tracer is the bulk of
a function's cold start (`bench/cold_start.py`). With no agent listening nothing breaks:
ddtrace's background writer drops what it cannot send.

Trace context crosses the broker as W3C `traceparent`/`tracestate` headers: the
entrypoints' server spans continue it (ddtrace's ASGI middleware extracts it), the outbox
stores the context of the span that wrote each event (`shared.tracecontext.current()` asks
this module), and `span(..., parent=stored)` publishes under that context, even from a
later sweep. Everything here is a no-op while the tracer is off, so callers never check.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from shared import tracecontext
from shared.tracecontext import TraceContext

if TYPE_CHECKING:
    from ddtrace.trace import Span, Tracer

# What the functions and the gateway use; ddtrace patches each only once (and if) it is
# imported. The broker adds its own spans around AMQP (ddtrace has no aio-pika integration).
DEFAULT_INTEGRATIONS = ("starlette", "fastapi", "httpx", "psycopg")
PUBLISH_SPAN = "cloudevents.publish"
DELIVER_SPAN = "cloudevents.deliver"
PROBE_ROUTES = frozenset({"/healthz", "/readyz"})
SWEEP_TAG = "acougue.sweep"
COLD_START_TAG = "acougue.cold_start"

# Settings a short-lived, scale-to-zero process is better without; the environment still
# wins over each of them.
_LEAN_DEFAULTS = {
    # No remote-configuration poller and no telemetry thread in every function.
    "DD_REMOTE_CONFIGURATION_ENABLED": "false",
    "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
    # W3C first: it is what crosses the broker (Knative keeps only traceparent/tracestate).
    "DD_TRACE_PROPAGATION_STYLE": "tracecontext,datadog",
}

# Payload fields that are safe and useful on a span. An allow-list on purpose: a payload
# may hold a PIX "copia e cola" (with the shop's PIX key) or free text.
_ID_FIELDS = {
    "sale_id": "acougue.sale_id",
    "payment_id": "acougue.payment_id",
    "product_id": "acougue.product_id",
    "entry_id": "acougue.entry_id",
}
_AMOUNT_FIELDS = ("total_cents", "amount_cents")
_METHOD_FIELDS = ("payment_method", "method")

_tracer: Tracer | None = None


def enabled() -> bool:
    return _tracer is not None


def wanted() -> bool:
    """Tracing is on unless DD_TRACE_ENABLED says otherwise (as ddtrace reads it)."""
    return os.environ.get("DD_TRACE_ENABLED", "true").strip().lower() not in ("false", "0", "no")


def configure(service: str, integrations: Iterable[str] = DEFAULT_INTEGRATIONS) -> bool:
    """Start the tracer for this process (idempotent); False when tracing is off."""
    global _tracer
    if _tracer is not None:
        return True
    if not wanted():
        return False
    os.environ.setdefault("DD_SERVICE", service)
    for name, value in _LEAN_DEFAULTS.items():
        os.environ.setdefault(name, value)
    from ddtrace import patch
    from ddtrace.trace import tracer

    patch(**dict.fromkeys(integrations, True))
    tracer.configure(trace_processors=[_noise_filter()])
    logging.getLogger("ddtrace.internal.writer.writer").addFilter(_AgentAbsent())
    _tracer = tracer
    tracecontext.use_tracer(_active_trace_context)
    return True


class _AgentAbsent(logging.Filter):
    """No agent listening is a normal local set-up: ddtrace's once-a-minute "failed to send,
    dropping N traces ... Network error" becomes a warning instead of an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and "Network error" in record.getMessage():
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _noise_filter() -> Any:
    """Drop traces that say nothing: health probes, and outbox sweeps that published nothing."""
    from ddtrace.trace import TraceFilter

    class DropNoise(TraceFilter):
        def process_trace(self, trace: list[Span]) -> list[Span] | None:
            ids = {span.span_id for span in trace}
            roots = [span for span in trace if span.parent_id not in ids]
            if roots and all(_is_noise(root, trace) for root in roots):
                return None
            return trace

    return DropNoise()


def _is_noise(root: Span, trace: list[Span]) -> bool:
    if root.get_tag(COLD_START_TAG) == "true":
        return False
    if root.get_tag("http.route") in PROBE_ROUTES:
        return True
    if root.get_tag(SWEEP_TAG) == "true":
        return not any(span.name == PUBLISH_SPAN for span in trace)
    return False


def _active_trace_context() -> TraceContext | None:
    """The W3C context of the active span (None without one), as it would be sent on."""
    if _tracer is None:
        return None
    span = _tracer.current_span()
    if span is None:
        return None
    headers: dict[str, str] = {}
    _propagator().inject(span, headers)
    return tracecontext.from_headers(headers)


def _propagator() -> Any:
    from ddtrace.propagation.http import HTTPPropagator

    return HTTPPropagator


def log_context() -> dict[str, str]:
    """`dd.*` fields of a log line: the ids of the span it is written in.

    With the tracer off, the trace id of the request's W3C context still correlates lines
    of one trace (there is no span of this process to name).
    """
    if _tracer is not None:
        found = _tracer.get_log_correlation_context()  # Datadog's own format of the ids
        if found.get("dd.span_id", "0") == "0":
            return {}
        return {"dd.trace_id": found["dd.trace_id"], "dd.span_id": found["dd.span_id"]}
    context = tracecontext.current()
    if context is None:
        return {}
    return {"dd.trace_id": context.traceparent.split("-")[1]}


class SpanHandle:
    """A span, or nothing when the tracer is off: tags and errors are then dropped."""

    __slots__ = ("span",)

    def __init__(self, span: Span | None) -> None:
        self.span = span

    def tag(self, tags: Mapping[str, object]) -> None:
        if self.span is None:
            return
        for key, value in tags.items():
            if value is None:
                continue
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.span.set_metric(key, value)
            else:
                self.span.set_tag(key, str(value))

    def error(self, kind: str, message: str) -> None:
        if self.span is not None:
            self.span.error = 1
            self.span.set_tag("error.type", kind)
            self.span.set_tag("error.message", message)

    def set_resource(self, resource: str) -> None:
        if self.span is not None:
            self.span.resource = resource

    def link(self, origin: TraceContext, attributes: Mapping[str, str]) -> None:
        """A span link to another trace (a replayed dead letter links to where it failed)."""
        if self.span is None:
            return
        context = _propagator().extract(origin.headers())
        if context.trace_id and context.span_id:
            self.span.link_span(context, dict(attributes))


def entry_span() -> SpanHandle:
    """The request's server span of this process (the local root), to tag or rename."""
    return SpanHandle(_tracer.current_root_span() if _tracer is not None else None)


def current_span() -> SpanHandle:
    return SpanHandle(_tracer.current_span() if _tracer is not None else None)


@contextmanager
def span(
    name: str,
    *,
    resource: str | None = None,
    parent: TraceContext | None = None,
    kind: str | None = None,
    service: str | None = None,
    tags: Mapping[str, object] | None = None,
) -> Iterator[SpanHandle]:
    """A span around a block: a child of the active span, or of `parent` when given.

    With `parent` (a stored or carried W3C context) the block runs in that trace, whatever
    trace the process is in now (a sweep publishing what an earlier request wrote), and
    the active span is restored afterwards.
    """
    if _tracer is None:
        yield SpanHandle(None)
        return
    tracer = _tracer
    previous = tracer.context_provider.active()
    if parent is not None:
        remote = _propagator().extract(parent.headers())
        current = tracer.start_span(
            name, child_of=remote, service=service, resource=resource, activate=True
        )
    else:
        current = tracer.trace(name, service=service, resource=resource)
    handle = SpanHandle(current)
    if kind:
        current.set_tag("span.kind", kind)
    if tags:
        handle.tag(tags)
    try:
        yield handle
    except BaseException as exc:
        current.set_exc_info(type(exc), exc, exc.__traceback__)
        raise
    finally:
        current.finish()
        if parent is not None:
            tracer.context_provider.activate(previous)


def inject(headers: dict[str, str]) -> None:
    """Write the active span's context into outgoing headers (W3C and Datadog styles)."""
    if _tracer is None:
        return
    active = _tracer.current_span()
    if active is not None:
        _propagator().inject(active, headers)


def event_tags(
    event_type: str, event_id: str, source: str, subject: str | None, data: object
) -> dict[str, object]:
    """CloudEvent attributes (OpenTelemetry's `cloudevents.*` names) and business tags."""
    tags: dict[str, object] = {
        "cloudevents.event_type": event_type,
        "cloudevents.event_id": event_id,
        "cloudevents.event_source": source,
        "cloudevents.event_subject": subject,
    }
    tags.update(business_tags(data))
    return tags


def business_tags(data: object) -> dict[str, object]:
    """Ids, amount and payment method of a payload; never anything else."""
    if not isinstance(data, Mapping):
        return {}
    tags: dict[str, object] = {}
    for field, tag in _ID_FIELDS.items():
        value = data.get(field)
        if isinstance(value, str):
            tags[tag] = value
    for field in _AMOUNT_FIELDS:
        value = data.get(field)
        if isinstance(value, int) and not isinstance(value, bool):
            tags["acougue.amount_cents"] = value
            break
    payment = data.get("payment")
    methods = [data.get(f) for f in _METHOD_FIELDS]
    if isinstance(payment, Mapping):
        methods.append(payment.get("method"))
    method = next((m for m in methods if isinstance(m, str)), None)
    if method is not None:
        tags["acougue.payment_method"] = method
    return tags
