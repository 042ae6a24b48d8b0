"""Child processes of the runner: started, probed, restarted when they crash, stopped."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from multiprocessing.context import ForkServerContext
from pathlib import Path

import httpx

from shared import activity
from tooling.runner.warm import Forked, fork

log = logging.getLogger("acougue.runner")
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the runner dies, so nothing is left behind."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
    os.setsid()


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        url: str,
        log_dir: Path,
        listener: socket.socket | None = None,
        activity_file: Path | None = None,
        warm: ForkServerContext | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.url = url
        self.log_path = log_dir / f"{name}.log"
        self.listener = listener  # the runner's socket on the process's port, handed down
        self.activity_file = activity_file  # where the process counts its requests
        self.warm = warm  # fork from the warm template instead of starting Python afresh
        self.process: subprocess.Popen[bytes] | Forked | None = None
        self.restarts = 0
        self.started_at = 0.0
        self.wanted = True  # False once scaled to zero: its exit is no crash

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env, fds = self.env, tuple[int, ...]()
        if self.listener is not None:
            fds = (self.listener.fileno(),)
            env = {**env, "LISTEN_FD": str(self.listener.fileno())}
        if self.activity_file is not None:
            activity.reset(self.activity_file)
            env = {**env, "ACTIVITY_FILE": str(self.activity_file)}
        if self.warm is not None and self.listener is not None:
            self.process = fork(self.warm, env, self.log_path, self.listener)
            self.started_at = time.monotonic()
            return
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(  # noqa: S603 - argv built from our manifests
                self.argv,
                env=env,
                pass_fds=fds,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        self.started_at = time.monotonic()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    async def wait_healthy(self, client: httpx.AsyncClient, limit: float) -> float:
        """Seconds from start to the first 200 on /healthz."""
        deadline = self.started_at + limit
        while time.monotonic() < deadline:
            code = self.exited()
            if code is not None:
                raise RuntimeError(f"{self.name} exited with {code}; see {self.log_path}")
            try:
                if (await client.get(self.url + "/healthz", timeout=1.0)).status_code == 200:
                    return time.monotonic() - self.started_at
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError(
            f"{self.name} did not become healthy in {limit:.0f} s; see {self.log_path}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0f s; killing it", self.name, timeout)
            self.process.kill()
            self.process.wait()
