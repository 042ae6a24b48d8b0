"""The runner's status endpoint: which processes are up, on this machine only.

`GET /status` answers the runner's view as JSON: for each function its state (up, down,
starting, stopping), pid, min-scale, idle window, cold starts and restarts. It listens on
127.0.0.1 only: it names processes, which is nobody's business outside the shop's PC.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class _InRunner(uvicorn.Server):
    """Served inside the runner's event loop: Ctrl-C is the runner's to handle, not uvicorn's."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def serving_status(status: Callable[[], dict[str, Any]], port: int) -> AsyncIterator[str]:
    async def answer(_: Request) -> JSONResponse:
        return JSONResponse(status(), headers={"Cache-Control": "no-store"})

    app = Starlette(routes=[Route("/status", answer)])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = _InRunner(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            raise RuntimeError(f"the status endpoint could not listen on 127.0.0.1:{port}")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
