"""The shop's clock: its days begin and end at midnight in São Paulo.

One definition for every domain (reports, the counter's lists, expiry dates): the IANA zone,
never a fixed offset, so a change of Brazil's rules is a tzdata update, not a code change.
Storage and events stay in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

ZONE_NAME = "America/Sao_Paulo"
SHOP_ZONE = ZoneInfo(ZONE_NAME)


def today(now: datetime | None = None) -> date:
    """The shop's current day (or that of `now`, an aware datetime)."""
    return (now or datetime.now(UTC)).astimezone(SHOP_ZONE).date()


def start_of(day: date) -> datetime:
    """The first instant of one of the shop's days, as an aware UTC datetime."""
    return datetime.combine(day, time(0), SHOP_ZONE).astimezone(UTC)
