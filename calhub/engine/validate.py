"""Reading iCalendar data and refusing what cannot be a real event.

Every refusal is an :class:`~calhub.engine.errors.InvalidCalendarData` naming
the event (UID) and property, in words the sender can act on.

Time zones: icalendar resolves a TZID by its IANA (or Windows) name first, and
otherwise by a VTIMEZONE it has seen, which it would cache for the whole process
under the TZID (calhub parses without that cache). Two partners who both send a
custom ``TZID:Local`` (one meaning Moscow, one Kaliningrad) would then share
whichever definition came first, so for every non-IANA TZID the wall time is
re-read with this calendar's own VTIMEZONE, and a TZID that neither names an
IANA zone nor has a VTIMEZONE here is refused.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Component
from icalendar.parser.ical.calendar import CalendarIcalParser
from icalendar.prop import vDDDLists, vDDDTypes
from icalendar.timezone import tzp

from calhub.engine.errors import InvalidCalendarData, UnreadableCalendarData
from calhub.engine.timezones import iana_names, to_utc

__all__ = ["DATE_PROPERTIES", "checked_events", "date_values", "parse_calendar", "prop", "start_of"]

logger = logging.getLogger(__name__)

DATE_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID", "RDATE", "EXDATE")
_MUST_READ = (*DATE_PROPERTIES, "DURATION", "RRULE", "UID")
_ONCE_ONLY = ("UID", "DTSTART", "DTEND", "DURATION", "RECURRENCE-ID")


def prop(component: Component, name: str) -> Any:
    """A property value, untyped: icalendar's typing cannot know which type a name has."""
    return component.get(name)


def start_of(component: Component) -> date | datetime:
    """The DTSTART value of a checked event."""
    value: date | datetime = prop(component, "DTSTART").dt
    return value


_VTIMEZONE = re.compile(r"BEGIN:VTIMEZONE\r?\n(.*?)END:VTIMEZONE\r?\n", re.DOTALL)
_TZID = re.compile(r"^TZID[^:\r\n]*:([^\r\n]*)", re.MULTILINE)


def drop_known_timezones(text: str) -> str:
    """The text without VTIMEZONEs of IANA zones, which are read by name anyway.

    Clients send the whole transition history of a zone with every event; parsing it is
    most of the cost of reading an event, and icalendar would keep each one in a cache.
    """

    def keep(match: re.Match[str]) -> str:
        tzid = _TZID.search(match.group(1))
        known = tzid is not None and tzid.group(1).strip() in iana_names()
        return "" if known else match.group(0)

    return _VTIMEZONE.sub(keep, text)


class _UncachedParser(CalendarIcalParser):
    """icalendar's calendar parser without its process-wide cache of VTIMEZONEs.

    icalendar keeps every made-up TZID it parses for the life of the process (the first
    definition of a name winning for everyone after); :class:`_OwnTimezones` reads each
    event's zones from its own VTIMEZONEs anyway.
    """

    def handle_end_component(self, vals: str) -> None:
        if not self._stack:
            raise ValueError("END encountered without an accompanying BEGIN!")
        component = self._stack.pop()
        if self._stack:
            self._stack[-1].add_component(component)
        else:
            self._components.append(component)

    def prepare_components(self) -> None:
        # icalendar parses again to resolve VTIMEZONEs that come after their use through
        # the cache; without the cache that second pass would change nothing.
        pass


class _Calendar(Calendar):
    @classmethod
    def _get_ical_parser(cls, st: str | bytes) -> CalendarIcalParser:
        return _UncachedParser(st, cls._get_component_factory(), cls.types_factory)


# icalendar hands a property that occurs twice back as a list, and its own readers of such
# values (a second TZID in a VTIMEZONE) then fail with AttributeError.
_UNREADABLE = (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError)


def parse_calendar(ical: str | bytes | Calendar, keep_timezones: bool = False) -> Calendar:
    """A Calendar from iCalendar text (or the Calendar itself).

    VTIMEZONEs of IANA zones are dropped unless ``keep_timezones`` (for checks of what a
    client sent, which other parsers will read).
    """
    if isinstance(ical, Calendar):
        return ical
    if isinstance(ical, bytes):
        try:
            ical = ical.decode("utf-8")
        except UnicodeDecodeError as error:
            raise UnreadableCalendarData(
                f"The data is not UTF-8 text (byte {error.start}).",
                message_ru=f"Данные не в кодировке UTF-8 (байт {error.start}).",
            ) from error
    if not keep_timezones:
        ical = drop_known_timezones(ical)
    try:
        parsed = _Calendar.from_ical(ical)
    except _UNREADABLE as error:
        raise UnreadableCalendarData(
            f"The data is not valid iCalendar: {error}",
            message_ru=f"Данные не являются корректным iCalendar: {error}",
        ) from error
    if not isinstance(parsed, Calendar) or parsed.name != "VCALENDAR":
        raise UnreadableCalendarData(
            "The data is not a VCALENDAR object.",
            message_ru="Данные не являются объектом VCALENDAR.",
        )
    return parsed


def _refuse(uid: str, name: str, en: str, ru: str) -> InvalidCalendarData:
    return InvalidCalendarData(
        f"Event {uid}: {name} {en}", uid=uid, prop=name, message_ru=f"Событие {uid}: {name} {ru}"
    )


class _OwnTimezones:
    """Time zones built from this calendar's VTIMEZONEs, bypassing icalendar's cache."""

    def __init__(self, calendar: Calendar) -> None:
        self._components: dict[str, Any] = {
            str(c.get("TZID", "")): c for c in calendar.walk("VTIMEZONE")
        }
        self._built: dict[str, tzinfo | None] = {}

    def get(self, tzid: str) -> tzinfo | None:
        if tzid not in self._built:
            component = self._components.get(tzid)
            zone = None
            if component is not None:
                try:
                    zone = component.to_tz(tzp, lookup_tzid=False)
                except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
                    logger.info("VTIMEZONE %r cannot be read: %s", tzid, error)
            self._built[tzid] = zone
        return self._built[tzid]


def _named_zone(value: datetime) -> bool:
    """Whether icalendar found this zone by name (IANA, Windows) rather than a VTIMEZONE."""
    return isinstance(value.tzinfo, ZoneInfo | timezone)


def _values(value: Any) -> Iterator[Any]:
    """The vDDDTypes/vDDDLists objects of a possibly repeated date property."""
    if isinstance(value, list):
        yield from value
    elif value is not None:
        yield value


def _rebind(value: Any, zone: tzinfo) -> Any:
    if isinstance(value, tuple):
        return tuple(_rebind(part, zone) for part in value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone)
    return value


class _Fixer:
    """Checks the TZIDs of one event and returns fixed copies of the properties."""

    def __init__(self, uid: str, own: _OwnTimezones) -> None:
        self.uid = uid
        self.own = own

    def zone_for(self, name: str, tzid: str, value: Any) -> tzinfo | None:
        """The zone to re-read ``value`` in, or None if icalendar's reading is right."""
        dts = value if isinstance(value, tuple) else (value,)
        if not any(isinstance(dt, datetime) for dt in dts):
            return None
        if all(not isinstance(dt, datetime) or _named_zone(dt) for dt in dts):
            return None
        zone = self.own.get(tzid)
        if zone is None:
            raise _refuse(
                self.uid,
                name,
                f"uses the unknown time zone {tzid!r} (not an IANA name, and no VTIMEZONE "
                "defines it).",
                f"использует неизвестный часовой пояс {tzid!r} (это не имя из базы IANA, и "
                "VTIMEZONE для него нет).",
            )
        return zone

    def fix(self, name: str, value: Any) -> Any:
        if isinstance(value, list):
            return [self.fix(name, item) for item in value]
        tzid = value.params.get("TZID") if hasattr(value, "params") else None
        if not tzid:
            return value
        if isinstance(value, vDDDLists):
            items = [self._fix_one(name, tzid, item.dt) for item in value.dts]
            if all(new is item.dt for new, item in zip(items, value.dts, strict=True)):
                return value
            fixed_list = vDDDLists(items)
            fixed_list.params = value.params
            return fixed_list
        new = self._fix_one(name, tzid, value.dt)
        if new is value.dt:
            return value
        fixed = vDDDTypes(new)
        fixed.params = value.params
        return fixed

    def _fix_one(self, name: str, tzid: str, value: Any) -> Any:
        zone = self.zone_for(name, tzid, value)
        return value if zone is None else _rebind(value, zone)


def _check_span(uid: str, event: Component, zone: tzinfo) -> None:
    start = start_of(event)
    end_prop = prop(event, "DTEND")
    duration = prop(event, "DURATION")
    if end_prop is not None:
        if to_utc(end_prop.dt, zone) < to_utc(start, zone):
            raise _refuse(uid, "DTEND", "is before DTSTART.", "раньше, чем DTSTART.")
    elif duration is not None and (
        not isinstance(duration.dt, timedelta) or duration.dt < timedelta(0)
    ):
        raise _refuse(uid, "DURATION", "must not be negative.", "не может быть отрицательной.")


def checked_events(calendar: Calendar, zone: tzinfo) -> Iterator[tuple[str, Component]]:
    """``(uid, event)`` for every VEVENT, with time zones fixed; refuses broken events."""
    own = _OwnTimezones(calendar)
    for event in calendar.walk("VEVENT"):
        for name in _ONCE_ONLY:
            if isinstance(prop(event, name), list):
                raise InvalidCalendarData(
                    f"An event has {name} more than once.",
                    prop=name,
                    message_ru=f"У события {name} указан больше одного раза.",
                )
        uid = str(event.get("UID", "")).strip()
        if not uid:
            summary = str(event.get("SUMMARY", ""))
            raise InvalidCalendarData(
                f"An event ({summary!r}) has no UID.",
                prop="UID",
                message_ru=f"У события ({summary!r}) нет UID.",
            )
        for name, message in getattr(event, "errors", ()):
            if name in _MUST_READ:
                raise _refuse(
                    uid, name, f"cannot be read: {message}", f"не удаётся прочитать: {message}"
                )
        if "DTSTART" not in event:
            raise _refuse(uid, "DTSTART", "is missing.", "отсутствует.")
        fixer = _Fixer(uid, own)
        fixed: dict[str, Any] = {}
        for name in DATE_PROPERTIES:
            current = prop(event, name)
            if current is not None:
                new = fixer.fix(name, current)
                if new is not current:
                    fixed[name] = new
        if fixed:
            # a shallow copy, so the caller's Calendar object is left as it was
            event = event.copy()
            for name, new in fixed.items():
                event[name] = new
        _check_span(uid, event, zone)
        yield uid, event


def date_values(value: Any) -> Iterator[date | datetime]:
    """Every date or start date in a (possibly repeated, possibly PERIOD) date property."""
    for single in _values(value):
        items = single.dts if isinstance(single, vDDDLists) else [single]
        for item in items:
            dt: Any = item.dt
            yield dt[0] if isinstance(dt, tuple) else dt
