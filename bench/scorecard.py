"""The cost-per-sale scorecard: every benchmark records its figures here, and
`python -m bench.scorecard` prints them beside their targets with ✔ or ✘.

Each figure is kept in `bench/scorecard.json` (one entry per row, the latest measurement
wins) with the command that produced it, the baseline measured in the same run, when it
was taken and the machine's load average then, so a figure is never read without its
context. bench/RESULTS.md holds the table of record.
"""

from __future__ import annotations

import json
import operator
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# BENCH_SCORECARD: another file, for short trial runs that must not replace the figures.
RESULTS = Path(os.environ.get("BENCH_SCORECARD") or Path(__file__).with_name("scorecard.json"))


@dataclass(frozen=True)
class Target:
    label: str
    unit: str
    limit: float
    better: str  # "lower" or "higher"

    def met(self, value: float) -> bool:
        compare: Callable[[float, float], bool] = (
            operator.le if self.better == "lower" else operator.ge
        )
        return compare(value, self.limit)

    @property
    def wanted(self) -> str:
        return f"{'≤' if self.better == 'lower' else '≥'} {_number(self.limit)} {self.unit}"


# The rows of issue 16's table, in its order.
TARGETS: dict[str, Target] = {
    "sale_rate": Target(
        "sale flow on RabbitMQ, tracing on, every effect within 2 s, held 60 s",
        "sales/s",
        50,
        "higher",
    ),
    "cpu_per_sale": Target("CPU per sale, whole system, tracing on", "ms", 40, "lower"),
    "post_p99": Target("POST /api/sales p99 at 20 sales/s", "ms", 100, "lower"),
    "paid_p99": Target("sale → paid p99 at 20 sales/s", "ms", 500, "lower"),
    "overload_unanswered": Target(
        "past capacity: requests neither answered in time nor shed (503 + Retry-After),"
        " and accepted sales lost",
        "",
        0,
        "lower",
    ),
    "idle_rss": Target("`make run` resident memory, idle", "MB", 800, "lower"),
    "cold_start": Target(
        "cold start, process start → first 2xx, tracing on (median)", "s", 0.5, "lower"
    ),
    "finance_year": Target("finance report over a year (150k entries)", "ms", 200, "lower"),
    # Not in the table: what scale to zero costs a request on the shop's PC (the
    # runner forks the function from its warm template), beside the image's cold start.
    "wake_from_zero": Target(
        "a request to a function at zero, first 2xx, tracing on (median; local runner)",
        "s",
        0.5,
        "lower",
    ),
}


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:.3g}"


def load(path: Path = RESULTS) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    found: dict[str, dict[str, Any]] = json.loads(path.read_text())
    return found


def record(
    key: str,
    value: float,
    *,
    command: str,
    baseline: str = "",
    detail: str = "",
    short_of: str = "",
    path: Path = RESULTS,
) -> None:
    """Keep one row's newest figure, with what produced it and what the machine was doing.
    `short_of` says why the figure cannot meet the target whatever its value (it was taken
    under easier conditions than the target's, e.g. at a lower rate)."""
    if key not in TARGETS:
        raise KeyError(f"no scorecard row {key!r}; rows: {', '.join(TARGETS)}")
    results = load(path)
    results[key] = {
        "value": value,
        "command": command,
        "baseline": baseline,
        "detail": detail,
        "short_of": short_of,
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "load": [round(x, 2) for x in os.getloadavg()],
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = ["| figure | measured | target | | baseline, same run | when (load) |"]
    lines.append("|---|---|---|---|---|---|")
    for key, target in TARGETS.items():
        found = results.get(key)
        if found is None:
            lines.append(f"| {target.label} | not measured | {target.wanted} | ✘ | | |")
            continue
        value = float(found["value"])
        short_of = found.get("short_of", "")
        mark = "✔" if target.met(value) and not short_of else "✘"
        measured = f"{_number(value)} {target.unit}".strip()
        if short_of:
            measured += f" ({short_of})"
        when = f"{found['measured']} ({', '.join(str(x) for x in found['load'])})"
        lines.append(
            f"| {target.label} | {measured} | {target.wanted} | {mark} |"
            f" {found.get('baseline', '')} | {when} |"
        )
    return "\n".join(lines)


def main() -> int:
    results = load()
    print(table(results))
    commands = {key: found["command"] for key, found in results.items()}
    if commands:
        print()
        for key, command in commands.items():
            print(f"  {key}: {command}")
    missing = [key for key in TARGETS if key not in results]
    return 1 if missing and "--strict" in sys.argv else 0


if __name__ == "__main__":
    raise SystemExit(main())
