"""Scale to zero, measured: what a request to a function at zero waits for, tracing on.

`python -m bench.scale_to_zero [rounds]` starts the whole system as `make run` does (memory
broker, the local PostgreSQL at BENCH_DATABASE_URL), at Knative's shortest idle window (6 s),
with every process tracing to a local `ddapm-test-agent`. Each round waits until the sampled
functions are at zero, then sends each one request straight at its port and times the first
2xx: the runner sees the waiting connection, forks the function from its warm template
(tooling/runner/warm.py), and the function accepts the request that waited.

Baseline in the same run, alternated with the rounds: a bare functions-framework function
(tests/runner/idle_function.py) started afresh with the image's command, start → first 2xx.
Records the scorecard's wake_from_zero row (the median over every sampled function).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.scorecard import record
from tests.observability.agent import test_agent
from tests.support.system import RunningSystem, running_system, wait_for
from tooling.manifests import REPO_ROOT
from tooling.runner.system import function_argv

DATABASE = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# A sale's path after a quiet minute: the counter's function, then the subscribers.
SAMPLED = ("complete-sale", "process-payment", "update-sale-status", "post-ledger-entry")
BARE = REPO_ROOT / "tests" / "runner" / "idle_function.py"


def _down(system: RunningSystem) -> bool:
    status = system.status()
    return all(status[name]["state"] == "down" for name in SAMPLED)


def _first_2xx(url: str, started: float | None = None, limit: float = 60.0) -> float:
    """Seconds from `started` (default: now) to the first 2xx on the URL's /healthz."""
    started = time.monotonic() if started is None else started
    while time.monotonic() - started < limit:
        try:
            if httpx.get(url + "/healthz", timeout=limit).status_code < 300:
                return time.monotonic() - started
        except httpx.TransportError:
            time.sleep(0.005)
    raise RuntimeError(f"{url}: no 2xx in {limit:.0f} s")


def _bare_start(agent_url: str) -> float:
    """The image's way: a fresh interpreter, functions-framework's app under uvicorn."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO_ROOT),
        "FUNCTION_TARGET": "answer",
        "FUNCTION_SOURCE": str(BARE),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DD_TRACE_AGENT_URL": agent_url,
    }
    started = time.monotonic()
    process = subprocess.Popen(function_argv(), env=env, stdout=subprocess.DEVNULL)
    try:
        return _first_2xx(f"http://127.0.0.1:{port}", started)
    finally:
        process.terminate()
        process.wait(10)


def main(rounds: int) -> None:
    woken: dict[str, list[float]] = {name: [] for name in SAMPLED}
    bare: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, test_agent(Path(tmp)) as agent:
        extra = {"ACOUGUE_STABLE_WINDOW": "6", "DD_TRACE_AGENT_URL": agent.url}
        with running_system(DATABASE, Path(tmp), amqp_url=None, extra_env=extra) as system:
            for _ in range(rounds):
                bare.append(_bare_start(agent.url))
                wait_for(lambda: _down(system), timeout=120, interval=0.5)
                for name in SAMPLED:
                    woken[name].append(_first_2xx(system.url(name)))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    every = [s for samples in woken.values() for s in samples]
    median = statistics.median(every)
    baseline = statistics.median(bare)
    print(f"request to a function at zero → first 2xx, tracing on ({rounds} rounds, load {load}):")
    for name, samples in woken.items():
        print(f"  {name:<20} median {statistics.median(samples):.3f} s, max {max(samples):.3f} s")
    print(f"  all                  median {median:.3f} s (×{median / baseline:.2f} the baseline)")
    print(f"baseline: bare function started afresh, first 2xx: median {baseline:.3f} s")
    record(
        "wake_from_zero",
        median,
        command=f"python -m bench.scale_to_zero {rounds}",
        baseline=f"bare function started afresh {baseline:.3f} s (×{median / baseline:.2f})",
        detail="; ".join(f"{n} {statistics.median(s):.3f} s" for n, s in woken.items()),
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
