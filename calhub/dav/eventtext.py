"""Changing an event's iCalendar text the way the website does: pure, no storage.

Each function takes the stored text and gives the new text, changing only what it is
asked to and keeping every other property, parameter, alarm and override: a partner's
app may keep data there the website never shows. A change bumps the changed component's
``SEQUENCE`` and sets its ``DTSTAMP`` and ``LAST-MODIFIED``, so calendar apps take it as
newer than what they hold.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from typing import Any

import icalendar

from calhub import __version__
from calhub.engine.timezones import format_recurrence_id

__all__ = ["EventFields", "OccurrenceGone", "edited_text", "moved_text", "new_event_text"]

# An override copies its master except for these: they belong to the series.
_SERIES_ONLY = frozenset({"RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID"})
_TIMES = frozenset({"DTSTART", "DTEND", "DURATION"})
PRODID = f"-//calhub//calhub {__version__}//RU"
AUDIENCE_PROPERTY = "X-CALHUB-AUDIENCE"


class OccurrenceGone(LookupError):
    """The object holds no such event or occurrence."""


@dataclass(frozen=True, slots=True)
class EventFields:
    """What the website's event form sets. ``audience`` is an audience expression as
    people write it (``10А, 11``); empty leaves the audience to the title and the rest."""

    summary: str
    location: str = ""
    description: str = ""
    audience: str = ""
    start: dt.datetime | None = None  # aware; None keeps the times (a series)
    end: dt.datetime | None = None
    # A new event over whole days: ``start`` and ``end`` are the hub's midnights that begin
    # its first day and end its last, written as dates (``VALUE=DATE``).
    all_day: bool = False


def new_event_text(fields: EventFields, zone: dt.tzinfo, uid: str | None = None) -> tuple[str, str]:
    """A new VCALENDAR with one VEVENT at ``fields``' times in the hub's zone; (uid, text)."""
    if fields.start is None or fields.end is None:
        raise ValueError("a new event needs its times")
    uid = uid or f"{uuid.uuid4()}@calhub"
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("SEQUENCE", 0)
    if fields.all_day:
        event.add("DTSTART", fields.start.astimezone(zone).date())
        event.add("DTEND", fields.end.astimezone(zone).date())
    else:
        _set_times(event, fields.start, fields.end, zone, zone_only=True)
    _set_texts(event, fields)
    now = _now()
    event.add("DTSTAMP", now)
    event.add("CREATED", now)
    event.add("LAST-MODIFIED", now)
    cal.add_component(event)
    # The VTIMEZONE of the zone used, so every client reads the times; the rules of the
    # years around the event are enough (the whole history would be kilobytes).
    first = fields.start.astimezone(zone).date()
    for tzid in cal.get_missing_tzids():
        timezone = _timezone(tzid, first.year)
        if timezone is not None:
            cal.subcomponents.insert(0, copy.deepcopy(timezone))
    return uid, _serialise(cal)


@functools.lru_cache(maxsize=64)
def _timezone(tzid: str, year: int) -> Any:
    """The VTIMEZONE of ``tzid`` for the years around ``year``, made once: building one
    walks the zone's transitions (a tenth of a second), and an import makes thousands."""
    try:
        return icalendar.Timezone.from_tzid(
            tzid, first_date=dt.date(year - 1, 1, 1), last_date=dt.date(year + 5, 1, 1)
        )
    except ValueError:
        return None


def edited_text(text: str, recurrence_id: str, fields: EventFields, zone: dt.tzinfo) -> str:
    """``text`` with the event (or the one occurrence) given ``fields``: title, venue,
    description, audience, and the times when they are given (of a whole series, only the
    texts: its dates move one by one)."""
    cal = icalendar.Calendar.from_ical(text)
    target = _target(cal, recurrence_id, zone)
    if fields.start is not None and fields.end is not None:
        _set_times(target, fields.start, fields.end, zone)
    # A series' texts are its dates' texts: a changed title reaches its overrides too.
    series = not recurrence_id and target.get("RRULE") is not None
    changed = list(cal.walk("VEVENT")) if series else [target]
    for event in changed:
        _set_texts(event, fields)
        _touch(event)
    return _serialise(cal)


def moved_text(
    text: str, recurrence_id: str, start: dt.datetime, end: dt.datetime, zone: dt.tzinfo
) -> str:
    """``text`` with the event, or one occurrence of its series, at ``start``–``end``."""
    cal = icalendar.Calendar.from_ical(text)
    target = _target(cal, recurrence_id, zone)
    _set_times(target, start, end, zone)
    _touch(target)
    return _serialise(cal)


def _target(cal: Any, recurrence_id: str, zone: dt.tzinfo) -> Any:
    """The VEVENT of ``recurrence_id`` (its override, made when there is none yet), or the
    event itself for ``""``."""
    events = [c for c in cal.subcomponents if c.name == "VEVENT"]
    master = next((e for e in events if e.get("RECURRENCE-ID") is None), None)
    for event in events:
        original = event.get("RECURRENCE-ID")
        if original is not None and format_recurrence_id(original.dt, zone) == recurrence_id:
            return event
    if not recurrence_id:
        if master is None:
            raise OccurrenceGone(recurrence_id)
        return master
    if master is None or (master.get("RRULE") is None and master.get("RDATE") is None):
        raise OccurrenceGone(recurrence_id)
    override = _override(master, recurrence_id, zone)
    cal.add_component(override)
    return override


def _serialise(cal: Any) -> str:
    result: bytes = cal.to_ical()
    return result.decode("utf-8")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _set_texts(event: Any, fields: EventFields) -> None:
    _set(event, "SUMMARY", fields.summary)
    for name, value in (("LOCATION", fields.location), ("DESCRIPTION", fields.description)):
        if value:
            _set(event, name, value)
        else:
            event.pop(name, None)
    if fields.audience:
        _set(event, AUDIENCE_PROPERTY, fields.audience)
    else:
        event.pop(AUDIENCE_PROPERTY, None)


def _override(master: Any, recurrence_id: str, zone: dt.tzinfo) -> Any:
    """A new override of ``master`` for the occurrence ``recurrence_id`` (UTC or a date)."""
    override = icalendar.Event()
    for name, value in master.items():
        if name not in _SERIES_ONLY and name not in _TIMES:
            override[name] = copy.deepcopy(value)
    for sub in master.subcomponents:
        override.add_component(copy.deepcopy(sub))
    first = master["DTSTART"].dt
    if len(recurrence_id) == 8:
        original: dt.date = dt.datetime.strptime(recurrence_id, "%Y%m%d").date()
    else:
        moment = dt.datetime.strptime(recurrence_id, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        original = _like(moment, first, zone)
    override.add("RECURRENCE-ID", original)
    # Its length and its times are set by the move; DTSTART first, in the master's zone.
    override.add("DTSTART", original)
    return override


def _like(moment: dt.datetime, model: dt.date | dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """``moment`` written the way ``model`` is: in its time zone, UTC, or floating."""
    if not isinstance(model, dt.datetime):
        return moment.astimezone(zone)
    if model.tzinfo is None:
        return moment.astimezone(zone).replace(tzinfo=None)
    return moment.astimezone(model.tzinfo)


def _set_times(
    event: Any, start: dt.datetime, end: dt.datetime, zone: dt.tzinfo, zone_only: bool = False
) -> None:
    """New times, written as the event wrote its own (its zone, UTC or floating); a new
    event (``zone_only``) is written in the hub's zone."""
    model: dt.date | dt.datetime = start.astimezone(zone)
    if not zone_only and event.get("DTSTART") is not None:
        model = event["DTSTART"].dt
    uses_duration = event.get("DURATION") is not None and event.get("DTEND") is None
    for name in _TIMES:
        event.pop(name, None)
    # A move to a slot is a timed event; an all-day one becomes timed in the hub's zone.
    event.add("DTSTART", _like(start, model, zone))
    if uses_duration:
        event.add("DURATION", end - start)
    else:
        event.add("DTEND", _like(end, model, zone))


def _touch(event: Any) -> None:
    now = _now()
    _set(event, "SEQUENCE", int(event.get("SEQUENCE", 0)) + 1)
    _set(event, "DTSTAMP", now)
    _set(event, "LAST-MODIFIED", now)


def _set(event: Any, name: str, value: object) -> None:
    """Replace a property; ``add`` gives the value its iCalendar type."""
    event.pop(name, None)
    event.add(name, value)
