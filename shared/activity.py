"""A function's request counters, kept where the local runner reads them.

Knative's autoscaler decides from what each pod's queue-proxy counts: requests and those in
flight. The local runner has no queue-proxy, so the server keeps the same two counters in a
16-byte file the runner names (ACTIVITY_FILE) and reads once a second to decide when the
function is idle (tooling/runner/scaling.py). Shared memory, not a message: counting costs
a request no system call. In the cluster no file is named and nothing is counted.
"""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

LAYOUT = struct.Struct("<QQ")  # requests since start, requests in flight


def reset(path: Path) -> None:
    """Zeroes for a process about to start (a crashed one may have left some in flight)."""
    path.write_bytes(bytes(LAYOUT.size))


def read(path: Path) -> tuple[int, int]:
    requests, in_flight = LAYOUT.unpack(path.read_bytes()[: LAYOUT.size])
    return requests, in_flight


class Counted:
    """ASGI middleware: every HTTP request counted, in flight until its response ends."""

    def __init__(self, app: ASGIApp, path: Path) -> None:
        self.app = app
        fd = os.open(path, os.O_RDWR)
        try:
            self._counters = mmap.mmap(fd, LAYOUT.size)
        finally:
            os.close(fd)

    def _add(self, requests: int, in_flight: int) -> None:
        # One event loop thread per process: no other writer between the read and the write.
        done, flying = LAYOUT.unpack_from(self._counters)
        LAYOUT.pack_into(self._counters, 0, done + requests, flying + in_flight)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self._add(1, 1)
        try:
            await self.app(scope, receive, send)
        finally:
            self._add(0, -1)
