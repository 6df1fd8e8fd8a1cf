"""Bounding the work of expanding a recurrence rule, and refusing rules that repeat absurdly often.

dateutil (under recurring-ical-events) always walks a rule from its DTSTART, one
step at a time, even to reach a window far later, and it walks a FREQ=SECONDLY
rule second by second. Left alone, one hostile or mistaken rule would hold a
worker for hours. This module never computes occurrences itself; it only
bounds, from FREQ, INTERVAL and the BYHOUR/BYMINUTE/BYSECOND list lengths, how
many instances a day a rule can produce, and so how long the walk from DTSTART
to the end of the checked period (the horizon) can be. A rule whose walk could
exceed :data:`STEP_BUDGET` steps is refused with
:class:`~calhub.engine.errors.InvalidCalendarData` before anything is expanded:
the engine cannot vouch for an event it cannot check, and no school event
repeats every second or minute for months.

Accepted rules are expanded lazily and capped at ``max_occurrences_per_event``
(see :mod:`calhub.engine.expand`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from calhub.engine.errors import InvalidCalendarData
from calhub.engine.timezones import to_utc

__all__ = [
    "STEP_BUDGET",
    "SUB_DAILY",
    "Plan",
    "instances_per_day",
    "is_sub_daily",
    "plan_expansion",
    "too_frequent",
]

SUB_DAILY = frozenset({"SECONDLY", "MINUTELY", "HOURLY"})

# About a second of dateutil's slowest (SECONDLY) stepping; a daily rule
# would need 500 years to use it up.
STEP_BUDGET = 200_000

_SECONDS_PER_DAY = 86_400
# With any of these, steps are no longer instances: a COUNT does not bound the walk.
_FILTERS = (
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
)


@dataclass(frozen=True, slots=True)
class Plan:
    """Where to expand a series (UTC), and how dense its rules can be.

    ``start`` is the later of the horizon start and the series' earliest start.
    """

    start: datetime
    end: datetime
    per_day: float
    horizon_start: datetime


def _first(rule: Mapping[str, Any], key: str, default: Any) -> Any:
    values = rule.get(key)
    return values[0] if values else default


def _count(rule: Mapping[str, Any], key: str) -> int:
    values = rule.get(key)
    return len(values) if values else 1


def instances_per_day(rule: Mapping[str, Any]) -> float:
    """An upper bound of the instances a day of one RRULE (a parsed ``vRecur``)."""
    freq = str(_first(rule, "FREQ", "")).upper()
    interval = max(1, int(_first(rule, "INTERVAL", 1)))
    if freq == "SECONDLY":
        return _SECONDS_PER_DAY / interval
    if freq == "MINUTELY":
        return 1440 / interval * _count(rule, "BYSECOND")
    if freq == "HOURLY":
        return 24 / interval * _count(rule, "BYMINUTE") * _count(rule, "BYSECOND")
    # DAILY and longer give at most one date a day, times the listed times of day.
    return float(_count(rule, "BYHOUR") * _count(rule, "BYMINUTE") * _count(rule, "BYSECOND"))


def _days(span: timedelta) -> float:
    return max(0.0, span.total_seconds() / _SECONDS_PER_DAY)


def is_sub_daily(rules: Sequence[Mapping[str, Any]]) -> bool:
    """Whether any rule repeats more often than daily by its FREQ."""
    return any(str(_first(rule, "FREQ", "")).upper() in SUB_DAILY for rule in rules)


def _ru_number(value: float) -> str:
    """1 052 640: Russian groups thousands with (non-breaking) spaces."""
    return f"{value:,.0f}".replace(",", "\u00a0")


def _frequencies(rules: Sequence[Mapping[str, Any]]) -> str:
    return "/".join(str(_first(rule, "FREQ", "?")) for rule in rules)


def too_frequent(
    uid: str, rules: Sequence[Mapping[str, Any]], detail_en: str, detail_ru: str
) -> InvalidCalendarData:
    """The refusal of a rule that repeats too often, naming the event and its FREQ."""
    freq = _frequencies(rules)
    return InvalidCalendarData(
        f"Event {uid}: RRULE (FREQ={freq}) repeats too often: {detail_en}. Use a less frequent "
        "rule, or end it with COUNT or UNTIL.",
        uid=uid,
        prop="RRULE",
        message_ru=f"Событие {uid}: правило повторения RRULE (FREQ={freq}) повторяется слишком "
        f"часто: {detail_ru}. Сделайте повторения реже или ограничьте их "
        "с помощью COUNT или UNTIL.",
    )


def plan_expansion(
    uid: str,
    rules: Sequence[Mapping[str, Any]],
    dtstart: date | datetime | None,
    earliest: datetime,
    horizon: tuple[datetime, datetime],
    zone: tzinfo,
) -> Plan:
    """Where to expand one series; refuses rules too dense to expand within the budget.

    ``rules`` are the master's RRULEs, ``dtstart`` its DTSTART (None when only
    overrides exist), ``earliest`` the earliest start any component or RDATE names.
    """
    start = max(horizon[0], earliest)
    if not rules or dtstart is None:
        return Plan(start, horizon[1], 1.0, horizon[0])
    first = to_utc(dtstart, zone)
    per_day = 0.0
    steps = 0.0
    for rule in rules:
        density = instances_per_day(rule)
        until = _first(rule, "UNTIL", None)
        walk_end = min(horizon[1], to_utc(until, zone)) if until is not None else horizon[1]
        cost = density * _days(walk_end - first)
        count = _first(rule, "COUNT", None)
        if count is not None and not any(rule.get(key) for key in _FILTERS):
            # without filters every step is an instance, and COUNT ends the walk
            cost = min(cost, float(count))
        per_day += density
        steps += cost
    if steps > STEP_BUDGET:
        raise too_frequent(
            uid,
            rules,
            f"up to {steps:,.0f} repetitions from {first:%Y-%m-%d} to the end of the checked "
            f"period, more than the {STEP_BUDGET:,} the hub expands",
            f"до {_ru_number(steps)} повторений с {first:%d.%m.%Y} до конца проверяемого "
            f"периода, больше {_ru_number(STEP_BUDGET)}, которые разворачивает хаб",
        )
    return Plan(start, horizon[1], per_day, horizon[0])
