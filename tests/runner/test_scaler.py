"""Scale to zero on one machine, with real processes: a function stops after its idle
window, the next request waits for a new process and is answered, a busy function and a
min-scale one stay up, and the setting turns it all off."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from multiprocessing.context import ForkServerContext
from pathlib import Path

import httpx
import psutil
import pytest

from tooling.manifests import REPO_ROOT
from tooling.runner.processes import ManagedProcess
from tooling.runner.scaling import ScalePolicy, Scaler, Unit, listening_socket
from tooling.runner.system import function_argv
from tooling.runner.warm import Forked, template

FUNCTION = Path(__file__).with_name("idle_function.py")


def _function(name: str, log_dir: Path, warm: ForkServerContext | None = None) -> ManagedProcess:
    sock = listening_socket(0)
    counters = log_dir / f"{name}.activity"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO_ROOT),
        "FUNCTION_TARGET": "answer",
        "FUNCTION_SOURCE": str(FUNCTION),
        "DD_TRACE_ENABLED": "false",
    }
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return ManagedProcess(name, function_argv(), env, url, log_dir, sock, counters, warm)


@asynccontextmanager
async def _scaled(
    tmp_path: Path,
    *policies: ScalePolicy,
    enabled: bool = True,
    warm: ForkServerContext | None = None,
) -> AsyncIterator[list[Unit]]:
    units = []
    for n, policy in enumerate(policies):
        process = _function(f"f{n}", tmp_path, warm)
        assert process.listener is not None
        units.append(Unit(process, process.listener, policy))
    scaler = Scaler(units, enabled=enabled, start_timeout=30, changed=lambda: None, interval=0.2)
    async with httpx.AsyncClient() as client:
        for unit in units:
            unit.process.start()
            await unit.process.wait_healthy(client, 30)
            scaler.mark_up(unit)
    running = asyncio.create_task(scaler.run())
    try:
        yield units
    finally:
        running.cancel()
        await scaler.close()
        for unit in units:
            unit.process.stop()
            unit.sock.close()


async def _until(unit: Unit, state: str) -> None:
    async with asyncio.timeout(30):
        while unit.state != state:  # noqa: ASYNC110 - the scaler sets it; polled, as a user would
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("warm", [False, True], ids=["exec", "forked-warm"])
async def test_an_idle_function_stops_and_the_next_request_wakes_it(
    tmp_path: Path, warm: bool
) -> None:
    """Started afresh (the image's way) or forked from the runner's warm template."""
    context = template() if warm else None
    async with _scaled(tmp_path, ScalePolicy(0, idle_window=1.0), warm=context) as (unit,):
        first = unit.process.pid
        await _until(unit, "down")
        assert unit.process.exited() is not None, "the process is gone"
        assert unit.status()["pid"] is None
        # The request waits in the runner's socket for a new process, then is answered.
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.get(unit.process.url + "/anything")
        assert answer.status_code == 200
        assert answer.json()["pid"] not in (None, first)
        assert answer.json()["pid"] == unit.process.pid, "one process: no master and worker"
        assert isinstance(unit.process.process, Forked) is warm
        await _until(unit, "up")
        assert unit.cold_starts == 1
        # Idle again: down again, and woken again.
        await _until(unit, "down")
        async with httpx.AsyncClient(timeout=30) as client:
            assert (await client.get(unit.process.url + "/")).status_code == 200
        await _until(unit, "up")
        assert unit.cold_starts == 2


async def test_a_busy_function_and_a_min_scale_one_stay_up(tmp_path: Path) -> None:
    async with _scaled(
        tmp_path,
        ScalePolicy(min_scale=0, idle_window=1.5),
        ScalePolicy(min_scale=1, idle_window=1.0),
    ) as (busy, pinned):
        pids = (busy.process.pid, pinned.process.pid)
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(20):  # 4 s of short requests, each on its own connection
                async with httpx.AsyncClient(timeout=30) as fresh:
                    assert (await fresh.get(busy.process.url + "/")).status_code == 200
                await asyncio.sleep(0.2)
            assert (await client.get(pinned.process.url + "/")).status_code == 200
        assert (busy.state, pinned.state) == ("up", "up")
        assert (busy.process.pid, pinned.process.pid) == pids
        assert busy.cold_starts == pinned.cold_starts == 0


async def test_scale_to_zero_off_keeps_every_function_up(tmp_path: Path) -> None:
    async with _scaled(tmp_path, ScalePolicy(0, 0.5), enabled=False) as (unit,):
        pid = unit.process.pid
        await asyncio.sleep(2.0)
        assert unit.state == "up"
        assert unit.process.pid == pid
        assert unit.process.exited() is None


async def test_a_long_request_in_flight_keeps_its_function_up(tmp_path: Path) -> None:
    """In flight for three times the idle window: its function stays up until it answers."""
    async with _scaled(tmp_path, ScalePolicy(0, 1.0)) as (unit,):
        pid = unit.process.pid
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.get(unit.process.url + "/slow", params={"seconds": "3"})
        assert answer.status_code == 200
        assert (unit.state, answer.json()["pid"]) == ("up", pid), "not stopped while in flight"
        assert unit.cold_starts == 0
        await _until(unit, "down")


def test_functions_forked_warm_end_when_the_runner_is_killed(tmp_path: Path) -> None:
    """kill -9 of the runner leaves no function behind (nor the template)."""
    parent = f"""
import asyncio, sys
from pathlib import Path
sys.path.insert(0, {str(REPO_ROOT)!r})
from tests.runner.test_scaler import _function
from tooling.runner.warm import template
process = _function("orphan", Path({str(tmp_path)!r}), template())
process.start()
print(process.pid, flush=True)
sys.stdin.read()
"""
    runner = subprocess.Popen(
        [sys.executable, "-c", parent], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert runner.stdout is not None
    child = int(runner.stdout.readline())
    assert psutil.pid_exists(child)
    template_pid = psutil.Process(child).ppid()
    runner.kill()
    runner.wait()
    _, alive = psutil.wait_procs([psutil.Process(child), psutil.Process(template_pid)], timeout=20)
    assert not alive, f"left behind: {alive}"
