"""One function's HTTP server: `python -m shared.server`, the command of every function image.

One process per function: functions-framework's ASGI app (FUNCTION_TARGET, FUNCTION_SOURCE)
served by uvicorn directly. functions-framework's own CLI runs it under gunicorn, a master
and a worker: twice the memory and a longer start for nothing here, since Knative scales a
Service by its pods, never by workers inside one.

It listens on HOST:PORT, or, when LISTEN_FD names a listening socket it inherited, on that
socket: the local runner binds each function's port itself and keeps the socket open while
the function is scaled to zero, so a request that arrives then waits in the socket's backlog
until the next process accepts it (tooling/runner/scaling.py). ACTIVITY_FILE, also the
runner's, is where the server counts requests for the runner to see when it is idle
(shared/activity.py), as Knative's queue-proxy counts them for the autoscaler.

An idle kept-alive connection is closed by this server, and by the gateway's, only well after
every client of ours has let it go (KEEPALIVE_SECONDS, 30 s by default, against httpx's 5 s
and the event client's 4 s): with uvicorn's own 5 s, equal to httpx's, a client could send a
request on a connection at the very moment the server closed it, and lose that request (a
ReadError, seen once in CI during the demo's seed).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

import uvicorn
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.types import ASGIApp

from shared.activity import Counted


class ListenSettings(BaseSettings):
    """Where and how long a server keeps connections: every function's, and the gateway's."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    host: str = "0.0.0.0"  # noqa: S104 - inside its pod, behind the queue-proxy
    port: int = Field(default=8080, ge=1, le=65535)
    # Longer than any client's idle expiry (see above).
    keepalive_seconds: int = Field(default=30, ge=6, le=3600, alias="KEEPALIVE_SECONDS")


class ServerSettings(ListenSettings):
    function_target: str = Field(min_length=1)
    function_source: str = Field(default="main.py", min_length=1)
    listen_fd: int | None = Field(default=None, ge=3)
    activity_file: Path | None = None
    # As long as a Knative Service's timeoutSeconds: requests in flight at SIGTERM finish.
    graceful_shutdown_seconds: int = Field(default=30, ge=1, le=600, alias="SHUTDOWN_SECONDS")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        default="warning", alias="SERVER_LOG_LEVEL"
    )


def _inherited(fd: int) -> socket.socket:
    """The runner's listening socket (checked: a TCP socket that listens)."""
    sock = socket.socket(fileno=fd)  # family and type read from the descriptor
    if sock.type != socket.SOCK_STREAM or not sock.getsockopt(
        socket.SOL_SOCKET, socket.SO_ACCEPTCONN
    ):
        raise SystemExit(f"LISTEN_FD={fd} is not a listening TCP socket")
    return sock


def main() -> None:
    settings = ServerSettings()
    from functions_framework.aio import create_asgi_app

    app: ASGIApp = create_asgi_app(  # type: ignore[no-untyped-call]
        settings.function_target, settings.function_source
    )
    if settings.activity_file is not None:
        app = Counted(app, settings.activity_file)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        timeout_keep_alive=settings.keepalive_seconds,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
    )
    server = uvicorn.Server(config)
    if settings.listen_fd is None:
        server.run()
    else:
        server.run(sockets=[_inherited(settings.listen_fd)])


if __name__ == "__main__":
    main()
