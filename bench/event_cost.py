"""What one event costs through the local broker, per backend, against a raw AMQP baseline.

    python -m bench.event_cost [--events 1000] [--amqp-url amqp://guest:guest@127.0.0.1:5672/]

Each event is published alone (sequentially) and timed from the HTTP POST to the ingress
until the subscriber has sent its 2xx (a Starlette background task, run after the response
is written, stops the clock); "accepted" is the ingress's 202. The baseline does the same
with aio-pika alone: publish (confirm) to a durable headers exchange, a quorum queue, a
consumer that acks. RabbitMQ rows are skipped when it is unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aio_pika
import httpx
from aio_pika import DeliveryMode, ExchangeType, Message
from aio_pika.abc import AbstractIncomingMessage
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.broker.harness import binary_headers, delete_layout
from tests.broker.specs import SUBSCRIBER, delivery, topology, trigger
from tooling.broker.app import create_app
from tooling.broker.rabbitmq_layout import QUORUM, Layout
from tooling.broker.settings import BrokerSettings
from tooling.manifests import Topology
from tooling.serving import serving

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
WARM_UP = 50
PAYLOAD = b'{"sale_id":"5b0c","total_cents":12990,"items":[{"plu":"0042","quantity":"1.250"}]}'


@dataclass(frozen=True)
class Timings:
    label: str
    accepted: list[float]
    delivered: list[float]


class Sink:
    """A subscriber that stops a clock once its 2xx has been sent for an event id."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[float]] = {}

    def expect(self, event_id: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[event_id] = future
        return future

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            await request.body()
            future = self.waiting.pop(request.headers.get("ce-id", ""), None)

            def answered() -> None:
                if future is not None and not future.done():
                    future.set_result(time.perf_counter())

            return Response(status_code=200, background=BackgroundTask(answered))

        return Starlette(routes=[Route("/", receive, methods=["POST"])])


def _topology() -> Topology:
    """One Trigger, no filter, to the sink's `/`; 5 retries, no dead letters. Wired as the
    broker's tests wire theirs (the sink is their SUBSCRIBER)."""
    return topology([trigger("sink", path="/")], delivery(retry=5, delay=0.2, sink=None))


async def through_broker(label: str, amqp_url: str | None, events: int) -> Timings:
    sink = Sink()
    wiring = _topology()
    async with serving(sink.app()) as sink_url:
        settings = BrokerSettings(
            amqp_url=amqp_url,
            service_urls={SUBSCRIBER: sink_url},
            resource_prefix=f"bench-{uuid.uuid4().hex[:8]}.",
            # The broker's own cost: what the publisher checks add is bench.event_trust's.
            ingress_authentication="off",
        )
        app = create_app(settings, wiring)
        try:
            async with serving(app) as broker_url, httpx.AsyncClient() as client:
                accepted, delivered = [], []
                for n in range(WARM_UP + events):
                    event_id = str(uuid.uuid4())
                    answered = sink.expect(event_id)
                    started = time.perf_counter()
                    response = await client.post(
                        broker_url, headers=binary_headers(event_id), content=PAYLOAD
                    )
                    took = time.perf_counter() - started
                    if response.status_code != 202:
                        raise RuntimeError(f"{label}: ingress answered {response.status_code}")
                    done = await asyncio.wait_for(answered, timeout=10)
                    if n >= WARM_UP:
                        accepted.append(took)
                        delivered.append(done - started)
        finally:
            if amqp_url:
                await delete_layout(amqp_url, Layout(settings.resource_prefix, app.state.wiring))
    return Timings(label, accepted, delivered)


async def raw_amqp(amqp_url: str, events: int) -> Timings:
    """Publish (confirm) then consume (ack) with aio-pika alone, shaped as the broker's layout."""
    name = f"bench-raw-{uuid.uuid4().hex[:8]}"
    publisher = await aio_pika.connect_robust(amqp_url)
    consumer = await aio_pika.connect_robust(amqp_url)
    waiting: dict[str, asyncio.Future[float]] = {}

    async def on_message(message: AbstractIncomingMessage) -> None:
        await message.ack()
        future = waiting.pop(message.message_id or "", None)
        if future is not None:
            future.set_result(time.perf_counter())

    try:
        channel = await publisher.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(name, ExchangeType.HEADERS, durable=True)
        queue = await channel.declare_queue(name, durable=True, arguments=QUORUM)
        await queue.bind(exchange, arguments={"x-match": "all"})
        consume_channel = await consumer.channel()
        await consume_channel.set_qos(prefetch_count=100)
        consume_queue = await consume_channel.declare_queue(name, durable=True, arguments=QUORUM)
        tag = await consume_queue.consume(on_message)
        accepted, delivered = [], []
        loop = asyncio.get_running_loop()
        for n in range(WARM_UP + events):
            event_id = str(uuid.uuid4())
            waiting[event_id] = loop.create_future()
            answered = waiting[event_id]
            message = Message(
                PAYLOAD,
                headers={"id": event_id, "type": "bench"},
                message_id=event_id,
                content_type="application/json",
                delivery_mode=DeliveryMode.PERSISTENT,
            )
            started = time.perf_counter()
            await exchange.publish(message, routing_key="", mandatory=False)
            took = time.perf_counter() - started
            done = await asyncio.wait_for(answered, timeout=10)
            if n >= WARM_UP:
                accepted.append(took)
                delivered.append(done - started)
        await consume_queue.cancel(tag)
        await channel.queue_delete(name)
        await channel.exchange_delete(name)
    finally:
        await consumer.close()
        await publisher.close()
    return Timings("raw aio-pika (confirm + consume)", accepted, delivered)


async def _reachable(amqp_url: str) -> bool:
    try:
        connection = await aio_pika.connect(amqp_url, timeout=3)
    except (OSError, aio_pika.exceptions.AMQPError, TimeoutError):
        return False
    await connection.close()
    return True


def _ms(samples: list[float], quantile: float) -> str:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, round(quantile * (len(ordered) - 1)))
    return f"{ordered[index] * 1000:8.2f}"


def table(results: list[Timings], events: int) -> str:
    lines = [
        f"event cost: {events} sequential events each (after {WARM_UP} warm-up), milliseconds",
        f"{'path':<36} {'accepted p50':>12} {'p99':>8} {'delivered p50':>14} {'p99':>8}"
        f" {'events/s':>9}",
    ]
    for result in results:
        rate = len(result.delivered) / sum(result.delivered)
        lines.append(
            f"{result.label:<36} {_ms(result.accepted, 0.5):>12} {_ms(result.accepted, 0.99):>8} "
            f"{_ms(result.delivered, 0.5):>14} {_ms(result.delivered, 0.99):>8} {rate:9.0f}"
        )
    return "\n".join(lines)


@asynccontextmanager
async def _quiet() -> AsyncIterator[None]:
    """One log line per delivery is right for a broker, wrong for a 1,000-event benchmark."""
    loggers = [
        logging.getLogger(name) for name in ("acougue.broker", "httpx", "aio_pika", "aiormq")
    ]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


async def run(events: int, amqp_url: str) -> str:
    async with _quiet():
        results = [await through_broker("broker, memory backend", None, events)]
        if await _reachable(amqp_url):
            results.append(await through_broker("broker, rabbitmq backend", amqp_url, events))
            results.append(await raw_amqp(amqp_url, events))
        else:
            print(f"RabbitMQ not reachable at {amqp_url}: rabbitmq rows skipped")
    return table(results, events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--amqp-url", default=os.environ.get("AMQP_URL", DEFAULT_AMQP_URL))
    args = parser.parse_args()
    print(asyncio.run(run(args.events, args.amqp_url)))


if __name__ == "__main__":
    main()
