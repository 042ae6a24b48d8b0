"""The runner's status endpoint: which processes are up, on this machine only.

`GET /status` answers the runner's view as JSON: for each function its state (up, down,
starting, stopping), pid, min-scale, idle window, cold starts and restarts. It listens on
127.0.0.1 only: it names processes, which is nobody's business outside the shop's PC.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tooling.serving import serving


@asynccontextmanager
async def serving_status(status: Callable[[], dict[str, Any]], port: int) -> AsyncIterator[str]:
    async def answer(_: Request) -> JSONResponse:
        return JSONResponse(status(), headers={"Cache-Control": "no-store"})

    app = Starlette(routes=[Route("/status", answer)])
    async with serving(app, "127.0.0.1", port, own_signals=False) as url:
        yield url
