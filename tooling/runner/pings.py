"""When the local runner fires each PingSource: at its cron times in its time zone, as
Knative's adapter does; the per-minute outbox sweep on the runner's shorter timer
(ACOUGUE_SWEEP_INTERVAL), so that a local publish that missed is retried in seconds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter

from tooling.manifests import PingSpec

EVERY_MINUTE = "* * * * *"
# A long wait is slept in steps of at most this, reading the wall clock again after each:
# a laptop that slept through a cron time fires on waking, not a day late.
MAX_NAP_SECONDS = 60.0


def on_sweep_timer(ping: PingSpec) -> bool:
    """A per-minute source: fired every sweep interval instead of every minute."""
    return ping.schedule.split() == EVERY_MINUTE.split()


def next_fire(ping: PingSpec, after: datetime) -> datetime:
    """The first of the schedule's times strictly after `after` (aware), read in the
    PingSource's zone (UTC when it names none, as Knative), in UTC."""
    zone = ZoneInfo(ping.timezone) if ping.timezone else UTC
    found: datetime = croniter(ping.schedule, after.astimezone(zone)).get_next(datetime)
    return found.astimezone(UTC)


def nap(until: datetime, now: datetime) -> float:
    """How long to sleep before looking at the clock again (0: it is time)."""
    return max(0.0, min((until - now).total_seconds(), MAX_NAP_SECONDS))


async def sleep_until(due: datetime) -> None:
    """Return at `due` (wall clock), or at once when it is past."""
    while True:
        wait = nap(due, datetime.now(UTC))
        if wait == 0:
            return
        await asyncio.sleep(wait)
