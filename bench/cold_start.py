"""A function's cold start with the tracer on and off: process start → first 2xx.

`python -m bench.cold_start [runs] [function ...]` (PostgreSQL at BENCH_DATABASE_URL, default
the local server). Each run spawns every function as the runner does (its own command,
`tooling.runner.system.function_argv()`, with the function's manifest settings) and times
its first 2xx on a real CloudEvent, in three modes alternated within the run so that the
machine's load falls on them alike:

- baseline: a bare functions-framework no-op function (GET /), started the same way, as
  `bench.function_start`;
- off: the function with `DD_TRACE_ENABLED=false`;
- on: the function as deployed, tracing on, sending to a local `ddapm-test-agent` when it
  is installed (else to an agent that is not there, which costs the same at start).

event-log gets a `category.created` from create-category (it writes it to its schema: since
issue 14 it refuses, 403, a type no function of the shop emits); outbox-relay gets the
PingSource's sweep event, which it answers by querying every domain's outbox. (Before the
relay existed every function answered the sweep; the business functions no longer do.)

Records the scorecard's cold_start row: the median of the slowest function's "tracing on"
runs (each function's median in the detail), with the baseline's median beside it.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import sys
from pathlib import Path

from bench import probe
from bench.function_start import _measure, _summary
from bench.scorecard import record
from shared.events.envelope import PING_TYPE
from tests.support import database as bench_database
from tooling.manifests import load_topology

DEFAULT_FUNCTIONS = ("event-log", "outbox-relay")
# The first CloudEvent each function is timed on: one it answers 2xx (True: a registered
# type from its owner, `bench.function_start.owned_event`).
FIRST_EVENT: dict[str, bool | str] = {"event-log": True, "outbox-relay": PING_TYPE}
NOOP = str(Path(__file__).parent / "fixtures" / "noop.py")
_DB_SECRET = re.compile(r"^acougue-db-([a-z]+)$")


def _function_env(
    name: str, db: bench_database.ProvisionedDatabase
) -> tuple[str, str, dict[str, str]]:
    """FUNCTION_TARGET, FUNCTION_SOURCE and the environment of one function's manifest."""
    service = load_topology().services[name]
    env = {k: v for k, v in service.env.items() if "svc.cluster.local" not in v}
    for variable, ref in service.secret_env.items():
        found = _DB_SECRET.match(ref.secret)
        if found:
            env[variable] = db.role_dsn(found.group(1))
    env.update(AUTH_JWKS_URL="http://127.0.0.1:1/unused", DD_ENV="bench", DD_SERVICE=name)
    if service.publishes:  # the SinkBinding's; nothing is published from an empty outbox
        env["K_SINK"] = "http://127.0.0.1:9/"
    return env.pop("FUNCTION_TARGET"), env.pop("FUNCTION_SOURCE"), env


def main(runs: int, functions: tuple[str, ...]) -> None:
    server = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    db = asyncio.run(bench_database.create(server))
    base = {k: v for k, v in os.environ.items() if not k.startswith("DD_")}
    samples: dict[str, list[float]] = {"baseline": []}
    cpu: dict[str, list[float]] = {}
    try:
        with probe.tracing_agent() as agent:
            traced = {**base, **probe.tracing_env(agent)}
            specs = {name: _function_env(name, db) for name in functions}
            for _ in range(runs):
                samples["baseline"].append(
                    _measure("noop", NOOP, base, event=False, cpu=cpu.setdefault("baseline", []))
                )
                for name, (target, source, env) in specs.items():
                    event = FIRST_EVENT[name]
                    for mode, mode_env in (
                        ("off", {**base, **env, "DD_TRACE_ENABLED": "false"}),
                        ("on", {**traced, **env}),
                    ):
                        key = f"{name} {mode}"
                        seconds = _measure(
                            target, source, mode_env, event=event, cpu=cpu.setdefault(key, [])
                        )
                        samples.setdefault(key, []).append(seconds)
    finally:
        bench_database.drop(server, db)
    where = probe.describe_agent(agent)
    command = f"python -m bench.cold_start {runs} {' '.join(functions)}"
    print(f"command: {command}")
    print(f"({runs} runs, modes alternated; tracing on sends to {where})")
    print("wall clock from spawn to the first 2xx; CPU: what the process used until then")
    print(f"{'baseline no-op function':32}: {_line(samples, cpu, 'baseline')}")
    for name in functions:
        wall = statistics.median(samples[f"{name} on"]) - statistics.median(samples[f"{name} off"])
        spent = statistics.median(cpu[f"{name} on"]) - statistics.median(cpu[f"{name} off"])
        print(f"{name + ', tracing off':32}: {_line(samples, cpu, name + ' off')}")
        print(f"{name + ', tracing on':32}: {_line(samples, cpu, name + ' on')}")
        print(f"{'':32}  tracing adds {wall:+.3f} s wall, {spent:+.3f} s CPU (medians)")
    on = {name: statistics.median(samples[f"{name} on"]) for name in functions}
    slowest = max(on, key=lambda name: on[name])
    record(
        "cold_start",
        round(on[slowest], 3),
        command=command,
        baseline=(
            f"bare functions-framework function {statistics.median(samples['baseline']):.3f} s"
            " (median, same command)"
        ),
        detail=(
            f"median of {runs} runs of the slowest function, {slowest}: spawn with the"
            " runner's command → first 2xx on a CloudEvent, tracing on, sending to"
            f" {where}; tracing on/off medians: "
            + ", ".join(
                f"{name} {on[name]:.3f}/{statistics.median(samples[f'{name} off']):.3f} s"
                for name in functions
            )
        ),
    )


def _line(samples: dict[str, list[float]], cpu: dict[str, list[float]], key: str) -> str:
    return f"{_summary(samples[key])}; CPU median {statistics.median(cpu[key]):.3f} s"


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    main(count, tuple(sys.argv[2:]) or DEFAULT_FUNCTIONS)
