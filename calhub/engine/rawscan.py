"""Limits checked on the raw text of a body, before any iCalendar parser builds anything.

icalendar and Radicale's vobject turn every VTIMEZONE into a time zone object as they parse
(tens of milliseconds for a real zone) and keep each new TZID for the life of the process,
and a property that RFC 5545 allows once comes back from icalendar as a list that the
readers of DTSTART or TZID do not expect. A scan of the unfolded lines finds all of that for
the price of one pass over the text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from calhub.engine.errors import InvalidCalendarData
from calhub.engine.timezones import is_known_zone_name

__all__ = [
    "MAX_ALARMS",
    "MAX_CALENDAR_COMPONENTS",
    "MAX_COMPONENTS",
    "MAX_DATES",
    "MAX_OVERRIDES",
    "MAX_TIMEZONES",
    "MAX_TZID_LENGTH",
    "ONCE_ONLY",
    "SETTING",
    "BodyLimits",
    "scan_body",
]

# Calendar apps send one VTIMEZONE per zone an event uses (one, rarely two) and a few
# alarms; a long series with every instance changed is the largest real object.
MAX_TIMEZONES = 20
MAX_ALARMS = 20
MAX_COMPONENTS = 10_000
# A whole calendar PUT at once (a restore, a move from another server) is many objects: a
# real one of 10,000 events with an alarm or two each and its zones has 20,000-30,000
# components. Each object in it is still bounded by MAX_COMPONENTS; the body by [hub]
# max_body_bytes. The pre-check of 50,000 bare components takes about 1.6 s on 2 cores.
MAX_CALENDAR_COMPONENTS = 50_000
# A daily series over a school year with every day changed has about 200 changed
# instances; each costs the parsers about a millisecond, several times over.
MAX_OVERRIDES = 500
# RDATE or EXDATE values of one event: beyond the occurrence cap they add nothing.
MAX_DATES = 1000
# What an event's alarms and dates are counted against, wherever they are nested.
_OWNERS = frozenset({"VEVENT", "VTODO", "VJOURNAL"})
_DATE_PROPERTIES = ("RDATE", "EXDATE")


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """The counts that drive the parsers' work, bounded per body (the hub reads them from
    calhub.toml [hub], named in ``SETTING``); counted at any depth of nesting."""

    components: int = MAX_COMPONENTS  # every BEGIN of one object (of one UID in a calendar)
    overrides: int = MAX_OVERRIDES  # components with RECURRENCE-ID, per UID
    dates: int = MAX_DATES  # RDATE values, and EXDATE values, per UID
    calendar_components: int = MAX_CALENDAR_COMPONENTS  # every BEGIN of a whole calendar


# The calhub.toml key of each limit, for the refusal to name.
SETTING = {
    "components": "max_components_per_object",
    "overrides": "max_overrides_per_event",
    "dates": "max_dates_per_event",
    "calendar_components": "max_components_per_calendar",
}
# The longest real TZIDs are Windows names and vendor prefixes ("/mozilla.org/.../Europe/
# Berlin"), under 100 characters; a longer one is only echoed back in answers and caches.
MAX_TZID_LENGTH = 200

# RFC 5545 section 3.6: properties that MUST NOT occur more than once in a component.
_TIMEZONE_RULE = frozenset({"DTSTART", "TZOFFSETTO", "TZOFFSETFROM"})
ONCE_ONLY: dict[str, frozenset[str]] = {
    "VCALENDAR": frozenset({"PRODID", "VERSION", "CALSCALE", "METHOD"}),
    "VEVENT": frozenset(
        {
            "UID",
            "DTSTAMP",
            "DTSTART",
            "DTEND",
            "DURATION",
            "RECURRENCE-ID",
            "CLASS",
            "CREATED",
            "DESCRIPTION",
            "GEO",
            "LAST-MODIFIED",
            "LOCATION",
            "ORGANIZER",
            "PRIORITY",
            "SEQUENCE",
            "STATUS",
            "SUMMARY",
            "TRANSP",
            "URL",
        }
    ),
    "VALARM": frozenset({"ACTION", "TRIGGER", "DURATION", "REPEAT", "DESCRIPTION", "SUMMARY"}),
    "VTIMEZONE": frozenset({"TZID", "LAST-MODIFIED", "TZURL"}),
    "STANDARD": _TIMEZONE_RULE,
    "DAYLIGHT": _TIMEZONE_RULE,
}

# The same unfolding and line split as icalendar's parser, so both see the same lines.
_FOLD = re.compile(r"(?:(?<!\n)\r\n|(?<![\r\n])\n)(?:\r?\n)*[ \t]")
_NEWLINE = re.compile(r"\r?\n")
_TZID_PARAM = re.compile(r';TZID=("[^"]*"|[^;]*)', re.IGNORECASE)


def _head(line: str) -> str:
    """The name and parameters of a content line: up to the first colon outside quotes."""
    colon = line.find(":")
    start = 0
    while colon >= 0:
        quote = line.find('"', start, colon)
        if quote < 0:
            return line[:colon]
        close = line.find('"', quote + 1)
        if close < 0:
            break
        start = close + 1
        if colon < start:
            colon = line.find(":", start)
    return line


def _ru_number(value: int) -> str:
    return f"{value:,}".replace(",", "\u00a0")


def _clean_tzid(value: str) -> str:
    return value.strip().strip('"').strip()


@dataclass
class _Frame:
    name: str
    first: int = 0  # the body's component count at its BEGIN
    properties: Counter[str] = field(default_factory=Counter)
    alarms: int = 0
    uid: str = ""
    recurrence: bool = False
    dates: Counter[str] = field(default_factory=Counter)


@dataclass
class _Scan:
    limits: BodyLimits = field(default_factory=BodyLimits)
    whole_calendar: bool = False
    components: int = 0
    # A whole calendar's components per object (UID; a component without one by its name).
    per_object: Counter[str] = field(default_factory=Counter)
    timezones: int = 0
    defined: list[str] = field(default_factory=list)
    referenced: set[str] = field(default_factory=set)
    overrides: Counter[str] = field(default_factory=Counter)
    dates: Counter[tuple[str, str]] = field(default_factory=Counter)


def _owner(stack: list[_Frame]) -> _Frame:
    """The innermost event, task or journal around the top of the stack, else the object."""
    return next((frame for frame in reversed(stack) if frame.name in _OWNERS), stack[0])


def _setting(limit: str) -> str:
    return f"calhub.toml [hub] {SETTING[limit]}"


def _too_many_dates(name: str, limit: int, uid: str) -> InvalidCalendarData:
    who_en = f"The event {uid}" if uid else "The calendar object"
    who_ru = f"В событии {uid}" if uid else "В объекте календаря"
    return _refuse(
        f"{who_en} lists more than {limit:,} {name} dates; the hub takes at most {limit:,} "
        f"({_setting('dates')}).",
        f"{who_ru} больше {_ru_number(limit)} дат {name}; хаб принимает не больше "
        f"{_ru_number(limit)} ({_setting('dates')}).",
        name,
    )


def _count_dates(scan: _Scan, stack: list[_Frame], name: str, values: str) -> None:
    owner = _owner(stack)
    owner.dates[name] += values.count(",") + 1
    if owner.dates[name] > scan.limits.dates:
        raise _too_many_dates(name, scan.limits.dates, owner.uid)


def _end(scan: _Scan, stack: list[_Frame]) -> None:
    """Close the innermost component: its dates and its being an override count for its
    UID, across every component of that UID in the body."""
    frame = stack.pop()
    limits = scan.limits
    if scan.whole_calendar and len(stack) == 1:
        # An object of the calendar ends: its components count against one object's limit.
        key = frame.uid or frame.name
        scan.per_object[key] += scan.components - frame.first + 1
        if scan.per_object[key] > limits.components:
            raise _too_many_components(limits.components, "components", frame.uid)
    if frame.name not in _OWNERS:
        return
    for name, count in frame.dates.items():
        scan.dates[(frame.uid, name)] += count
        if scan.dates[(frame.uid, name)] > limits.dates:
            raise _too_many_dates(name, limits.dates, frame.uid)
    if frame.recurrence:
        scan.overrides[frame.uid] += 1
        if scan.overrides[frame.uid] > limits.overrides:
            raise _refuse(
                f"The event {frame.uid} has more than {limits.overrides:,} changed instances "
                f"(RECURRENCE-ID); the hub takes at most {limits.overrides:,} per event "
                f"({_setting('overrides')}).",
                f"У события {frame.uid} больше {_ru_number(limits.overrides)} изменённых "
                f"повторений (RECURRENCE-ID); хаб принимает не больше "
                f"{_ru_number(limits.overrides)} на событие ({_setting('overrides')}).",
                "RECURRENCE-ID",
            )


def _refuse(en: str, ru: str, prop: str = "") -> InvalidCalendarData:
    return InvalidCalendarData(en, prop=prop, message_ru=ru)


def _too_many_components(limit: int, setting: str, uid: str = "") -> InvalidCalendarData:
    whole = setting == "calendar_components"
    what_en = "The calendar" if whole else f"The event {uid}" if uid else "The calendar object"
    what_ru = "В календаре" if whole else f"В событии {uid}" if uid else "В объекте календаря"
    per_en = "in one upload of a whole calendar" if whole else "per object"
    per_ru = "в одной загрузке всего календаря" if whole else "в одном объекте"
    return _refuse(
        f"{what_en} holds more than {limit:,} components (events, alarms, time zones and "
        f"any others, nested ones included); the hub takes at most {limit:,} {per_en} "
        f"({_setting(setting)}).",
        f"{what_ru} больше {_ru_number(limit)} компонентов (мероприятия, напоминания, "
        f"часовые пояса и любые другие, вложенные тоже); хаб принимает не больше "
        f"{_ru_number(limit)} {per_ru} ({_setting(setting)}).",
    )


def _begin(scan: _Scan, stack: list[_Frame], name: str) -> None:
    scan.components += 1
    setting = "calendar_components" if scan.whole_calendar else "components"
    limit = getattr(scan.limits, setting)
    if scan.components > limit:
        raise _too_many_components(limit, setting)
    if name == "VTIMEZONE":
        scan.timezones += 1
        if scan.timezones > MAX_TIMEZONES:
            raise _refuse(
                f"The calendar object holds more than {MAX_TIMEZONES} time zones (VTIMEZONE); "
                f"the hub takes at most {MAX_TIMEZONES}, one for each zone the events use.",
                f"В объекте календаря больше {MAX_TIMEZONES} часовых поясов (VTIMEZONE); хаб "
                f"принимает не больше {MAX_TIMEZONES}, по одному на каждый используемый пояс.",
                "VTIMEZONE",
            )
    elif name == "VALARM" and stack:
        # Counted for the event around it however deep (inside an X- component or another
        # alarm too): a parent of its own for every 20 would otherwise let any number in.
        owner = _owner(stack)
        owner.alarms += 1
        if owner.alarms > MAX_ALARMS:
            raise _refuse(
                f"A {owner.name} holds more than {MAX_ALARMS} reminders (VALARM), nested ones "
                f"included; the hub takes at most {MAX_ALARMS}.",
                f"В {owner.name} больше {MAX_ALARMS} напоминаний (VALARM), считая вложенные; "
                f"хаб принимает не больше {MAX_ALARMS}.",
                "VALARM",
            )
    stack.append(_Frame(name, first=scan.components))


def _property(scan: _Scan, stack: list[_Frame], name: str, head: str, line: str) -> None:
    frame = stack[-1]
    frame.properties[name] += 1
    if frame.properties[name] == 2 and name in ONCE_ONLY.get(frame.name, ()):
        raise _refuse(
            f"{name} occurs more than once in a {frame.name}; it may occur only once (RFC 5545).",
            f"{name} встречается в {frame.name} больше одного раза; он допускается только "
            "один раз (RFC 5545).",
            name,
        )
    if frame.name in _OWNERS:
        if name == "UID":
            frame.uid = line[len(head) + 1 :].strip()
        elif name == "RECURRENCE-ID":
            frame.recurrence = True
    if name in _DATE_PROPERTIES:
        _count_dates(scan, stack, name, line[len(head) + 1 :])
    in_timezone = any(f.name == "VTIMEZONE" for f in stack)
    if name == "TZID" and frame.name == "VTIMEZONE":
        scan.defined.append(_clean_tzid(line[len(head) + 1 :]))
    elif not in_timezone:
        scan.referenced.update(_clean_tzid(m.group(1)) for m in _TZID_PARAM.finditer(head))
        if name == "X-WR-TIMEZONE":
            scan.referenced.add(_clean_tzid(line[len(head) + 1 :]))


def scan_body(text: str, limits: BodyLimits | None = None, whole_calendar: bool = False) -> None:
    """Refuse a body with more than ``limits`` allow (components, changed instances, RDATE
    or EXDATE values), too many time zones or alarms, a repeated once-only property, or a
    VTIMEZONE of a made-up TZID that nothing uses (InvalidCalendarData). A
    ``whole_calendar`` (a PUT of the collection) is bounded by ``calendar_components`` in
    all and by ``components`` for each object (UID) in it."""
    scan = _Scan(limits or BodyLimits(), whole_calendar)
    stack: list[_Frame] = []
    for line in _NEWLINE.split(_FOLD.sub("", text)):
        if not line:
            continue
        head = _head(line)
        name = head.split(";", 1)[0].strip().upper()
        if name == "BEGIN":
            _begin(scan, stack, line[len(head) + 1 :].strip().upper())
        elif name == "END":
            if stack:
                _end(scan, stack)
        elif stack:
            _property(scan, stack, name, head, line)
    for tzid in (*scan.defined, *scan.referenced):
        if len(tzid) > MAX_TZID_LENGTH:
            raise _refuse(
                f"A time zone name (TZID) is {len(tzid):,} characters long; the hub takes at "
                f"most {MAX_TZID_LENGTH}. Use an IANA zone name such as Europe/Kaliningrad.",
                f"Название часового пояса (TZID) длиной {_ru_number(len(tzid))} символов; хаб "
                f"принимает не больше {MAX_TZID_LENGTH}. Укажите пояс по базе IANA, например "
                "Europe/Kaliningrad.",
                "TZID",
            )
    for tzid in scan.defined:
        # Apps may attach the VTIMEZONE of their own (named) zone to an all-day event; a
        # made-up TZID that nothing uses would only be kept in the parsers' caches.
        if tzid not in scan.referenced and not is_known_zone_name(tzid):
            raise _refuse(
                f"The time zone {tzid!r} (VTIMEZONE) is not used by any date in the object; "
                "leave it out.",
                f"Часовой пояс {tzid!r} (VTIMEZONE) не используется ни одной датой в объекте; "
                "уберите его.",
                "VTIMEZONE",
            )
