"""Cold starts from a warm template: the local runner forks each function's process from a
server that has already imported what every function imports.

Scale to zero makes cold starts frequent on a shop's PC: the first sale after a quiet
minute wakes several functions one after another. Most of a start is importing the same
libraries (functions-framework and Flask, pydantic, psycopg, httpx, PyJWT and
cryptography, uvicorn). Python's `forkserver` imports them once, in a process that has no
threads and no event loop, and forks a child per start; the child takes the function's
environment and log, then runs `shared.server` as the image does.

Only libraries that read no settings at import are preloaded: ddtrace reads DD_SERVICE
and the agent's address when imported, and each function's own modules build their
settings at import, so those are imported by the child, after its environment is set.
The cluster has no such template: its figure is the image's own start (bench/cold_start).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path

PRELOAD = (
    "functions_framework.aio",
    "uvicorn",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.lifespan.on",
    "uvloop",
    "aiohttp",
    "starlette.applications",
    "starlette.responses",
    "pydantic",
    "pydantic_settings",
    "psycopg",
    "psycopg_pool",
    "httpx",
    "jwt",
    "cryptography.hazmat.primitives.asymmetric.ed25519",
    "shared.server",
)
_PR_SET_PDEATHSIG = 1


def template() -> ForkServerContext:
    """The fork server, started (and its modules imported) on the first start."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    return context


def _serve(env: dict[str, str], log_path: str, listener: socket.socket) -> None:
    """In the forked child: the function's environment and log, then its server."""
    # The fork server stays up while anyone holds its "alive" pipe, and multiprocessing hands
    # every child a copy; a function holding one would keep the server, and so itself, up
    # after the runner died. Dropped: the runner's end alone keeps it (it ends with the
    # runner, and every function with it, through the death signal below).
    with contextlib.suppress(OSError, AttributeError):
        os.close(forkserver._forkserver._forkserver_alive_fd)  # type: ignore[attr-defined]
    os.setsid()  # not in the runner's process group: Ctrl-C is the runner's to pass on
    with contextlib.suppress(OSError):  # not Linux: the runner stops it at its own end
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    os.environ.clear()
    os.environ.update(env)
    os.environ["LISTEN_FD"] = str(listener.fileno())
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    from shared.server import main

    main()


class Forked:
    """A forked function process, with the part of Popen's interface the runner uses."""

    def __init__(self, process: BaseProcess) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        pid = self._process.pid
        assert pid is not None
        return pid

    def poll(self) -> int | None:
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # ended already
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        code = self._process.exitcode
        if code is None:
            raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
        return code


def fork(
    context: ForkServerContext, env: dict[str, str], log_path: Path, listener: socket.socket
) -> Forked:
    process = context.Process(target=_serve, args=(env, str(log_path), listener), daemon=False)
    process.start()
    return Forked(process)
