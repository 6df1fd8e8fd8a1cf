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

__all__ = ["MAX_ALARMS", "MAX_COMPONENTS", "MAX_TIMEZONES", "ONCE_ONLY", "scan_body"]

# Calendar apps send one VTIMEZONE per zone an event uses (one, rarely two) and a few
# alarms; a long series with every instance changed is the largest real object.
MAX_TIMEZONES = 20
MAX_ALARMS = 20
MAX_COMPONENTS = 10_000

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
    properties: Counter[str] = field(default_factory=Counter)
    alarms: int = 0


@dataclass
class _Scan:
    components: int = 0
    timezones: int = 0
    defined: list[str] = field(default_factory=list)
    referenced: set[str] = field(default_factory=set)


def _refuse(en: str, ru: str, prop: str = "") -> InvalidCalendarData:
    return InvalidCalendarData(en, prop=prop, message_ru=ru)


def _begin(scan: _Scan, stack: list[_Frame], name: str) -> None:
    scan.components += 1
    if scan.components > MAX_COMPONENTS:
        raise _refuse(
            f"The calendar object holds more than {MAX_COMPONENTS:,} components; the hub "
            "takes at most that many per object.",
            f"В объекте календаря больше {_ru_number(MAX_COMPONENTS)} компонентов; хаб "
            "принимает не больше этого.",
        )
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
        stack[-1].alarms += 1
        if stack[-1].alarms > MAX_ALARMS:
            raise _refuse(
                f"A {stack[-1].name} holds more than {MAX_ALARMS} reminders (VALARM); the hub "
                f"takes at most {MAX_ALARMS}.",
                f"В {stack[-1].name} больше {MAX_ALARMS} напоминаний (VALARM); хаб принимает "
                f"не больше {MAX_ALARMS}.",
                "VALARM",
            )
    stack.append(_Frame(name))


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
    in_timezone = any(f.name == "VTIMEZONE" for f in stack)
    if name == "TZID" and frame.name == "VTIMEZONE":
        scan.defined.append(_clean_tzid(line[len(head) + 1 :]))
    elif not in_timezone:
        scan.referenced.update(_clean_tzid(m.group(1)) for m in _TZID_PARAM.finditer(head))
        if name == "X-WR-TIMEZONE":
            scan.referenced.add(_clean_tzid(line[len(head) + 1 :]))


def scan_body(text: str) -> None:
    """Refuse a body with too many components, a repeated once-only property, or a
    VTIMEZONE of a made-up TZID that nothing uses (InvalidCalendarData)."""
    scan = _Scan()
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
                stack.pop()
        elif stack:
            _property(scan, stack, name, head, line)
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
