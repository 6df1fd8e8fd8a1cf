"""Turning iCalendar date values into UTC instants, and local days and weeks.

Floating times (no TZID, no ``Z``) and all-day dates mean "local time at the
school", so they are read in the hub time zone. zoneinfo resolves a wall time
that does not exist (the spring-forward gap) with the offset from before the
gap and an ambiguous one (the autumn fold) as its first occurrence, which is
what RFC 5545 section 3.3.5 asks for.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

__all__ = [
    "UTC",
    "day_bounds",
    "format_recurrence_id",
    "iana_names",
    "is_known_zone_name",
    "local_date",
    "to_utc",
    "week_bounds",
]

ONE_DAY = timedelta(days=1)


def to_utc(value: date | datetime, zone: tzinfo) -> datetime:
    """An aware UTC datetime for a DATE (local midnight) or DATE-TIME (floating = local)."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), tzinfo=zone)
    elif value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


@functools.cache
def iana_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_known_zone_name(tzid: str) -> bool:
    """Whether a TZID names an IANA or a Windows zone (a fixed set, unlike made-up ones)."""
    return tzid in iana_names() or tzid in WINDOWS_TO_OLSON


def local_date(instant: datetime, zone: tzinfo) -> date:
    return instant.astimezone(zone).date()


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """Start and end (UTC) of a local day; 23 or 25 hours long on DST change days."""
    return to_utc(day, zone), to_utc(day + ONE_DAY, zone)


def week_bounds(instant: datetime, zone: tzinfo) -> tuple[str, datetime, datetime]:
    """The local ISO week of an instant: its label (``2025-W09``), start and end in UTC."""
    day = local_date(instant, zone)
    year, week, weekday = day.isocalendar()
    monday = day - timedelta(days=weekday - 1)
    return f"{year}-W{week:02d}", to_utc(monday, zone), to_utc(monday + 7 * ONE_DAY, zone)


def format_recurrence_id(value: date | datetime, zone: tzinfo) -> str:
    """``YYYYMMDD`` for a date, ``YYYYMMDDTHHMMSSZ`` (UTC) for a date-time."""
    if not isinstance(value, datetime):
        return value.strftime("%Y%m%d")
    return to_utc(value, zone).strftime("%Y%m%dT%H%M%SZ")
