"""The local runner fires each PingSource at its cron times in its time zone
(tooling/runner/pings.py), the per-minute outbox sweep on the sweep timer; the manifests
give each PingSource its zone and refuse a zone or schedule nothing can read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tooling.manifests import Destination, ManifestError, PingSpec, load_topology
from tooling.runner import pings

SINK = Destination(service="receivables")


def _ping(schedule: str, timezone: str | None = None) -> PingSpec:
    return PingSpec("p", schedule, "{}", SINK, timezone)


def _utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_the_manifests_give_each_pingsource_its_zone() -> None:
    found = {p.name: p for p in load_topology().pings}
    assert found["settle-receivables"].timezone == "America/Sao_Paulo"
    assert found["settle-receivables"].schedule == "0 6 * * *"
    assert found["outbox-sweep"].timezone is None
    assert pings.on_sweep_timer(found["outbox-sweep"])
    assert not pings.on_sweep_timer(found["settle-receivables"])


def _write_ping(root: Path, schedule: str, timezone: str) -> None:
    (root / "knative").mkdir()
    (root / "eventing").mkdir()
    (root / "knative" / "ping.yaml").write_text(
        "apiVersion: sources.knative.dev/v1\n"
        "kind: PingSource\n"
        "metadata: {name: p}\n"
        f"spec: {{schedule: '{schedule}', timezone: '{timezone}', sink: {{uri: 'http://x'}}}}\n"
    )


@pytest.mark.parametrize(
    ("schedule", "timezone", "refusal"),
    [
        ("0 6 * * *", "America/Sao_Pablo", "unknown timezone"),
        ("0 6 * * *", "../etc/passwd", "unknown timezone"),
        ("0 25 * * *", "America/Sao_Paulo", "invalid schedule"),
        ("every morning", "UTC", "invalid schedule"),
    ],
)
def test_a_pingsource_nothing_can_read_stops_the_start(
    tmp_path: Path, schedule: str, timezone: str, refusal: str
) -> None:
    _write_ping(tmp_path, schedule, timezone)
    with pytest.raises(ManifestError, match=refusal):
        load_topology(tmp_path)


def test_a_readable_pingsource_is_loaded_with_its_zone(tmp_path: Path) -> None:
    _write_ping(tmp_path, "30 7 * * 1-5", "Europe/Lisbon")
    [ping] = load_topology(tmp_path).pings
    assert (ping.schedule, ping.timezone, ping.sink.uri) == (
        "30 7 * * 1-5",
        "Europe/Lisbon",
        "http://x",
    )


def test_six_in_the_morning_in_sao_paulo_is_nine_utc() -> None:
    daily = _ping("0 6 * * *", "America/Sao_Paulo")
    # 05:00 in São Paulo: today at 06:00 (09:00 UTC).
    assert pings.next_fire(daily, _utc(2026, 12, 7, 8)) == _utc(2026, 12, 7, 9)
    # Exactly at a fire time: the next one, tomorrow (never the same time twice).
    assert pings.next_fire(daily, _utc(2026, 12, 7, 9)) == _utc(2026, 12, 8, 9)
    # 23:30 in São Paulo is 02:30 UTC of the next day: still the same local morning next.
    assert pings.next_fire(daily, _utc(2026, 12, 8, 2, 30)) == _utc(2026, 12, 8, 9)


def test_no_zone_is_utc_as_knative_reads_it() -> None:
    assert pings.next_fire(_ping("0 6 * * *"), _utc(2026, 12, 7, 8)) == _utc(2026, 12, 8, 6)


def test_a_zone_with_daylight_saving_keeps_the_local_hour() -> None:
    """New York leaves standard time on 2026-03-08: 06:00 local is 11:00 UTC before, 10:00
    after. (São Paulo has had no daylight saving since 2019.)"""
    daily = _ping("0 6 * * *", "America/New_York")
    assert pings.next_fire(daily, _utc(2026, 3, 7, 12)) == _utc(2026, 3, 8, 10)
    assert pings.next_fire(daily, _utc(2026, 3, 6, 12)) == _utc(2026, 3, 7, 11)


def test_each_fire_time_follows_the_last_one() -> None:
    weekdays = _ping("30 7 * * 1-5", "America/Sao_Paulo")
    at, seen = _utc(2026, 12, 4, 12), []  # a Friday, after 07:30 local
    for _ in range(3):
        at = pings.next_fire(weekdays, at)
        seen.append(at)
    assert seen == [_utc(2026, 12, 7, 10, 30), _utc(2026, 12, 8, 10, 30), _utc(2026, 12, 9, 10, 30)]


def test_a_nap_is_short_and_never_negative() -> None:
    now = _utc(2026, 12, 7, 8)
    assert pings.nap(now + timedelta(hours=20), now) == pings.MAX_NAP_SECONDS
    assert pings.nap(now + timedelta(seconds=7), now) == 7
    assert pings.nap(now - timedelta(seconds=7), now) == 0
