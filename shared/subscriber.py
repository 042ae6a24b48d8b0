"""CloudEvent subscribers: validate, apply once, answer so the broker knows what to do.

Functions are served with functions-framework's HTTP signature and parse the CloudEvent
here, because its CloudEvent signature answers only POST (no health probes), hides the
`traceparent` header and cannot answer a bad event with a problem body. The answers the
broker acts on:
- 2xx: applied, or a duplicate (the inbox had it): acknowledged, nothing changes.
- 401: no broker token for this function (Knative's OIDC answer); 403: the event's
  `source` does not own its `type` (`shared.events.ownership`); 413/415: too large, or not
  a CloudEvent's media type. All read before the body is parsed, none retried.
- 400: the event is not valid for this subscriber: dead-lettered at once, never retried.
- 422: a domain rule refused it (`shared.domain_errors.Refused`): dead-lettered with the
  reason, never retried.
- 409: not yet (`NotYet`): it follows an event not applied here yet; the broker retries it
  with backoff (409 is retryable in Knative's SelectiveRetry, `tooling/broker/policy.py`)
  and dead-letters it after the last retry.
- 5xx: could not apply now (database down...): the broker retries with backoff.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import psycopg
import psycopg_pool
from cloudevents.http import from_http
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shared import tracecontext, tracing
from shared.auth.tokens import KeysUnavailable
from shared.db import inbox
from shared.db.uow import UnitOfWork
from shared.domain_errors import NotYet, Refused
from shared.errors import Problem, delivery_problem, validation_problem
from shared.events import identity, ownership
from shared.events.envelope import Envelope
from shared.events.registry import Payload, payload_model, type_of
from shared.http import read_body
from shared.metrics import metrics
from shared.runtime import Runtime

log = logging.getLogger("acougue.subscriber")
EventHandler = Callable[[UnitOfWork, Envelope, Payload | None], Awaitable[None]]
P = TypeVar("P", bound=Payload)


@dataclass(frozen=True)
class On(Generic[P]):
    """One event this subscriber applies, keyed by its payload model: the CloudEvent type
    comes from the event registry, and the handler receives the payload already validated
    as that model (no string to mistype, no isinstance to repeat)."""

    model: type[P]
    handler: Callable[[UnitOfWork, Envelope, P], Awaitable[None]]

    @property
    def event_type(self) -> str:
        return type_of(self.model)

    @classmethod
    def applying(cls, model: type[P], apply: Callable[[UnitOfWork, P], Awaitable[object]]) -> On[P]:
        """For a service that needs the payload alone (most do), without an adapter."""

        async def handler(uow: UnitOfWork, event: Envelope, payload: P) -> None:
            await apply(uow, payload)

        return cls(model, handler)


# Knative sets it on every dead-letter delivery (and only there).
DEAD_LETTER_MARK = "knativeerrordest"
STRUCTURED = "application/cloudevents+json"
# Binary mode carries the data's own media type; every event of this shop is JSON.
BINARY_MEDIA = frozenset({"application/json"})
# Clocks of the shop's machines may disagree a little; an event from further ahead is forged.
MAX_CLOCK_SKEW = timedelta(minutes=5)


async def read_event_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 once it passes `limit` bytes (read no further) and with
    415 unless it is a CloudEvent's media type: binary mode (`ce-specversion` and JSON
    data) or structured mode (`application/cloudevents+json`). The cloudevents SDK alone
    takes a structured event sent as `text/plain`, which a web page can POST cross-origin
    without a preflight."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    binary = "ce-specversion" in request.headers
    if not ((binary and media in BINARY_MEDIA) or (not binary and media == STRUCTURED)):
        raise Problem(
            415, "Send a CloudEvent: binary mode with JSON data, or application/cloudevents+json."
        )
    return await read_body(request, limit)


def parse_cloud_event(headers: Mapping[str, str], body: bytes) -> Envelope:
    """Binary or structured mode into an Envelope; 400 when it is not a CloudEvent."""
    try:
        event = from_http(dict(headers), body)
        attributes: dict[str, Any] = dict(event.get_attributes())
        data = event.get_data()
    except Exception as exc:  # the SDK raises several unrelated types for bad input
        raise Problem(400, f"Not a valid CloudEvent: {exc}") from None
    if isinstance(data, bytes | bytearray):
        try:
            data = json.loads(data) if data else None
        except ValueError:
            raise Problem(400, "CloudEvent data is not JSON.") from None
    try:
        return Envelope.from_attributes(attributes, data)
    except ValidationError as exc:
        raise validation_problem(exc, status=400) from None


def inbox_source(event: Envelope, consumer: str | None) -> str:
    """The `source` the inbox records an event under: the event's own, or, for a function
    that names its `consumer`, `"<consumer> <source>"` (rows already written in that form
    stay valid: the format is fixed)."""
    return event.source if consumer is None else f"{consumer} {event.source}"


class Subscriber:
    """Applies the events its `On` entries name; `every_event` (the event log) takes any
    other event too, known types validated against their contract.

    The inbox is one table per schema keyed by the event's (source, id). Two functions of
    one schema that take the same event type would each find the other's row and skip the
    event as a duplicate; each of them but one names its own `consumer`, and its rows are
    keyed `"<consumer> <source>"`: each function applies each event once, on its own
    (tests/unit/test_manifests.py lists the event types shared within a domain)."""

    def __init__(
        self,
        runtime: Runtime,
        handlers: Iterable[On[Any]],
        *,
        every_event: EventHandler | None = None,
        consumer: str | None = None,
    ) -> None:
        if consumer is not None and (not consumer or consumer != consumer.strip()):
            raise ValueError(f"consumer {consumer!r}: a name, no surrounding blanks")
        self.runtime = runtime
        self.consumer = consumer
        self.handlers: dict[str, On[Any]] = {}
        for entry in handlers:
            if entry.event_type in self.handlers:
                raise ValueError(f"{entry.event_type} handled twice")
            self.handlers[entry.event_type] = entry
        self.every_event = every_event
        self.limit = runtime.settings.event_max_bytes

    async def authenticate(self, request: Request) -> None:
        """The broker's token for this function, checked before the body is read."""
        verifier = self.runtime.event_verifier
        if verifier is None:  # EVENT_AUTHENTICATION=off: the cluster's fences stand instead
            return
        try:
            await verifier.verify(identity.bearer(request.headers))
        except identity.Unauthenticated as exc:
            raise Problem(
                401,
                f"Deliveries need the broker's token for this function: {exc}.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from None
        except KeysUnavailable:
            log.warning("broker keys unavailable", exc_info=True)
            raise Problem(503, "Cannot check the broker's token now; retry later.") from None

    async def __call__(self, request: Request) -> Response:
        started = time.perf_counter()
        outcome = "error"
        event_id = event_type = None
        entry = tracing.entry_span()
        if request.url.path in tracing.PROBE_ROUTES:
            entry.tag({"http.route": request.url.path})
            return await self._probe(request)
        try:
            if request.method != "POST":
                raise Problem(405, "Deliver CloudEvents with POST.", headers={"Allow": "POST"})
            tracecontext.set_current(tracecontext.from_headers(request.headers))
            await self.authenticate(request)
            body = await read_event_body(request, self.limit)
            event = parse_cloud_event(request.headers, body)
            event_id, event_type = event.id, event.type
            _trusted(event)
            entry.set_resource(event.type)
            entry.tag(
                tracing.event_tags(event.type, event.id, event.source, event.subject, event.data)
            )
            applied = await self.apply(_with_origin_trace(event))
            outcome = "applied" if applied else "duplicate"
            if applied and event.time is not None:
                lag = time.time() - event.time.timestamp()
                metrics().distribution("event.lag", round(lag, 3), {"event_type": event.type})
            return JSONResponse({"status": outcome})
        except (Problem, Refused, NotYet) as exc:
            problem = exc if isinstance(exc, Problem) else delivery_problem(exc)
            outcome = f"rejected:{problem.status}"
            return problem.response()
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
            outcome = "unavailable:503"
            log.warning("database unavailable; the broker will retry", exc_info=True)
            return Problem(503, "The database is unavailable; retry later.").response()
        except Exception:
            outcome = "error:500"
            log.exception("failed to apply event %s", event_id)
            return Problem(500, "The event could not be applied now.").response()
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            entry.tag({"acougue.outcome": outcome})
            _observe(event_type, outcome, duration_ms)
            log.info(
                "event %s %s %s",
                event_type,
                event_id,
                outcome,
                extra={
                    "duration_ms": duration_ms,
                    "event_type": event_type,
                    "event_id": event_id,
                    "outcome": outcome,
                },
            )

    async def _probe(self, request: Request) -> Response:
        """Health probes: no event, no metrics, no log line of their own."""
        try:
            if request.url.path == "/readyz":
                await self.runtime.ready()
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
            log.warning("database unavailable; not ready", exc_info=True)
            return Problem(503, "The database is unavailable; retry later.").response()
        except Exception:
            log.exception("readiness check failed")
            return Problem(500, "Something went wrong on our side.").response()
        return JSONResponse({"status": "ok"})

    def payload(self, event: Envelope) -> Payload | None:
        """The event's payload as its type's model (None for a type with no contract here);
        400 for a type this subscriber does not take or data that breaks its contract."""
        entry = self.handlers.get(event.type)
        if entry is None and self.every_event is None:
            raise Problem(400, f"This function does not handle events of type {event.type}.")
        model = entry.model if entry is not None else payload_model(event.type)
        if model is None:
            return None
        try:  # a known type must honour its contract, whoever receives it
            return model.model_validate(event.data)
        except ValidationError as exc:
            raise validation_problem(exc, status=400) from None

    async def apply(self, event: Envelope) -> bool:
        """Apply the event once (once for this `consumer`, when it names one); False when
        the inbox shows it was applied before."""
        entry = self.handlers.get(event.type)
        payload = self.payload(event)
        async with await self.runtime.unit_of_work(actor=event.actor) as uow:
            first = await inbox.first_delivery(
                uow.conn,
                source=inbox_source(event, self.consumer),
                event_id=event.id,
                event_type=event.type,
            )
            if not first:
                return False
            if entry is not None:
                await entry.handler(uow, event, payload)
            elif self.every_event is not None:
                await self.every_event(uow, event, payload)
            await uow.commit()
        return True


def _trusted(event: Envelope) -> None:
    """Only what the event's owner could have published: its `source` owns its `type`
    (a token stolen from one function does not speak for another) and its `time` is not
    ahead of this clock (a future-dated fact would outrank every real one)."""
    refusal = ownership.source_refusal(event.type, event.source)
    if refusal is not None:
        raise Problem(403, f"Event refused: {refusal}.")
    moment = event.time
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment is not None and moment > datetime.now(UTC) + MAX_CLOCK_SKEW:
        raise Problem(400, "Event refused: its time is in the future.")


def _with_origin_trace(event: Envelope) -> Envelope:
    """A dead letter keeps the trace it failed in, for a replay to link back to.

    It is kept as the CloudEvents distributed-tracing extension (`traceparent`,
    `tracestate`), the one place a stored event has for it. A replay's publish turns it
    into a span link and drops it (`shared.db.outbox.add`), as Knative's broker would.
    """
    if DEAD_LETTER_MARK not in event.extensions or "traceparent" in event.extensions:
        return event
    origin = tracecontext.current()
    if origin is None:
        return event
    kept = {"traceparent": origin.traceparent}
    if origin.tracestate:
        kept["tracestate"] = origin.tracestate
    return event.model_copy(update={"extensions": {**event.extensions, **kept}})


def _observe(event_type: str | None, outcome: str, duration_ms: float) -> None:
    """Metrics of one delivery; the first of the process is its cold start."""
    kind = "event"
    what, _, status = outcome.partition(":")
    tags = {
        "kind": kind,
        "event_type": event_type,
        "outcome": what,
        "status_class": f"{status[0]}xx" if status else "2xx",
    }
    sink = metrics()
    sink.increment("requests", tags=tags)
    sink.distribution("request.duration", duration_ms, tags)
    if sink.first_request(kind):
        tracing.entry_span().tag({tracing.COLD_START_TAG: "true"})
