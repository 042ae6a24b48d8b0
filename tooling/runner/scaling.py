"""Scale to zero on one machine, in the shape Knative's autoscaler and activator give the
cluster: a function's process stops after its idle window and starts again on the next
request or delivery, which waits for it meanwhile.

The runner binds each function's port itself and hands the listening socket to the process
it starts (LISTEN_FD, read by `shared.server`). While the function is at zero the socket
stays open in the runner: the kernel completes a caller's connection and holds it in the
backlog, the runner sees the socket readable and starts the process, and the process
accepts what waited, as the activator holds requests until a pod is ready. Nothing proxies
a request: a running function is reached directly, at no cost per request.

Idle means no request for the whole idle window: the server counts requests, and those in
flight, where the runner reads them (shared/activity.py), as a pod's queue-proxy counts them
for Knative's autoscaler. A request still in flight keeps its function up however long it
takes.

What Knative Serving does and this honours is kept as data below, with where it comes from.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared import activity
from tooling.manifests import ServiceSpec
from tooling.runner.processes import ManagedProcess

log = logging.getLogger("acougue.runner")

# knative/serving knative-v1.22.1, config/core/configmaps/autoscaler.yaml: the cluster-wide
# defaults (stable-window "60s", scale-to-zero-pod-retention-period "0s", min-scale "0",
# enable-scale-to-zero "true"); pkg/apis/autoscaling/register.go: the per-revision
# annotations that override them and the window's bounds (WindowMin 6 s, WindowMax 1 h).
MIN_SCALE = "autoscaling.knative.dev/min-scale"
WINDOW = "autoscaling.knative.dev/window"
RETENTION = "autoscaling.knative.dev/scale-to-zero-pod-retention-period"
DEFAULT_STABLE_WINDOW = 60.0
WINDOW_MIN, WINDOW_MAX = 6.0, 3600.0

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def go_duration(text: str) -> float:
    """Seconds of a Go duration as Knative's annotations write them ("60s", "1m30s")."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


@dataclass(frozen=True)
class ScalePolicy:
    min_scale: int
    idle_window: float  # seconds without a connection before the last process stops


def policy_of(svc: ServiceSpec, stable_window: float = DEFAULT_STABLE_WINDOW) -> ScalePolicy:
    """The Service's own annotations, else the cluster-wide defaults (stable_window: the
    runner's ACOUGUE_STABLE_WINDOW, as config-autoscaler's stable-window)."""
    notes = svc.annotations
    min_scale = int(notes.get(MIN_SCALE, "0"))
    if min_scale < 0:
        raise ValueError(f"{svc.name}: {MIN_SCALE} must not be negative")
    window = go_duration(notes[WINDOW]) if WINDOW in notes else stable_window
    if not WINDOW_MIN <= window <= WINDOW_MAX:
        raise ValueError(f"{svc.name}: {WINDOW} must be between 6s and 1h, not {window} s")
    retention = go_duration(notes[RETENTION]) if RETENTION in notes else 0.0
    return ScalePolicy(min_scale, window + retention)


def listening_socket(port: int, host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(socket.SOMAXCONN)
    sock.setblocking(False)
    return sock


@dataclass
class Unit:
    """One function under the scaler: its process, its socket, its policy."""

    process: ManagedProcess
    sock: socket.socket
    policy: ScalePolicy
    state: str = "down"  # down, starting, up, stopping
    last_active: float = field(default_factory=time.monotonic)
    since: float = field(default_factory=time.time)
    cold_starts: int = 0
    last_cold_start: float | None = None
    seen_requests: int = 0

    def saw_activity(self) -> bool:
        """Requests since the last look, or some in flight."""
        path = self.process.activity_file
        if path is None:
            return False
        try:
            requests, in_flight = activity.read(path)
        except (OSError, ValueError):  # not written yet by a process just started
            return False
        fresh = requests != self.seen_requests
        self.seen_requests = requests
        return fresh or in_flight > 0

    @property
    def port(self) -> int:
        port: int = self.sock.getsockname()[1]
        return port

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "pid": self.process.pid if self.state in ("starting", "up") else None,
            "since": round(self.since, 3),
            "min_scale": self.policy.min_scale,
            "idle_window": self.policy.idle_window,
            "cold_starts": self.cold_starts,
            "last_cold_start_seconds": self.last_cold_start,
            "restarts": self.process.restarts,
        }


class Scaler:
    """Starts a function on its first waiting connection, stops it after its idle window."""

    def __init__(
        self,
        units: list[Unit],
        *,
        enabled: bool,
        start_timeout: float,
        changed: Callable[[], None],
        interval: float = 1.0,
    ) -> None:
        self.units = {u.process.name: u for u in units}
        self.enabled = enabled
        self.start_timeout = start_timeout
        self.changed = changed
        self.interval = interval
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._client = httpx.AsyncClient()

    def _set(self, unit: Unit, state: str) -> None:
        unit.state, unit.since = state, time.time()
        self.changed()

    def mark_up(self, unit: Unit) -> None:
        """Started with the system (Knative's initial-scale 1): up until it idles."""
        unit.last_active = time.monotonic()
        self._set(unit, "up")

    async def run(self) -> None:
        if not self.enabled:
            return
        while not self._closing:
            await asyncio.sleep(self.interval)
            now = time.monotonic()
            for unit in self.units.values():
                if unit.state == "up" and unit.saw_activity():
                    unit.last_active = now
                idle = now - unit.last_active >= unit.policy.idle_window
                if idle and unit.state == "up" and unit.policy.min_scale == 0:
                    self._spawn(self._scale_down(unit))

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _scale_down(self, unit: Unit) -> None:
        self._set(unit, "stopping")
        unit.process.wanted = False
        await asyncio.to_thread(unit.process.stop)
        if self._closing:
            return
        self._set(unit, "down")
        log.info("%s scaled to zero after %.0f s idle", unit.process.name, unit.policy.idle_window)
        asyncio.get_running_loop().add_reader(unit.sock.fileno(), self._waiting, unit)

    def _waiting(self, unit: Unit) -> None:
        """A connection waits in the backlog of a function at zero: start it."""
        asyncio.get_running_loop().remove_reader(unit.sock.fileno())
        if not self._closing and unit.state == "down":
            self._spawn(self._scale_up(unit))

    async def _scale_up(self, unit: Unit) -> None:
        self._set(unit, "starting")
        unit.process.wanted = True
        unit.process.start()
        try:
            seconds = await unit.process.wait_healthy(self._client, self.start_timeout)
        except RuntimeError as exc:  # the supervisor restarts a process that crashed
            log.warning("%s: cold start failed: %s", unit.process.name, exc)
            seconds = None
        unit.cold_starts += 1
        unit.last_cold_start = None if seconds is None else round(seconds, 3)
        unit.last_active = time.monotonic()
        unit.seen_requests = 0
        self._set(unit, "up")
        log.info("%s started on demand in %s s", unit.process.name, unit.last_cold_start)

    def status(self) -> dict[str, dict[str, Any]]:
        return {name: unit.status() for name, unit in self.units.items()}

    async def close(self) -> None:
        self._closing = True
        loop = asyncio.get_running_loop()
        for unit in self.units.values():
            loop.remove_reader(unit.sock.fileno())
        for task in list(self._tasks):
            task.cancel()
        await self._client.aclose()
