"""The PUT pre-check: the raw-text scan, rules that never or hardly ever occur, and parsing
without icalendar's process-wide time-zone cache."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as dateutil_rrule
from icalendar.prop import vRecur
from icalendar.timezone import tzp

from calhub.engine import InvalidCalendarData
from calhub.engine.occurs import PROBE_YEARS, first_dates
from calhub.engine.precheck import check_body
from calhub.engine.rawscan import (
    MAX_ALARMS,
    MAX_CALENDAR_COMPONENTS,
    MAX_COMPONENTS,
    MAX_DATES,
    MAX_OVERRIDES,
    MAX_TIMEZONES,
    SETTING,
    BodyLimits,
)
from calhub.engine.validate import checked_events, parse_calendar

HANG = 5.0  # seconds: far more than any probe needs; only a walk to the year 9999 takes it


def vtimezone(tzid: str) -> str:
    return (
        f"BEGIN:VTIMEZONE\nTZID:{tzid}\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
        "TZOFFSETFROM:+0300\nTZOFFSETTO:+0300\nTZNAME:X\nEND:STANDARD\nEND:VTIMEZONE\n"
    )


def body(
    *,
    zones: str = "",
    tzid: str = "Europe/Kaliningrad",
    extra: str = "",
    inside: str = "",
    start: str = "20270105T100000",
) -> bytes:
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//calhub//tests//RU\n"
        f"{extra}{zones}BEGIN:VEVENT\nUID:pre@partner\nDTSTAMP:20250201T090000Z\n"
        f"DTSTART;TZID={tzid}:{start}\nDTEND;TZID={tzid}:20270105T110000\n"
        f"{inside}SUMMARY:Проверка [10]\nEND:VEVENT\nEND:VCALENDAR\n"
    ).encode()


def refused(data: bytes, whole_calendar: bool = False) -> InvalidCalendarData:
    with pytest.raises(InvalidCalendarData) as info:
        check_body(data, whole_calendar)
    assert info.value.message_ru and info.value.message_ru != str(info.value)
    return info.value


# -- components per object ----------------------------------------------------------------------


def test_as_many_time_zones_as_allowed_are_taken() -> None:
    zones = "".join(vtimezone(f"Zone {n}") for n in range(MAX_TIMEZONES))
    uses = "".join(f"EXDATE;TZID=Zone {n}:20270105T100000\n" for n in range(MAX_TIMEZONES))
    check_body(body(zones=zones, inside=uses), False)


def test_one_time_zone_too_many_is_refused() -> None:
    zones = "".join(vtimezone(f"Zone {n}") for n in range(MAX_TIMEZONES + 1))
    uses = "".join(f"EXDATE;TZID=Zone {n}:20270105T100000\n" for n in range(MAX_TIMEZONES + 1))
    error = refused(body(zones=zones, inside=uses))
    assert f"at most {MAX_TIMEZONES}" in str(error)
    assert error.prop == "VTIMEZONE"


def test_alarms_are_bounded_per_event() -> None:
    alarm = "BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT15M\nDESCRIPTION:x\nEND:VALARM\n"
    check_body(body(inside=alarm * MAX_ALARMS), False)
    error = refused(body(inside=alarm * (MAX_ALARMS + 1)))
    assert f"at most {MAX_ALARMS}" in str(error)


def test_components_are_bounded_per_object() -> None:
    filler = "BEGIN:X-FILLER\nEND:X-FILLER\n" * MAX_COMPONENTS
    error = refused(body(extra=filler))
    assert f"{MAX_COMPONENTS:,}" in str(error)
    # In a whole calendar, the components outside events count as one object per name.
    error = refused(body(extra=filler + "BEGIN:X-FILLER\nEND:X-FILLER\n"), whole_calendar=True)
    assert f"{MAX_COMPONENTS:,}" in str(error) and "max_components_per_object" in str(error)


# -- counts that drive work, at any depth (issue 11, finding 7) ---------------------------------

ALARM = "BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT15M\nDESCRIPTION:x\nEND:VALARM\n"
SMALL = BodyLimits(components=40, overrides=3, dates=5)


def override(n: int, wrap: str = "", inside: str = "") -> str:
    event = (
        f"BEGIN:VEVENT\nUID:pre@partner\nDTSTAMP:20250201T090000Z\n"
        f"RECURRENCE-ID;TZID=Europe/Kaliningrad:202701{5 + 7 * n:02d}T100000\n"
        f"DTSTART;TZID=Europe/Kaliningrad:202701{5 + 7 * n:02d}T120000\n"
        f"DTEND;TZID=Europe/Kaliningrad:202701{5 + 7 * n:02d}T130000\n"
        f"{inside}SUMMARY:Перенос [10]\nEND:VEVENT\n"
    )
    return f"BEGIN:{wrap}\n{event}END:{wrap}\n" if wrap else event


def weekly(after: str = "", inside: str = "") -> bytes:
    text = body(inside="RRULE:FREQ=WEEKLY;COUNT=10\n" + inside).decode()
    return text.replace("END:VCALENDAR\n", f"{after}END:VCALENDAR\n").encode()


def refused_with(data: bytes, limits: BodyLimits, whole_calendar: bool = False) -> str:
    with pytest.raises(InvalidCalendarData) as info:
        check_body(data, whole_calendar, limits=limits)
    assert info.value.message_ru and info.value.message_ru != str(info.value)
    return f"{info.value} / {info.value.message_ru}"


def test_default_limits_are_the_documented_ones() -> None:
    assert BodyLimits() == BodyLimits(
        MAX_COMPONENTS, MAX_OVERRIDES, MAX_DATES, MAX_CALENDAR_COMPONENTS
    )
    assert set(SETTING) == {"components", "overrides", "dates", "calendar_components"}


def restore(events: int, alarms: int = 1) -> bytes:
    """A whole calendar of ``events`` one-off events with ``alarms`` reminders each."""
    alarm = "BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT15M\nDESCRIPTION:x\nEND:VALARM\n"
    items = "".join(
        f"BEGIN:VEVENT\nUID:r{n}@partner\nDTSTAMP:20250201T090000Z\n"
        f"DTSTART;TZID=Europe/Kaliningrad:2027{1 + n % 12:02d}{1 + n % 28:02d}T100000\n"
        f"DTEND;TZID=Europe/Kaliningrad:2027{1 + n % 12:02d}{1 + n % 28:02d}T110000\n"
        f"SUMMARY:Занятие {n} [10]\n{alarm * alarms}END:VEVENT\n"
        for n in range(events)
    )
    head = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//RU\n"
    return (head + vtimezone("Europe/Kaliningrad") + items + "END:VCALENDAR\n").encode()


def test_a_real_calendar_of_10000_events_is_taken_whole_by_default() -> None:
    """Issue 21: 10,000 events with two alarms each (30,000+ components) in one PUT of the
    collection; the same count as one object is refused (the per-object limit stands)."""
    from calhub.engine.rawscan import scan_body

    text = restore(10_000, alarms=2).decode()
    scan_body(text, whole_calendar=True)
    with pytest.raises(InvalidCalendarData, match="max_components_per_object"):
        scan_body(text)


def test_a_whole_calendar_is_bounded_in_all_and_per_object() -> None:
    limits = BodyLimits(components=40, calendar_components=100)
    check_body(restore(45), True, limits=limits)  # 93 components, each event 2
    message = refused_with(restore(50), limits, whole_calendar=True)  # 103
    assert "more than 100 components" in message and "max_components_per_calendar" in message
    assert "в одной загрузке всего календаря" in message
    heavy = (
        restore(2).decode().replace("END:VEVENT\n", "BEGIN:X-F\nEND:X-F\n" * 39 + "END:VEVENT\n", 1)
    )
    message = refused_with(heavy.encode(), limits, whole_calendar=True)  # r0: 41 components
    assert "The event r0@partner holds more than 40" in message
    assert "max_components_per_object" in message


@pytest.mark.parametrize("wrap", ["", "X-GROUP"], ids=["plain", "x-wrapped"])
def test_changed_instances_are_bounded_per_event(wrap: str) -> None:
    check_body(weekly(after="".join(override(n, wrap) for n in range(3))), False, limits=SMALL)
    message = refused_with(weekly(after="".join(override(n, wrap) for n in range(4))), SMALL)
    assert "more than 3 changed instances" in message
    assert "[hub] max_overrides_per_event" in message and "изменённых повторений" in message


def test_changed_instances_are_counted_per_uid_in_a_whole_calendar() -> None:
    """A calendar PUT holds many events: each UID has its own count."""
    other = "".join(override(n) for n in range(3)).replace("pre@partner", "other@partner")
    master = body(inside="RRULE:FREQ=WEEKLY;COUNT=10\n").decode().replace("pre@", "other@")
    master_event = master[master.index("BEGIN:VEVENT") : master.index("END:VCALENDAR")]
    text = weekly(after="".join(override(n) for n in range(3)) + master_event + other)
    check_body(text, True, limits=SMALL)


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        (
            "RDATE",
            "RDATE;TZID=Europe/Kaliningrad:20270201T100000,20270202T100000,"
            "20270203T100000\nRDATE;TZID=Europe/Kaliningrad:20270204T100000,20270205T100000,"
            "20270206T100000\n",
        ),
        (
            "EXDATE",
            "".join(
                f"EXDATE;TZID=Europe/Kaliningrad:202701{d:02d}T100000\n"
                for d in (12, 19, 26, 5, 2, 9)
            ),
        ),
    ],
)
def test_rdate_and_exdate_values_are_bounded_per_event(name: str, lines: str) -> None:
    first_five = (
        "".join(lines.splitlines(keepends=True)[:1])
        if name == "RDATE"
        else "".join(lines.splitlines(keepends=True)[:5])
    )
    check_body(weekly(inside=first_five), False, limits=SMALL)
    message = refused_with(weekly(inside=lines), SMALL)
    assert f"more than 5 {name} dates" in message and "[hub] max_dates_per_event" in message


def test_dates_are_counted_across_the_changed_instances_and_wrappers() -> None:
    dates = "RDATE;TZID=Europe/Kaliningrad:20270301T100000,20270302T100000\n"
    wrapped = f"BEGIN:X-WRAP\n{dates}END:X-WRAP\n"
    # 2 in the master and 2 in each of two changed instances, one inside an X- wrapper.
    message = refused_with(
        weekly(inside=dates, after=override(0, inside=dates) + override(1, inside=wrapped)),
        SMALL,
    )
    assert "max_dates_per_event" in message


def test_components_limit_is_a_parameter() -> None:
    check_body(weekly(inside="BEGIN:X-F\nEND:X-F\n" * 38), False, limits=SMALL)
    message = refused_with(weekly(inside="BEGIN:X-F\nEND:X-F\n" * 39), SMALL)
    assert "more than 40 components" in message and "max_components_per_object" in message


@pytest.mark.parametrize(
    "alarms",
    [
        "".join(f"BEGIN:X-WRAP\n{ALARM}END:X-WRAP\n" for _ in range(MAX_ALARMS + 1)),
        "BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT15M\nDESCRIPTION:x\n" * (MAX_ALARMS + 1)
        + "END:VALARM\n" * (MAX_ALARMS + 1),
        "".join(f"BEGIN:X-A\nBEGIN:X-B\n{ALARM}END:X-B\nEND:X-A\n" for _ in range(MAX_ALARMS + 1)),
    ],
    ids=["x-wrapped", "nested-in-alarms", "two-wrappers-deep"],
)
def test_alarms_are_counted_for_their_event_at_any_depth(alarms: str) -> None:
    error = refused(body(inside=alarms))
    assert f"at most {MAX_ALARMS}" in str(error) and error.prop == "VALARM"


def test_alarms_outside_any_event_are_counted_for_the_object() -> None:
    wrapped = "".join(f"BEGIN:X-WRAP\n{ALARM}END:X-WRAP\n" for _ in range(MAX_ALARMS + 1))
    assert "VALARM" in refused(body(extra=wrapped)).prop


def test_alarms_of_changed_instances_count_for_each_instance() -> None:
    """Apps copy an event's alarms into every changed instance."""
    two = ALARM * 2
    check_body(weekly(inside=two, after="".join(override(n, inside=two) for n in range(3))), False)


# -- time zones nobody uses ---------------------------------------------------------------------


def test_made_up_time_zone_that_nothing_uses_is_refused(ics: Callable[[str], str]) -> None:
    error = refused(ics("vtimezone_unreferenced_custom.ics").encode())
    assert "Nobody Uses This" in str(error)


def test_named_time_zone_that_nothing_uses_is_taken() -> None:
    """Apps attach the VTIMEZONE of their own zone to all-day events, for example."""
    zone = vtimezone("Europe/Moscow") + vtimezone("Russian Standard Time")
    check_body(body(zones=zone), False)


@pytest.mark.parametrize(
    ("zones", "reference"),
    [
        (vtimezone("Local School Time"), 'DTSTART;TZID="Local School Time":20270105T100000'),
        (vtimezone("Local School Time"), "DTSTART;TZID=Local Sch\n ool Time:20270105T100000"),
        (vtimezone("Local: Time"), 'DTSTART;VALUE=DATE-TIME;TZID="Local: Time":20270105T100000'),
    ],
    ids=["quoted", "folded", "colon-in-quotes"],
)
def test_references_are_read_like_icalendar_reads_them(zones: str, reference: str) -> None:
    text = body(zones=zones).decode()
    text = text.replace("DTSTART;TZID=Europe/Kaliningrad:20270105T100000", reference)
    check_body(text.encode(), False)


def test_x_wr_timezone_uses_its_zone() -> None:
    check_body(
        body(extra="X-WR-TIMEZONE:Local School Time\n", zones=vtimezone("Local School Time")), True
    )


# -- properties that may occur once ------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("DTSTART;TZID=Europe/Kaliningrad:20270105T100000\n", "DTSTART"),
        ("DTEND;TZID=Europe/Kaliningrad:20270105T110000\n", "DTEND"),
        ("UID:other@partner\n", "UID"),
        ("DURATION:PT1H\nDURATION:PT2H\n", "DURATION"),
        ("RECURRENCE-ID:20270105T100000Z\nRECURRENCE-ID:20270112T100000Z\n", "RECURRENCE-ID"),
    ],
)
def test_repeated_once_only_property_is_refused(line: str, name: str) -> None:
    error = refused(body(inside=line))
    assert name in str(error) and "once" in str(error)
    assert error.prop == name


def test_repeated_tzid_in_a_vtimezone_is_refused() -> None:
    zone = vtimezone("Local School Time").replace("TZID:Local School Time\n", "TZID:A\nTZID:B\n")
    error = refused(body(zones=zone, tzid="A"))
    assert "TZID" in str(error) and "VTIMEZONE" in str(error)


def test_repeatable_properties_may_repeat() -> None:
    lines = "ATTENDEE:mailto:a@x\nATTENDEE:mailto:b@x\nCATEGORIES:a\nCATEGORIES:b\n"
    check_body(body(inside=lines), False)


def test_engine_refuses_a_stored_event_with_dtstart_twice(ics: Callable[[str], str]) -> None:
    """Objects stored before the pre-check refused them are read by the engine too."""
    calendar = parse_calendar(ics("repeated_dtstart.ics"))
    with pytest.raises(InvalidCalendarData, match="DTSTART"):
        list(checked_events(calendar, ZoneInfo("Europe/Kaliningrad")))


# -- rules that never or hardly ever occur ------------------------------------------------------

NEVER = [
    "FREQ=DAILY;BYMONTH=1;BYYEARDAY=200",
    "FREQ=DAILY;BYWEEKNO=1;BYMONTH=7",
    "FREQ=MONTHLY;BYMONTHDAY=3,-30,-21;BYMONTH=4,10,3,9,1;BYDAY=4TH,1TH,SA,2SU;BYHOUR=3",
    "FREQ=MONTHLY;BYMONTH=2;BYDAY=6FR",
    "FREQ=DAILY;BYSETPOS=2",
    "FREQ=HOURLY;BYMONTH=1;BYYEARDAY=200",
    "FREQ=DAILY;BYYEARDAY=400",
    "FREQ=WEEKLY;BYWEEKNO=54",
    "FREQ=DAILY;BYMONTH=1;BYYEARDAY=200;UNTIL=20280101T000000Z",
]


@pytest.mark.parametrize("rule", NEVER)
def test_rule_that_never_occurs_is_refused_promptly(rule: str) -> None:
    started = time.monotonic()
    error = refused(body(inside=f"RRULE:{rule}\n"))
    assert time.monotonic() - started < HANG
    assert "never occurs" in str(error) and "RRULE" in str(error)
    assert error.prop == "RRULE"


def test_rule_that_never_occurs_from_a_fixture_is_refused(ics: Callable[[str], str]) -> None:
    assert "never occurs" in str(refused(ics("rrule_never_occurs.ics").encode()))


@pytest.mark.parametrize(
    ("rule", "start"),
    [
        # 29 February on a Monday: 2044, then 2072
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", "20430105T100000"),
        # a fifth Friday in February: 29 February 2036, then 2064
        ("FREQ=MONTHLY;BYMONTH=2;BYDAY=5FR", "20270105T100000"),
    ],
)
def test_rule_that_hardly_ever_occurs_is_refused(rule: str, start: str) -> None:
    error = refused(body(inside=f"RRULE:{rule}\n", start=start))
    assert "too rarely" in str(error)


def test_never_occurring_exrule_and_timezone_rule_are_refused() -> None:
    refused(body(inside="RRULE:FREQ=WEEKLY\nEXRULE:FREQ=DAILY;BYMONTH=1;BYYEARDAY=200\n"))
    zone = vtimezone("Local").replace(
        "END:STANDARD", "RRULE:FREQ=YEARLY;BYMONTH=1;BYYEARDAY=200\nEND:STANDARD"
    )
    assert "VTIMEZONE" in str(refused(body(zones=zone, tzid="Local")))


def test_byeaster_is_refused() -> None:
    assert "BYEASTER" in str(refused(body(inside="RRULE:FREQ=DAILY;BYEASTER=0\n")))


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20270601T000000Z",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=YEARLY;INTERVAL=5",
        "FREQ=WEEKLY;COUNT=1",
        "FREQ=DAILY;UNTIL=19000101",
    ],
)
def test_rules_that_occur_are_taken(rule: str) -> None:
    check_body(body(inside=f"RRULE:{rule}\n"), False)


RULES = [
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO,TH",
    "FREQ=MONTHLY;BYDAY=-1SU",
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=YEARLY;BYWEEKNO=53;BYDAY=TH",
    "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO",
    "FREQ=YEARLY;BYYEARDAY=366",
    "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    "FREQ=DAILY;INTERVAL=3;BYMONTH=2,3;BYMONTHDAY=28,29,1",
]
STARTS = [
    datetime(2027, 1, 5, 10),
    datetime(2024, 2, 29, 9),
    datetime(2096, 3, 1),  # the next ten years cross 2100, not a leap year
    datetime(1899, 12, 31, 23, 59),
    datetime(1970, 3, 29, 2),
    datetime(9995, 6, 1),
]


def years_later(start: datetime) -> datetime:
    if start.year + PROBE_YEARS > 9999:
        return datetime(9999, 12, 31, 23, 59, 59)
    return start.replace(year=start.year + PROBE_YEARS, day=min(start.day, 28))


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("start", STARTS, ids=str)
def test_first_dates_are_dateutils_own(rule: str, start: datetime) -> None:
    """The probe walks a calendar-identical stretch of years near 9999; the dates it gives
    back are the ones dateutil gives from the real DTSTART."""
    direct = itertools.islice(dateutil_rrule.rrulestr(rule, dtstart=start), 2)
    expected = [found for found in direct if found <= years_later(start)]
    assert first_dates(vRecur.from_ical(rule), start) == expected


def test_first_dates_take_all_day_starts() -> None:
    assert first_dates(vRecur.from_ical("FREQ=WEEKLY"), date(2027, 1, 5)) == [
        datetime(2027, 1, 5),
        datetime(2027, 1, 12),
    ]


# -- no process-wide time-zone cache ---------------------------------------------------------------


def test_parsing_keeps_made_up_time_zones_out_of_icalendars_cache() -> None:
    name = f"Calhub Test Zone {time.time_ns()}"
    calendar = parse_calendar(body(zones=vtimezone(name), tzid=name), keep_timezones=True)
    assert tzp.timezone(name) is None
    ((_, event),) = checked_events(calendar, ZoneInfo("Europe/Kaliningrad"))
    assert event["DTSTART"].dt.utcoffset() == timedelta(hours=3)
