"""Real components for the broker's tests: a recording subscriber, a running broker, and
the events they carry (the Triggers and Broker they are wired by: specs.py).

The subscriber is a Starlette app served by uvicorn on a free port; it records every request
on arrival and answers as each path is scripted (status, optional delay), so tests observe
exactly what a Knative Service would receive.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.broker.specs import SALE_COMPLETED, SUBSCRIBER
from tooling.broker.app import create_app
from tooling.broker.backend import Backend
from tooling.broker.rabbitmq_layout import Layout, delete
from tooling.broker.settings import BrokerSettings
from tooling.broker.wiring import Wiring
from tooling.manifests import Topology
from tooling.serving import serving

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@dataclass(frozen=True)
class Received:
    path: str
    headers: Mapping[str, str]
    body: bytes
    at: float


@dataclass
class _Step:
    status: int
    delay: float = 0.0


@dataclass
class Recorder:
    """A subscriber that records requests and answers 200 unless told otherwise."""

    received: list[Received] = field(default_factory=list)
    url: str = ""
    _scripts: dict[str, list[_Step]] = field(default_factory=dict)
    _defaults: dict[str, _Step] = field(default_factory=dict)

    def answer(self, path: str, status: int, *, delay: float = 0.0) -> None:
        """Answer every later request on `path` with `status` (after `delay` seconds)."""
        self._defaults[path] = _Step(status, delay)

    def script(self, path: str, *steps: tuple[int, float]) -> None:
        """Answer the next requests on `path` with these (status, delay) steps, in order."""
        self._scripts.setdefault(path, []).extend(_Step(s, d) for s, d in steps)

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(self, path: str, count: int, within: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + within
        while len(self.on(path)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{path}: {len(self.on(path))} request(s), expected {count}")
            await asyncio.sleep(0.01)
        return self.on(path)

    def app(self) -> Starlette:
        async def handle(request: Request) -> Response:
            path = "/" + request.path_params["path"]
            body = await request.body()
            self.received.append(Received(path, dict(request.headers), body, time.monotonic()))
            script = self._scripts.get(path)
            step = script.pop(0) if script else self._defaults.get(path, _Step(200))
            if step.delay:
                await asyncio.sleep(step.delay)
            return Response(f"answer {step.status}", status_code=step.status)

        return Starlette(routes=[Route("/{path:path}", handle, methods=["POST"])])


@asynccontextmanager
async def recording_subscriber() -> AsyncIterator[Recorder]:
    recorder = Recorder()
    async with serving(recorder.app()) as url:
        recorder.url = url
        yield recorder


@dataclass(frozen=True)
class RunningBroker:
    url: str
    backend: Backend
    wiring: Wiring
    settings: BrokerSettings


def unique_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}."


@asynccontextmanager
async def running_broker(
    wiring_topology: Topology, recorder: Recorder, amqp_url: str | None, **settings: Any
) -> AsyncIterator[RunningBroker]:
    """Serve the broker app on a free port; on RabbitMQ, delete its queues and exchanges after."""
    values: dict[str, Any] = {
        "amqp_url": amqp_url,
        "service_urls": {SUBSCRIBER: recorder.url},
        "resource_prefix": unique_prefix(),
        "dead_letter_pause": 0.05,
        "shutdown_grace": 0.5,
        "connect_timeout": 5.0,
        **settings,
    }
    broker_settings = BrokerSettings(**values)
    app = create_app(broker_settings, wiring_topology)
    try:
        async with serving(app) as url:
            yield RunningBroker(url, app.state.backend, app.state.wiring, broker_settings)
    finally:
        if broker_settings.amqp_url:
            await delete_layout(
                broker_settings.amqp_url, Layout(broker_settings.resource_prefix, app.state.wiring)
            )


async def delete_layout(amqp_url: str, layout: Layout) -> None:
    connection = await aio_pika.connect(amqp_url.split("?", 1)[0])
    async with connection:
        await delete(await connection.channel(), layout)


def binary_headers(
    event_id: str, event_type: str = SALE_COMPLETED, **extensions: str
) -> dict[str, str]:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-source": "/acougue/complete-sale",
        "ce-type": event_type,
        "content-type": "application/json",
    }
    headers.update({f"ce-{name}": value for name, value in extensions.items()})
    return headers


def new_id() -> str:
    return str(uuid.uuid4())
