"""Process start → first 2xx of one function, against a bare functions-framework baseline.

`python -m bench.function_start [runs]` (PostgreSQL at BENCH_DATABASE_URL, default the
local server): each run spawns the function as the runner and Knative do
(`python -m functions_framework --asgi`), then times its first 2xx on a real CloudEvent
(event-log, which opens its pool and writes to its schema) and, as the baseline, a no-op
function's first 2xx in the same run.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from tests.support import database as bench_database
from tests.support.servers import free_port
from tooling.manifests import REPO_ROOT


def _spawn(target: str, source: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "functions_framework", "--asgi"],
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


BENCH_EVENT_TYPE = "com.acougue.bench.ping"


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


def _first_2xx(port: int, started: float, *, event: bool | str) -> float:
    """Seconds from `started` to the first 2xx: on GET /, or on a CloudEvent (`event`: its
    type; True: the bench's own type)."""
    url = f"http://127.0.0.1:{port}/"
    while True:
        try:
            if event:
                headers, body = cloud_event(BENCH_EVENT_TYPE if event is True else event)
                answer = httpx.post(url, content=body, headers=headers, timeout=5)
            else:
                answer = httpx.get(url, timeout=5)
            if answer.is_success:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.005)


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
