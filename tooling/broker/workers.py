"""A fixed number of tasks draining one queue: a Trigger's `parallelism` (1 keeps order)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from tooling.broker.logs import logger

Item = TypeVar("Item")


class WorkerPool(Generic[Item]):
    """Workers that stop cleanly: idle ones at once, busy ones after their item or the grace."""

    def __init__(self, name: str, size: int, handler: Callable[[Item], Awaitable[None]]) -> None:
        self.name = name
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self._size = size
        self._handler = handler
        self._tasks: list[asyncio.Task[None]] = []
        self._busy: set[asyncio.Task[None]] = set()
        self._stopping = False

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._work(), name=f"{self.name}#{n}") for n in range(self._size)
        ]

    async def stop(self, grace: float) -> None:
        """Let in-flight items finish for up to `grace` seconds, then cancel what remains."""
        self._stopping = True
        for task in self._tasks:
            if task not in self._busy:
                task.cancel()
        busy = set(self._busy)
        if busy and grace > 0:
            await asyncio.wait(busy, timeout=grace)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _work(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        while not self._stopping:
            item = await self.queue.get()
            self._busy.add(task)
            try:
                await self._handler(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("worker %s failed on an item; it stays unsettled", self.name)
            finally:
                self._busy.discard(task)
                self.queue.task_done()
