"""The in-memory backend: Knative's InMemoryChannel broker without a cluster (nothing durable).

An accepted event is copied onto the queue of every Trigger whose filter matches; each
Trigger drains its queue with `parallelism` workers. Dead letters wait on an in-memory
queue per sink and are retried until the sink takes them or the process stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tooling.broker.backend import BackendUnavailable
from tooling.broker.delivery import Sender
from tooling.broker.dispatch import dispatch_dead_letter, dispatch_to_trigger
from tooling.broker.envelope import Envelope
from tooling.broker.filters import matches
from tooling.broker.logs import logger
from tooling.broker.wiring import DeadLetterRoute, Route, Wiring
from tooling.broker.workers import WorkerPool

_Handler = Callable[[Envelope], Awaitable[None]]


class MemoryBackend:
    def __init__(
        self, wiring: Wiring, sender: Sender, *, dead_letter_pause: float, shutdown_grace: float
    ) -> None:
        self._wiring = wiring
        self._sender = sender
        self._pause = dead_letter_pause
        self._grace = shutdown_grace
        self._running = False
        self._dead_letter_pools: dict[tuple[str, str], WorkerPool[Envelope]] = {}
        self._trigger_pools: list[tuple[Route, WorkerPool[Envelope]]] = []

    @property
    def ready(self) -> bool:
        return self._running

    async def start(self) -> None:
        for dead_letter in self._wiring.dead_letters:
            pool = WorkerPool[Envelope](
                f"dlq:{dead_letter.scope}/{dead_letter.name}",
                1,
                self._dead_letter_handler(dead_letter),
            )
            self._dead_letter_pools[(dead_letter.scope, dead_letter.name)] = pool
        for route in self._wiring.routes:
            pool = WorkerPool[Envelope](
                f"trigger:{route.trigger}", route.parallelism, self._trigger_handler(route)
            )
            self._trigger_pools.append((route, pool))
        for pool in self._pools():
            pool.start()
        self._running = True
        logger.info(
            "memory broker %s/%s started with %d trigger(s)",
            self._wiring.namespace,
            self._wiring.broker,
            len(self._trigger_pools),
        )

    async def stop(self) -> None:
        self._running = False
        await asyncio.gather(*(pool.stop(self._grace) for pool in self._pools()))
        lost = sum(pool.queue.qsize() for pool in self._pools())
        if lost:
            logger.warning(
                "memory broker stopped with %d undelivered event copies (not durable)", lost
            )

    async def publish(self, envelope: Envelope) -> None:
        if not self._running:
            raise BackendUnavailable("the in-memory broker is not running")
        for route, pool in self._trigger_pools:
            if matches(route.filter, envelope.attributes):
                pool.queue.put_nowait(envelope)

    def _pools(self) -> list[WorkerPool[Envelope]]:
        return [pool for _, pool in self._trigger_pools] + list(self._dead_letter_pools.values())

    def _trigger_handler(self, route: Route) -> _Handler:
        async def handle(envelope: Envelope) -> None:
            dead_letter = await dispatch_to_trigger(self._sender, route, envelope)
            if dead_letter is not None and route.dead_letter is not None:
                key = (route.dead_letter.scope, route.dead_letter.name)
                self._dead_letter_pools[key].queue.put_nowait(dead_letter)

        return handle

    def _dead_letter_handler(self, route: DeadLetterRoute) -> _Handler:
        async def handle(envelope: Envelope) -> None:
            if await dispatch_dead_letter(self._sender, route, envelope):
                return
            await asyncio.sleep(self._pause)
            self._dead_letter_pools[(route.scope, route.name)].queue.put_nowait(envelope)

        return handle
