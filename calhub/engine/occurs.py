"""Whether a recurrence rule occurs at all, found out in bounded time.

dateutil (inside Radicale's vobject and inside calhub) looks for the next date of a rule
period by period, and it stops at UNTIL, COUNT or the year 9999 only when it meets a date
the rule's BYxxx parts let through: a rule that never matches (BYMONTH=1;BYYEARDAY=200,
BYWEEKNO=1;BYMONTH=7, the fifth Friday of February) is walked to the year 9999, tens of
seconds each time. An UNTIL on a copy of the rule does not bound that walk.

The Gregorian calendar repeats: a year has one of 14 layouts (leap or not, weekday of
1 January), so the dates a rule gives in the years after its start are the dates it gives,
shifted by whole weeks, after a year near 9999 that starts the same run of layouts. dateutil
started there gives up at 9999 after a few decades of steps at most.
"""

from __future__ import annotations

import calendar
import functools
import itertools
from datetime import date, datetime
from typing import Any

from dateutil import rrule as dateutil_rrule

__all__ = ["PROBE_YEARS", "first_dates"]

# A school event repeats at least every few years; 10 years leaves room for a rule of
# 29 February (every 4 years) or one every 5 years.
PROBE_YEARS = 10
_LAST_YEAR = 9999


def _layout(year: int) -> tuple[bool, int] | None:
    return (calendar.isleap(year), date(year, 1, 1).weekday()) if year >= 1 else None


@functools.cache
def _stand_in_year(year: int, years: int) -> int:
    """The latest year before 9999 whose neighbourhood has the same layouts as ``year``'s.

    The year before counts too (ISO week 1 may start in it), and the one after the
    probed span (dateutil looks at the next year's length).
    """
    last_start = _LAST_YEAR - years - 1
    if year >= last_start:
        return year
    wanted = [(offset, _layout(year + offset)) for offset in range(-1, years + 2)]
    known = [(offset, layout) for offset, layout in wanted if layout is not None]
    for candidate in range(last_start, last_start - 400, -1):
        if all(_layout(candidate + offset) == layout for offset, layout in known):
            return candidate
    return year  # unreachable: the calendar repeats every 400 years


def _naive(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


def _add_years(value: datetime, years: int) -> datetime:
    if value.year + years > _LAST_YEAR:
        return datetime(_LAST_YEAR, 12, 31, 23, 59, 59)
    try:
        return value.replace(year=value.year + years)
    except ValueError:  # 29 February
        return value.replace(year=value.year + years, day=28)


def first_dates(rule: Any, dtstart: date | datetime, years: int = PROBE_YEARS) -> list[datetime]:
    """Up to the first two dates of ``rule`` (an icalendar ``vRecur``, read without its
    COUNT and UNTIL) within ``years`` of ``dtstart``, as naive wall times.

    Raises ValueError when dateutil cannot read the rule.
    """
    open_ended = type(rule)(rule)
    open_ended.pop("UNTIL", None)
    open_ended.pop("COUNT", None)
    return list(_first_dates(open_ended.to_ical().decode("utf-8"), _naive(dtstart), years))


# Every PUT from an app repeats the rules of its VTIMEZONEs, and edits repeat the event's.
@functools.lru_cache(maxsize=1024)
def _first_dates(text: str, start: datetime, years: int) -> tuple[datetime, ...]:
    stand_in = _stand_in_year(start.year, years)
    shift = date(stand_in, 1, 1) - date(start.year, 1, 1)
    shifted = dateutil_rrule.rrulestr(text, dtstart=start + shift, ignoretz=True, cache=False)
    if not isinstance(shifted, dateutil_rrule.rrule):
        raise ValueError("not a single recurrence rule")
    bounded = shifted.replace(until=_add_years(start + shift, years))
    return tuple(found - shift for found in itertools.islice(bounded, 2))
