"""The Broker's ingress: the HTTP address publishers (K_SINK) POST CloudEvents to.

`POST /` (eventing-rabbitmq's per-Broker ingress) and `POST /{namespace}/{broker}` (Knative's
shared broker-ingress path) accept binary- and structured-mode events and answer 202 once
the backend holds the event, 400 for an invalid event, 404 for another Broker's path and 503
while the backend is down. Errors are `application/problem+json`, never a stack trace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from http import HTTPStatus

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared import tracecontext, tracing
from shared.metrics import metrics
from tooling.broker.backend import Backend, BackendUnavailable
from tooling.broker.delivery import Sender
from tooling.broker.envelope import Envelope, InvalidEvent, parse_http_event
from tooling.broker.logs import logger
from tooling.broker.memory import MemoryBackend
from tooling.broker.rabbitmq import RabbitMQBackend
from tooling.broker.settings import BrokerSettings
from tooling.broker.trust import Gatekeeper, Refused, delivery_signer
from tooling.broker.wiring import Wiring, wire
from tooling.manifests import Topology

PROBLEM_TYPE = "about:blank"


def problem(
    status: int, title: str, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An RFC 9457 problem document."""
    return JSONResponse(
        {"type": PROBLEM_TYPE, "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def build_backend(settings: BrokerSettings, wiring: Wiring, sender: Sender) -> Backend:
    if settings.amqp_url:
        return RabbitMQBackend(settings, wiring, sender)
    return MemoryBackend(
        wiring,
        sender,
        dead_letter_pause=settings.dead_letter_pause,
        shutdown_grace=settings.shutdown_grace,
    )


def create_app(settings: BrokerSettings, topology: Topology) -> Starlette:
    """The ingress app; raises `ConfigurationError` now for wiring that cannot work.

    The backend (`app.state.backend`) starts with the app's lifespan and stops with it.
    """
    wiring = wire(settings, topology)
    signer = delivery_signer(settings)
    gatekeeper = Gatekeeper(settings, wiring.namespace, wiring.broker)
    sender = Sender(signer)
    backend = build_backend(settings, wiring, sender)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            await backend.start()
            yield
        finally:
            await backend.stop()
            await sender.aclose()

    async def ingress(request: Request) -> Response:
        namespace = request.path_params.get("namespace")
        broker = request.path_params.get("broker")
        if namespace is not None and (namespace, broker) != (wiring.namespace, wiring.broker):
            return problem(404, "Not Found", f"no Broker {namespace}/{broker} here")
        try:
            publisher = await gatekeeper.publisher(request.headers)  # before the body
            body = await _bounded_body(request, settings.max_event_bytes)
            envelope = parse_http_event(request.headers, body)
            gatekeeper.admit(publisher, envelope)
        except Refused as exc:
            _refused(exc, request)
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            return problem(exc.status, _reason(exc.status), exc.detail, headers=headers)
        except InvalidEvent as exc:
            return problem(400, "Bad Request", f"not a valid CloudEvent: {exc}")
        envelope = _traced(envelope)
        try:
            await backend.publish(envelope)
        except BackendUnavailable as exc:
            metrics().increment("broker.events.refused", tags={"event_type": envelope.type})
            logger.error(
                "refused event %s (%s): %s",
                envelope.id,
                envelope.type,
                exc,
                extra={"event_id": envelope.id, "event_type": envelope.type},
            )
            return problem(503, "Service Unavailable", str(exc), headers={"Retry-After": "1"})
        metrics().increment("broker.events.accepted", tags={"event_type": envelope.type})
        logger.debug(
            "accepted event %s (%s)",
            envelope.id,
            envelope.type,
            extra={"event_id": envelope.id, "event_type": envelope.type},
        )
        return Response(status_code=202)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def jwks(_: Request) -> Response:
        return JSONResponse(signer.jwks(), headers={"Cache-Control": "max-age=300"})

    async def readyz(_: Request) -> Response:
        if backend.ready:
            return JSONResponse({"status": "ready", "backend": settings.backend_kind})
        return problem(
            503, "Service Unavailable", f"the {settings.backend_kind} backend is not connected"
        )

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return problem(
            exc.status_code, _reason(exc.status_code), str(exc.detail), headers=exc.headers
        )

    async def unexpected(request: Request, exc: Exception) -> Response:
        logger.exception(
            "unexpected error on %s %s", request.method, request.url.path, exc_info=exc
        )
        return problem(500, "Internal Server Error", "the broker failed to handle the request")

    app = Starlette(
        routes=[
            Route("/", ingress, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/.well-known/jwks.json", jwks, methods=["GET"]),
            Route("/{namespace}/{broker}", ingress, methods=["POST"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: unexpected},
        lifespan=lifespan,
    )
    app.state.backend = backend
    app.state.wiring = wiring
    return app


async def _bounded_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it passes `limit`: nothing more is read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"events are limited to {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Refused(413, f"events are limited to {limit} bytes")
    return bytes(body)


def _refused(exc: Refused, request: Request) -> None:
    metrics().increment("broker.events.refused", tags={"status": str(exc.status)})
    logger.warning(
        "refused a publish (%d): %s",
        exc.status,
        exc.detail,
        extra={"status": exc.status, "event_type": request.headers.get("ce-type")},
    )


def _traced(envelope: Envelope) -> Envelope:
    """With the tracer on, the event travels on as a child of the ingress's span."""
    if not tracing.enabled():
        return envelope
    entry = tracing.entry_span()
    entry.set_resource(f"ingress {envelope.type}")
    entry.tag(tracing.event_tags(envelope.type, envelope.id, envelope.source, None, None))
    carried = tracecontext.current()
    return replace(envelope, trace=carried.headers()) if carried is not None else envelope


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
