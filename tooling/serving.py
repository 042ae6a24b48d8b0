"""Serving an ASGI app with uvicorn inside a running event loop, for as long as a block runs.

The broker's tests and benchmark run the broker and real subscriber servers in one process
this way (`python -m tooling.broker` uses `uvicorn.run` instead), and the local runner serves
its status endpoint so, leaving Ctrl-C to the runner (`own_signals=False`).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import uvicorn
from starlette.types import ASGIApp


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class _SignalsLeftAlone(uvicorn.Server):
    """A server inside a process that handles SIGINT/SIGTERM itself (the runner)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def serving(
    app: ASGIApp, host: str = "127.0.0.1", port: int | None = None, *, own_signals: bool = True
) -> AsyncIterator[str]:
    """Yield the base URL once the app has started (lifespan included); stop it afterwards.
    With `own_signals=False` uvicorn leaves the process's stop signals to their owner."""
    port = port or free_port(host)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config) if own_signals else _SignalsLeftAlone(config)
    task = asyncio.create_task(_serve(server))
    while not server.started:
        if task.done():
            task.result()  # re-raise why it could not start
            raise RuntimeError(f"server on {host}:{port} exited during start-up")
        await asyncio.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task


async def _serve(server: uvicorn.Server) -> None:
    """Run the server; uvicorn's `sys.exit` on a failed start-up must not end the event loop."""
    try:
        await server.serve()
    except SystemExit as exc:
        raise RuntimeError(f"server exited during start-up (code {exc.code})") from None
