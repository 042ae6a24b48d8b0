"""What the benchmarks read off a running system: its process tree's CPU and memory, the
runner's current state file, and a local Datadog test agent to trace against.

CPU of a process tree is counted so that processes may start and stop in between two
readings (the runner scales functions to zero and starts them on demand): a reading is the
sum, over every live process of the tree, of its own user+system time plus the times of
its children it has already waited for (`cutime`/`cstime` in /proc: a stopped function the
runner reaped is still counted there, for its whole life). The difference of two readings
is what the tree spent in between; a process that appears is counted from 0. Only a process
reaped by something outside the tree would be lost (none is: the runner waits for its
children), and `CpuReading.gone` lists what stopped so a figure can say so.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from tests.observability.agent import BINARY, TestAgent, test_agent
from tooling.manifests import load_topology

MB = 10**6  # the targets' MB: 10^6 bytes


def tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants (those alive now)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


@dataclass(frozen=True)
class CpuReading:
    seconds: float  # user + system of the tree so far, reaped children included
    processes: frozenset[tuple[int, float]]  # (pid, create time) of the live processes
    taken: float = field(default_factory=time.monotonic)

    def since(self, before: CpuReading) -> float:
        return self.seconds - before.seconds

    def gone(self, before: CpuReading) -> int:
        """Processes alive at `before` and not now (stopped, counted through their parent)."""
        return len(before.processes - self.processes)

    def appeared(self, before: CpuReading) -> int:
        return len(self.processes - before.processes)


def cpu_reading(pids: list[int]) -> CpuReading:
    """The CPU the trees rooted at `pids` have used so far (see the module's docstring)."""
    total = 0.0
    seen: set[tuple[int, float]] = set()
    for pid in pids:
        for process in tree(pid):
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    created = process.create_time()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            total += times.user + times.system + times.children_user + times.children_system
            seen.add((process.pid, created))
    return CpuReading(total, frozenset(seen))


@dataclass(frozen=True)
class Memory:
    rss: float  # MB, summed over the tree (shared pages counted once per process)
    pss: float | None  # MB, proportional set size summed (shared pages split): None if unreadable
    processes: int
    largest: list[tuple[str, float]]  # (name, RSS MB), largest first

    def describe(self) -> str:
        pss = f", PSS {self.pss:.0f} MB" if self.pss is not None else ""
        shown = self.largest if len(self.largest) <= 8 else self.largest[:5]
        top = ", ".join(f"{name} {rss:.0f}" for name, rss in shown)
        which = "RSS (MB)" if shown == self.largest else "largest RSS (MB)"
        return f"{self.processes} processes{pss}; {which}: {top}"


def memory(pid: int, names: dict[int, str] | None = None) -> Memory:
    """Resident memory of the tree rooted at `pid`, in MB (10^6 bytes)."""
    rss, pss, count, sizes = 0, 0, 0, []
    pss_known = True
    for process in tree(pid):
        try:
            info = process.memory_info()
            name = _name(process, names or {})
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        try:
            pss += process.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied, AttributeError):
            pss_known = False
        rss += info.rss
        count += 1
        sizes.append((name, info.rss / MB))
    sizes.sort(key=lambda item: -item[1])
    return Memory(rss / MB, pss / MB if pss_known else None, count, sizes)


def _name(process: psutil.Process, names: dict[int, str]) -> str:
    """The service's name (from `names`), or "<its nearest named ancestor>'s child"."""
    if process.pid in names:
        return names[process.pid]
    for parent in process.parents():
        if parent.pid in names:
            return f"{names[parent.pid]}'s child"
    return " ".join(process.cmdline()[:3])


def quiesce(
    pids: list[int], *, below: float = 0.25, window: float = 2.0, limit: float = 60.0
) -> float:
    """Waits until the trees use less than `below` cores over `window` s (a backlog worked
    off), at most `limit` s; returns the last rate seen (cores)."""
    deadline = time.monotonic() + limit
    while True:
        first = cpu_reading(pids)
        time.sleep(window)
        rate = cpu_reading(pids).since(first) / window
        if rate < below or time.monotonic() > deadline:
            return rate


def server_pids() -> dict[str, int]:
    """The local PostgreSQL and RabbitMQ servers' top processes, when this machine runs them
    (their CPU is shared with whatever else uses them: read it as an upper bound)."""
    found: dict[str, int] = {}
    wanted = {"postgres": "PostgreSQL", "beam.smp": "RabbitMQ"}
    for process in psutil.process_iter(["name", "ppid"]):
        label = wanted.get(process.info["name"] or "")
        if label is None or label in found:
            continue
        try:
            parent = psutil.Process(process.info["ppid"]).name()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            parent = ""
        if parent != process.info["name"]:
            found[label] = process.pid
    return found


# -- the runner's state file ---------------------------------------------------------------


def read_state(path: Path) -> dict[str, Any]:
    """The runner's state file as it is now (the runner rewrites it on every change)."""
    for _ in range(20):
        try:
            state: dict[str, Any] = json.loads(path.read_text())
            return state
        except (OSError, ValueError):  # between its write and its rename: read again
            time.sleep(0.05)
    raise RuntimeError(f"cannot read the runner's state file {path}")


def names_by_pid(state: dict[str, Any]) -> dict[int, str]:
    return {int(pid): name for name, pid in state.get("pids", {}).items() if pid}


def timer_woken() -> set[str]:
    """The services a PingSource wakes (the outbox relay, every ACOUGUE_SWEEP_INTERVAL s
    locally): idle, they are up as often as the timer says, whatever the stable window."""
    return {p.sink.service for p in load_topology().pings if p.sink.service}


def scaled_down(state: dict[str, Any], *, besides: set[str]) -> tuple[bool | None, list[str]]:
    """Whether every process with min_scale 0 but those `besides` is down (None: the runner
    does not say), and which of those are not."""
    processes = state.get("processes")
    if not isinstance(processes, dict):
        return None, []
    up = [
        name
        for name, info in processes.items()
        if int(info.get("min_scale", 1)) == 0
        and info.get("state") != "down"
        and name not in besides
    ]
    return not up, sorted(up)


def states(state: dict[str, Any], names: set[str]) -> str:
    """e.g. "outbox-relay up" (what the runner's state file says of `names`)."""
    processes = state.get("processes") or {}
    return ", ".join(
        f"{name} {processes.get(name, {}).get('state', '?')}" for name in sorted(names)
    )


# -- tracing -------------------------------------------------------------------------------


@contextmanager
def tracing_agent() -> Iterator[TestAgent | None]:
    """A local ddapm-test-agent (the dev dependency), or None when it is not installed."""
    if not (Path(sys.executable).parent / BINARY).exists():
        yield None
        return
    with tempfile.TemporaryDirectory() as logs, test_agent(Path(logs)) as agent:
        yield agent


def tracing_env(agent: TestAgent | None) -> dict[str, str]:
    """Tracing on, sending to `agent` (to a port nobody listens on without one)."""
    return {
        "DD_TRACE_ENABLED": "true",
        "DD_TRACE_AGENT_URL": agent.url if agent else "http://127.0.0.1:9",
    }


def describe_agent(agent: TestAgent | None) -> str:
    return "a local ddapm-test-agent" if agent else "no agent listening (traces dropped)"
