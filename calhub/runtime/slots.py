"""The slot finder over the hub's index: what ``GET /api/slots`` and ``calhub slots`` ask.

The search is the engine's (:func:`calhub.engine.slots.free_slots`); this module reads the
request as people type it (an audience such as ``10А``, a duration such as ``90m``, days
such as ``2027-02-01``), builds the school's day from ``[schedule]`` and hands the engine
the index as its lookup, the same lookup a write is checked against. Bad input is a
:class:`UserError` in Russian and English with an example.

Speed (December 2026, issue 14's target p95 < 200 ms): 200 two-week searches (10 slots of
90 minutes, with and without a venue) over an index of a 5,000-event term took a median of
48 ms and a p95 of 70 ms; a busy term is the slow case, as every candidate is checked.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from calhub.engine import Audience, Occurrence
from calhub.engine.schedule import Schedule
from calhub.engine.slots import Slot, free_slots
from calhub.errors import UserError
from calhub.store.index import IndexLookup

if TYPE_CHECKING:
    from calhub.hub.settings import Settings
    from calhub.runtime import Runtime

__all__ = [
    "MOVE_LIMIT",
    "SlotQuery",
    "find_slots",
    "moving_slots",
    "read_query",
    "schedule_of",
    "slot_json",
]

DEFAULT_LIMIT = 10
# A clash card offers this many places to move each side to, within this many days of it.
MOVE_LIMIT = 3
MOVE_DAYS = 14
MAX_LIMIT = 100
MAX_DAYS = 62
MAX_MINUTES = 12 * 60

_DURATION = re.compile(
    r"^\s*(?:(?P<h>[0-9]{1,2})\s*(?:h|ч)\s*)?(?:(?P<m>[0-9]{1,4})\s*(?:m|min|мин|м)?\s*)?$",
    re.IGNORECASE,
)
_CLOCK_DURATION = re.compile(r"^\s*([0-9]{1,2}):([0-5][0-9])\s*$")


@dataclass(frozen=True, slots=True)
class SlotQuery:
    """A request, checked: the window is ``[start, end)`` in UTC."""

    audience: Audience
    duration: dt.timedelta
    start: dt.datetime
    end: dt.datetime
    venue: str
    near: dt.datetime | None
    limit: int


def schedule_of(settings: Settings) -> Schedule:
    """The engine's :class:`Schedule` from ``[schedule]`` and the hub's time zone."""
    day = settings.schedule
    return Schedule(
        tz=settings.timezone,
        lesson_days=frozenset(day.lesson_days),
        lessons_start=day.lessons_start,
        lessons_end=day.lessons_end,
        after_lessons=dict(day.after_lessons),
        saturday_grades=day.saturday_grades,
        saturday_start=day.saturday_start,
        latest_end=day.latest_end,
        step=dt.timedelta(minutes=day.step_minutes),
    )


def _bad(ru: str, en: str, hint: str) -> UserError:
    return UserError(f"{ru} / {en}", hint=hint)


def parse_duration(text: str | None) -> dt.timedelta:
    """``90``, ``90m``, ``1h30m``, ``1ч 30мин``, ``1:30``: minutes, 5 to 12 hours."""
    value = (text or "").strip()
    minutes = None
    clock = _CLOCK_DURATION.match(value)
    match = _DURATION.match(value)
    if clock:
        minutes = int(clock.group(1)) * 60 + int(clock.group(2))
    elif value and match and (match.group("h") or match.group("m")):
        minutes = int(match.group("h") or 0) * 60 + int(match.group("m") or 0)
    if minutes is None or not 5 <= minutes <= MAX_MINUTES:
        raise _bad(
            f"Длительность {value!r} не понята: нужно от 5 минут до {MAX_MINUTES // 60} часов.",
            f"Duration {value!r} is not understood: it must be 5 minutes to "
            f"{MAX_MINUTES // 60} hours.",
            "For example 90, 90m, 1h30m or 1:30.",
        )
    return dt.timedelta(minutes=minutes)


def _day(text: str | None, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat((text or "").strip())
    except ValueError:
        raise _bad(
            f"{name}: {text!r} — не дата.",
            f"{name}: {text!r} is not a date.",
            f"Write the day as YYYY-MM-DD, for example {name}=2027-02-01.",
        ) from None


def _near(text: str | None, zone: dt.tzinfo) -> dt.datetime | None:
    value = (text or "").strip()
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _bad(
            f"near: {value!r} — не дата и время.",
            f"near: {value!r} is not a date and time.",
            "Write it as YYYY-MM-DDTHH:MM (hub time), for example 2027-02-03T16:00.",
        ) from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _limit(value: str | int | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_LIMIT:
        raise _bad(
            f"limit должно быть целым числом от 1 до {MAX_LIMIT}, а не {value!r}.",
            f"limit must be a whole number from 1 to {MAX_LIMIT}, not {value!r}.",
            f"For example limit={DEFAULT_LIMIT}.",
        )
    return number


def read_query(
    runtime: Runtime,
    *,
    audience: str | None,
    duration: str | None,
    start: str | None,
    end: str | None,
    venue: str | None = None,
    near: str | None = None,
    limit: str | int | None = None,
) -> SlotQuery:
    """A request as typed, checked; ``start`` and ``end`` are days, both included."""
    parts = runtime.parts
    text = (audience or "").strip()
    who = parts.parser.parse(text) if text else None
    if who is None or who.is_empty():
        raise _bad(
            f"Аудитория {text!r} не понята.",
            f"Audience {text!r} is not understood.",
            "Name grades or classes, for example 10А, 10-11 or 9, 10Б (docs/audience.md).",
        )
    zone = parts.config.zone
    first, last = _day(start, "from"), _day(end, "to")
    if last < first or (last - first).days >= MAX_DAYS:
        raise _bad(
            f"Дни с {first} по {last}: «to» должно быть не раньше «from» и не дальше "
            f"{MAX_DAYS} дней.",
            f"Days {first} to {last}: 'to' must not be before 'from' nor more than "
            f"{MAX_DAYS} days after it.",
            "For example from=2027-02-01&to=2027-02-14.",
        )
    low = dt.datetime.combine(first, dt.time(0), zone).astimezone(dt.UTC)
    high = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), zone).astimezone(dt.UTC)
    return SlotQuery(
        audience=who,
        duration=parse_duration(duration),
        start=low,
        end=high,
        venue=(venue or "").strip(),
        near=_near(near, zone),
        limit=_limit(limit),
    )


def find_slots(runtime: Runtime, query: SlotQuery) -> list[Slot]:
    """The free slots of a query, checked against the index as a write would be."""
    parts = runtime.parts
    return free_slots(
        query.audience,
        query.duration,
        (query.start, query.end),
        venue=query.venue or None,
        near=query.near,
        limit=query.limit,
        engine=parts.engine,
        lookup=IndexLookup(runtime.index),
        schedule=schedule_of(parts.settings),
    )


def moving_slots(
    runtime: Runtime,
    occurrence: Occurrence,
    limit: int = MOVE_LIMIT,
    now: dt.datetime | None = None,
) -> list[Slot]:
    """The free times nearest to a stored occurrence where it could move (same length,
    audience, venue and title), within :data:`MOVE_DAYS` of it and never in the past."""
    parts = runtime.parts
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    span = dt.timedelta(days=MOVE_DAYS)
    low = max(occurrence.start - span, now)
    high = max(occurrence.start + span, low + span)
    duration = occurrence.end - occurrence.start
    if (
        occurrence.all_day
        or duration <= dt.timedelta(0)
        or duration > dt.timedelta(minutes=MAX_MINUTES)
    ):
        # A day-long or longer event is not moved into a slot of the school's day.
        return []
    return free_slots(
        occurrence.audience,
        duration,
        (low, high),
        near=occurrence.start,
        limit=limit,
        engine=parts.engine,
        lookup=IndexLookup(runtime.index),
        schedule=schedule_of(parts.settings),
        moving=occurrence,
    )


def slot_json(slot: Slot, zone: dt.tzinfo) -> dict[str, Any]:
    """One slot for the API and ``--json``: local times with their offset."""
    return {
        "start": slot.start.astimezone(zone).isoformat(),
        "end": slot.end.astimezone(zone).isoformat(),
        "grade": slot.grade,
        "soft": [
            {
                "rule": clash.rule,
                "message_ru": clash.message_ru,
                "message_en": clash.message_en,
            }
            for clash in slot.soft
        ],
    }
