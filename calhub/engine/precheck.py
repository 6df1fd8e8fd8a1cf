"""Checks of a client's iCalendar body before any parser expands its rules.

Radicale (through vobject and dateutil) computes an object's time range when it reads it,
and some recurrence rules make that walk never end: an INTERVAL of 0, a rule that can never
match (30 February, BYMONTH=1;BYYEARDAY=200), a sub-minute rule, or a VTIMEZONE whose
observance repeats every second. One such PUT would pin a worker thread for good. These
checks look at the rule parts and at the first dates of each rule, found in bounded time
(:mod:`calhub.engine.occurs`), so they cannot hang themselves. Before any of that, a scan of
the raw text (:mod:`calhub.engine.rawscan`) bounds what the parsers would build.
"""

from __future__ import annotations

import calendar as calendar_module
import logging
from collections.abc import Iterator
from datetime import date
from typing import Any

from icalendar import Calendar
from icalendar.prop import vRecur

from calhub.engine.errors import (
    InvalidCalendarData,
    UnreadableCalendarData,
    UnsupportedComponent,
)
from calhub.engine.occurs import PROBE_YEARS, first_dates
from calhub.engine.rawscan import BodyLimits, scan_body
from calhub.engine.validate import parse_calendar

__all__ = ["check_body"]

logger = logging.getLogger(__name__)

# Nobody plans school events every second or minute; dateutil would walk them step by step.
REFUSED_FREQUENCIES = ("SECONDLY", "MINUTELY")
TIMEZONE_FREQUENCIES = ("YEARLY",)
EVENT_KINDS = ("VEVENT",)
OTHER_KINDS = ("VTODO", "VJOURNAL", "VFREEBUSY")
RULE_PROPERTIES = ("RRULE", "EXRULE")
# dateutil reads this extension of its own; Easter does not follow the calendar's cycles.
REFUSED_PARTS = ("BYEASTER",)


def _refuse(en: str, ru: str, uid: str = "") -> InvalidCalendarData:
    return InvalidCalendarData(en, uid=uid, prop="RRULE" if "RRULE" in en else "", message_ru=ru)


def _rules(component: Any) -> Iterator[Any]:
    for name in RULE_PROPERTIES:
        value = component.get(name)
        if value is not None:
            yield from value if isinstance(value, list) else [value]


def _start(component: Any) -> date | None:
    value = component.get("DTSTART")
    try:
        start = value.dt if value is not None and not isinstance(value, list) else None
    except ValueError:  # icalendar's broken-property error
        return None
    return start if isinstance(start, date) else None


def _numbers(rule: Any, key: str) -> list[int]:
    values = rule.get(key) or []
    try:
        return [int(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise _refuse(
            f"RRULE {key} must hold whole numbers.", f"RRULE {key}: нужны целые числа."
        ) from exc


def _can_occur(months: list[int], days: list[int]) -> bool:
    """Whether some month of ``months`` (all if empty) has one of ``days`` (1..31 or -31..-1)."""
    for month in months or list(range(1, 13)):
        if not 1 <= month <= 12:
            continue
        length = 29 if month == 2 else calendar_module.monthrange(2001, month)[1]
        if any(1 <= abs(day) <= length for day in days):
            return True
    return False


def _who(uid: str, in_timezone: bool) -> tuple[str, str]:
    if in_timezone:
        return "A VTIMEZONE rule (RRULE)", "Правило часового пояса (VTIMEZONE, RRULE)"
    return f"Event {uid}: RRULE", f"Событие {uid}: правило RRULE"


def check_rule(rule: Any, uid: str, in_timezone: bool, dtstart: date | None = None) -> None:
    """Refuse a rule that repeats too often or that dateutil would walk for years."""
    en, ru = _who(uid, in_timezone)
    if not isinstance(rule, vRecur):
        raise _refuse(f"{en} cannot be read: {rule}", f"{ru} не удаётся прочитать: {rule}", uid)
    for part in REFUSED_PARTS:
        if part in rule:
            raise _refuse(
                f"{en}: {part} is not part of iCalendar (RFC 5545).",
                f"{ru}: {part} не входит в iCalendar (RFC 5545).",
                uid,
            )
    freq = str((rule.get("FREQ") or [""])[0]).upper()
    interval = _numbers(rule, "INTERVAL")
    if interval and interval[0] < 1:
        raise _refuse(
            f"Event {uid}: RRULE INTERVAL must be 1 or more.",
            f"Событие {uid}: RRULE INTERVAL должен быть 1 или больше.",
            uid,
        )
    if in_timezone and freq not in TIMEZONE_FREQUENCIES:
        raise _refuse(
            f"A VTIMEZONE observance repeats {freq or 'without FREQ'}; time zones change "
            "yearly (RRULE:FREQ=YEARLY).",
            f"Правило часового пояса (VTIMEZONE) повторяется {freq or 'без FREQ'}; "
            "часовые пояса меняются раз в год (RRULE:FREQ=YEARLY).",
        )
    if freq in REFUSED_FREQUENCIES:
        raise _refuse(
            f"Event {uid}: RRULE FREQ={freq} repeats too often for a school event; "
            "use DAILY or WEEKLY.",
            f"Событие {uid}: RRULE FREQ={freq} повторяется слишком часто для мероприятия; "
            "используйте DAILY или WEEKLY.",
            uid,
        )
    days = _numbers(rule, "BYMONTHDAY")
    if days and not _can_occur(_numbers(rule, "BYMONTH"), days):
        raise _refuse(
            f"Event {uid}: RRULE can never occur (no such day in those months).",
            f"Событие {uid}: правило RRULE не даёт ни одного дня (таких дат нет в этих месяцах).",
            uid,
        )
    _check_dates(rule, uid, in_timezone, dtstart)


def _check_dates(rule: Any, uid: str, in_timezone: bool, dtstart: date | None) -> None:
    en, ru = _who(uid, in_timezone)
    if dtstart is None:
        raise _refuse(
            f"{en} needs a DTSTART that can be read.",
            f"{ru}: нужен DTSTART, который удаётся прочитать.",
            uid,
        )
    try:
        dates = first_dates(rule, dtstart)
    except (ValueError, TypeError, OverflowError) as exc:
        raise _refuse(
            f"{en} cannot be read: {exc}", f"{ru} не удаётся прочитать: {exc}", uid
        ) from exc
    if not dates:
        raise _refuse(
            f"{en} never occurs: it gives no date within {PROBE_YEARS} years of DTSTART.",
            f"{ru} не даёт ни одной даты в течение {PROBE_YEARS} лет от DTSTART.",
            uid,
        )
    if len(dates) < 2:
        raise _refuse(
            f"{en} occurs too rarely: it gives only one date within {PROBE_YEARS} years of "
            f"DTSTART; the hub takes rules whose first two dates fall within {PROBE_YEARS} "
            "years.",
            f"{ru} повторяется слишком редко: за {PROBE_YEARS} лет от DTSTART только одна "
            f"дата; хаб принимает правила, первые две даты которых укладываются в "
            f"{PROBE_YEARS} лет.",
            uid,
        )


def check_body(
    body: bytes,
    whole_calendar: bool,
    events_only: bool = True,
    limits: BodyLimits | None = None,
) -> Calendar:
    """The parsed calendar, if the body is safe to hand to Radicale; else InvalidCalendarData.

    The rules and sizes are bounded for every calendar. With ``events_only`` (a hub
    calendar) the body must hold events only, and a single object (``whole_calendar``
    False) exactly one event series; other calendars take tasks and journals too, and
    Radicale checks their UIDs itself. ``limits`` bound what the parsers would build
    (the defaults of ``BodyLimits`` if not given).
    """
    try:
        return _check_body(body, whole_calendar, events_only, limits)
    except OSError as exc:
        # The parsers look a TZID up as a file under the server's zoneinfo directory
        # ("America" is a directory there); the OSError's text names that path, which an
        # answer must never show, so it is replaced by what the sender can act on.
        logger.info("A time zone of a PUT body is no zone file: %s", exc.strerror)
        raise UnreadableCalendarData(
            "A time zone (TZID) in the object is not one the hub knows: use an IANA zone "
            "name such as Europe/Kaliningrad, or send the zone's VTIMEZONE with it.",
            message_ru="Часовой пояс (TZID) в объекте хабу неизвестен: укажите пояс по "
            "базе IANA, например Europe/Kaliningrad, или передайте его VTIMEZONE.",
        ) from exc


def _check_body(
    body: bytes, whole_calendar: bool, events_only: bool, limits: BodyLimits | None
) -> Calendar:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableCalendarData(
            f"The body is not UTF-8 text (byte {exc.start}).",
            message_ru=f"Тело запроса не в кодировке UTF-8 (байт {exc.start}).",
        ) from exc
    scan_body(text, limits, whole_calendar)
    # Radicale's parser reads every VTIMEZONE as sent, so all of them are checked here.
    calendar = parse_calendar(text, keep_timezones=True)
    uids: set[str] = set()
    for component in calendar.walk():
        uid = str(component.get("UID", ""))
        if events_only and component.name in OTHER_KINDS:
            raise UnsupportedComponent(
                f"Only events (VEVENT) belong in a hub calendar, not {component.name}.",
                uid=uid,
                message_ru=f"В календаре хаба только мероприятия (VEVENT), не {component.name}.",
            )
        if component.name in EVENT_KINDS:
            uids.add(uid)
        in_timezone = component.name in ("STANDARD", "DAYLIGHT")
        for rule in _rules(component):
            check_rule(rule, uid, in_timezone, _start(component))
    if not events_only:
        return calendar
    if not uids and not whole_calendar:
        raise UnsupportedComponent(
            "The calendar object holds no event (VEVENT).",
            message_ru="В объекте календаря нет мероприятия (VEVENT).",
        )
    if not whole_calendar and len(uids) > 1:
        raise InvalidCalendarData(
            "One calendar object must hold one event (one UID).",
            message_ru="Один объект календаря должен содержать одно мероприятие (один UID).",
        )
    return calendar
