"""Process start → first 2xx of one function, against a bare functions-framework baseline.

`python -m bench.function_start [runs]` (PostgreSQL at BENCH_DATABASE_URL, default the
local server): each run spawns the function as the runner does
(`tooling.runner.system.function_argv()`, the runner's own command), then times its first
2xx on a real CloudEvent (a `category.created` from create-category to event-log, which
opens its pool and writes it to its schema) and, as the baseline, a bare functions-framework
no-op function's first 2xx, started the same way, in the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from bench.probe import cpu_reading
from tests.support import database as bench_database
from tests.support.servers import free_port
from tooling.manifests import REPO_ROOT
from tooling.runner.system import function_argv


def _spawn(target: str, source: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """One function's server process, started with the runner's command."""
    return subprocess.Popen(
        function_argv(),
        env={
            **env,
            "FUNCTION_TARGET": target,
            "FUNCTION_SOURCE": source,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "PYTHONPATH": str(REPO_ROOT),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# The CloudEvent a subscriber is timed on: a registered type from the function that owns it
# (since issue 14 a subscriber refuses, 403, a type no function of the shop emits).
OWNED_EVENT = ("com.acougue.category.created", "/acougue/create-category")


def owned_event() -> tuple[dict[str, str], bytes]:
    """A fresh `category.created` from create-category (event-log records any such)."""
    type_, source = OWNED_EVENT
    body = json.dumps({"category_id": str(uuid.uuid4()), "name": "Bench"}).encode()
    return cloud_event(type_, body, source=source)


def cloud_event(
    type_: str, body: bytes = b'{"n": 1}', *, source: str = "/bench", **attributes: str
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a binary-mode CloudEvent with a fresh id (and any further
    `attributes`, e.g. time)."""
    headers = {
        "ce-specversion": "1.0",
        "ce-id": str(uuid.uuid4()),
        "ce-source": source,
        "ce-type": type_,
        **{f"ce-{name}": value for name, value in attributes.items()},
        "content-type": "application/json",
    }
    return headers, body


def _first_2xx(port: int, started: float, *, event: bool | str, limit: float = 60.0) -> float:
    """Seconds from `started` to the first 2xx: on GET /, or on a CloudEvent (`event`: its
    type; True: `owned_event()`). A process that answers none within `limit` s is an error
    (its last answer in the message), not a benchmark that never ends."""
    url = f"http://127.0.0.1:{port}/"
    last = "no answer"
    while time.perf_counter() - started < limit:
        try:
            if event:
                headers, body = owned_event() if event is True else cloud_event(event)
                answer = httpx.post(url, content=body, headers=headers, timeout=5)
            else:
                answer = httpx.get(url, timeout=5)
            if answer.is_success:
                return time.perf_counter() - started
            last = f"{answer.status_code} {answer.text[:200]}"
        except httpx.HTTPError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"no 2xx from {url} within {limit:.0f} s; last answer: {last}")


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its children have used so far."""
    return cpu_reading([pid]).seconds


def _measure(
    target: str,
    source: str,
    env: dict[str, str],
    *,
    event: bool | str,
    cpu: list[float] | None = None,
) -> float:
    """Seconds to the first 2xx; with `cpu`, also appends the CPU time the process used
    until then (what a busy machine does not inflate)."""
    port = free_port()
    started = time.perf_counter()
    process = _spawn(target, source, env, port)
    try:
        seconds = _first_2xx(port, started, event=event)
        if cpu is not None:
            cpu.append(_cpu_seconds(process.pid))
        return seconds
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:  # a loaded machine: do not let one run end the bench
            process.kill()
            process.wait()


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {statistics.median(ordered):.3f} s, p95 {p95:.3f} s"


def main(runs: int) -> None:
    server = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    db = asyncio.run(bench_database.create(server))
    try:
        env = {
            **os.environ,
            "DATABASE_URL": db.role_dsn("platform"),
            "AUTH_JWKS_URL": "http://127.0.0.1:1/unused",
            # As its manifest says (the cluster's broker cannot sign deliveries yet): the
            # bench's event comes unsigned. What the checks cost: bench.event_trust.
            "EVENT_AUTHENTICATION": "off",
        }
        noop, event_log = [], []
        for _ in range(runs):
            noop.append(
                _measure(
                    "noop", str(Path(__file__).parent / "fixtures" / "noop.py"), env, event=False
                )
            )
            event_log.append(_measure("event_log", "functions/platform/main.py", env, event=True))
    finally:
        bench_database.drop(server, db)
    base = statistics.median(noop)
    print(f"command: python -m bench.function_start {runs}   ({runs} runs each, alternating)")
    print(f"baseline no-op function, first 2xx       : {_summary(noop)}")
    print(
        f"event-log, first 2xx on a CloudEvent     : {_summary(event_log)}"
        f"  (x{statistics.median(event_log) / base:.2f} the baseline)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
