"""expand_calendar: recurrence, time zones, all-day days, skipped events, limits and errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from calhub.engine import (
    Audience,
    AudienceParser,
    EngineConfig,
    InvalidCalendarData,
    Occurrence,
    expand_calendar,
)

Expand = Callable[..., list[Occurrence]]


def utc(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_weekly_with_exdate(expand: Expand) -> None:
    found = expand("recurring_weekly_with_exdate.ics", calendar="bfu")
    # Mondays 3, 17, 24, 31 March; the 10th is excluded. Kaliningrad is UTC+2.
    assert [o.start for o in found] == [utc(3, d, 13) for d in (3, 17, 24, 31)]
    assert all(o.end - o.start == timedelta(minutes=90) for o in found)
    first = found[0]
    assert first.key == ("bfu", "weekly-physics@bfu", "20250303T130000Z")
    assert first.audience == Audience(frozenset({10, 11}))
    assert first.audience_source == "summary"
    assert first.location == "БФУ, ауд. 305"
    assert first.venue == "бфу ауд 305"
    assert not first.all_day and not first.is_blackout
    assert all(o.start.tzinfo is UTC for o in found)


def test_moved_and_cancelled_overrides(expand: Expand) -> None:
    found = expand("moved_override.ics", calendar="ytc")
    assert [(o.recurrence_id, o.start) for o in found] == [
        ("20250304T140000Z", utc(3, 4, 14)),
        ("20250311T140000Z", utc(3, 13, 8)),  # moved from Tuesday to Thursday morning
        ("20250325T140000Z", utc(3, 25, 14)),
    ]  # the 18th is cancelled
    moved = found[1]
    assert moved.summary == "Робототехника: выезд [9А]"
    assert moved.audience == Audience(classes=frozenset({(9, "А")}))
    assert moved.venue == "гимназия актовый зал"
    assert found[0].audience == Audience(frozenset({9}))


def test_rdate_with_and_without_period(expand: Expand) -> None:
    found = expand("rdate_with_period.ics")
    assert [(o.start, o.end - o.start) for o in found] == [
        (utc(3, 5, 12), timedelta(hours=1)),
        (utc(3, 7, 12), timedelta(hours=1)),
        (utc(3, 12, 12), timedelta(hours=1)),
        (utc(3, 14, 12), timedelta(hours=3)),  # the PERIOD gives its own length
    ]
    assert all(o.recurrence_id for o in found)
    assert len({o.key for o in found}) == 4


def test_all_day_events_cover_local_days(expand: Expand) -> None:
    found = {o.uid: o for o in expand("allday_multiday.ics", calendar="school")}
    week = found["olympiad-week@school"]
    # 10–12 March in Kaliningrad (DTEND 13th is exclusive): 9 Mar 22:00Z to 12 Mar 22:00Z
    assert (week.start, week.end) == (utc(3, 9, 22), utc(3, 12, 22))
    assert week.all_day
    assert week.recurrence_id == ""
    assert week.audience == Audience(frozenset({10, 11}))
    assert week.audience_source == "categories"
    single = found["open-day@school"]  # DATE without DTEND lasts one day
    assert (single.start, single.end) == (utc(3, 14, 22), utc(3, 15, 22))
    assert single.audience == Audience.whole_school()
    assert single.audience_source == "whole-school"


def test_all_day_days_follow_the_hub_time_zone(expand: Expand) -> None:
    moscow = EngineConfig(tz="Europe/Moscow")
    week = expand("allday_multiday.ics", config=moscow)[0]
    assert (week.start, week.end) == (utc(3, 9, 21), utc(3, 12, 21))


def test_moscow_and_kaliningrad_compare_as_instants(expand: Expand) -> None:
    found = {o.uid: o for o in expand("moscow_vs_kaliningrad.ics")}
    lecture = found["lecture-msk@university"]  # 10:00 Moscow = 07:00 UTC
    test = found["test-kgd@school"]  # 09:00 Kaliningrad = 07:00 UTC
    assert lecture.start == test.start == utc(3, 12, 7)
    assert lecture.end == utc(3, 12, 8, 30)
    assert test.end == utc(3, 12, 7, 45)


def test_dst_edge_europe_berlin(expand: Expand) -> None:
    found = {(o.uid, o.start.date()): o for o in expand("dst_edge_europe_berlin.ics")}
    # 10:00 Berlin each Sunday: CET (+1) before 30 March, CEST (+2) from then on.
    calls = sorted(o.start for (uid, _), o in found.items() if uid.startswith("sunday-call"))
    assert calls == [utc(3, 23, 9), utc(3, 30, 8), utc(4, 6, 8)]
    # 02:30 does not exist on 30 March; RFC 5545 reads it with the offset before the gap.
    gap = next(o for (uid, _), o in found.items() if uid.startswith("night-in-the-gap"))
    assert gap.start == utc(3, 30, 1, 30)
    assert gap.end == utc(3, 30, 1, 30)  # 03:30 CEST is the same instant: an empty interval
    # 02:30 happens twice on 26 October; the first (CEST) one is meant.
    fold = next(o for (uid, _), o in found.items() if uid.startswith("night-in-the-fold"))
    assert fold.start == utc(10, 26, 0, 30)
    assert fold.end == utc(10, 26, 3)


def test_floating_time_is_read_in_hub_time_zone(expand: Expand) -> None:
    (kaliningrad,) = expand("floating.ics")
    assert kaliningrad.start == utc(3, 12, 16)  # 18:00 at UTC+2
    (moscow,) = expand("floating.ics", config=EngineConfig(tz="Europe/Moscow"))
    assert moscow.start == utc(3, 12, 15)


def test_x_wr_timezone_gives_floating_times_a_zone(expand: Expand) -> None:
    (found,) = expand("x_wr_timezone_floating.ics")
    assert found.start == utc(3, 12, 7)  # 10:00 Moscow, not 10:00 Kaliningrad


def test_windows_time_zone_names(expand: Expand) -> None:
    (found,) = expand("windows_tzid.ics")
    assert found.start == utc(3, 12, 7)  # "Russian Standard Time" is Moscow


def test_custom_tzids_do_not_leak_between_calendars(expand: Expand) -> None:
    # Both files define "Local School Time"; icalendar caches the first one it sees.
    (moscow,) = expand("custom_tzid_moscow.ics")
    (kaliningrad,) = expand("custom_tzid_kaliningrad.ics")
    (moscow_again,) = expand("custom_tzid_moscow.ics")
    assert moscow.start == moscow_again.start == utc(3, 12, 7)
    assert kaliningrad.start == utc(3, 12, 8)


def test_unknown_tzid_is_refused(expand: Expand) -> None:
    with pytest.raises(InvalidCalendarData) as error:
        expand("unknown_tzid.ics")
    assert error.value.uid == "unknown-tz@partner"
    assert error.value.prop == "DTSTART"
    assert "Mars/Olympus_Mons" in str(error.value)
    assert "часовой пояс" in error.value.message_ru


def test_duration_and_rfc_defaults(expand: Expand) -> None:
    found = {o.uid: o for o in expand("duration_and_defaults.ics")}
    lesson = found["with-duration@school"]
    assert lesson.end - lesson.start == timedelta(minutes=90)
    day = found["date-no-end@school"]
    assert day.all_day and day.end - day.start == timedelta(days=1)
    instant = found["instant-no-end@school"]  # DATE-TIME without DTEND: zero length
    assert instant.start == instant.end == utc(3, 12, 10)


@pytest.mark.parametrize("name", ["cancelled.ics", "transparent.ics"])
def test_cancelled_and_transparent_events_give_nothing(expand: Expand, name: str) -> None:
    assert expand(name) == []


def test_todos_and_journals_are_ignored(expand: Expand) -> None:
    assert [o.uid for o in expand("vtodo_and_vjournal.ics")] == ["real-event@school"]


def test_whole_calendar_with_many_uids(expand: Expand) -> None:
    found = expand("whole_calendar_many_uids.ics", calendar="school", default_audience=None)
    by_uid: dict[str, list[Occurrence]] = {}
    for occ in found:
        by_uid.setdefault(occ.uid, []).append(occ)
    assert len(by_uid["choir@school"]) == 8
    assert by_uid["sports-day@school"][0].audience == Audience(frozenset({5, 6, 7}))
    assert by_uid["sports-day@school"][0].audience_source == "description"
    parents = by_uid["parents@school"][0]
    assert parents.audience == Audience(classes=frozenset({(11, "А"), (11, "Б")}))
    assert parents.audience_source == "x-calhub-audience"
    assert by_uid["choir@school"][0].audience_source == "whole-school"


def test_default_audience_and_blackout_flag(expand: Expand) -> None:
    default = Audience(frozenset({8}))
    found = expand("whole_calendar_many_uids.ics", default_audience=default, is_blackout=True)
    choir = next(o for o in found if o.uid == "choir@school")
    assert choir.audience == default
    assert choir.audience_source == "calendar-default"
    assert all(o.is_blackout for o in found)


def test_horizon_limits_occurrences(expand: Expand, config: EngineConfig) -> None:
    short = EngineConfig(horizon_past_days=0, horizon_future_days=20, groups=config.groups)
    found = expand("recurring_weekly_with_exdate.ics", config=short)
    assert [o.start for o in found] == [utc(3, 3, 13), utc(3, 17, 13)]


def test_occurrence_cap(expand: Expand) -> None:
    capped = EngineConfig(max_occurrences_per_event=5)
    found = expand("whole_calendar_many_uids.ics", config=capped)
    choir = [o for o in found if o.uid == "choir@school"]
    assert len(choir) == 5
    assert choir == sorted(choir, key=lambda o: o.start)  # the earliest ones are kept
    assert {o.uid for o in found} == {"choir@school", "sports-day@school", "parents@school"}


def test_secondly_rrule_bomb_is_refused_at_once(expand: Expand) -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidCalendarData) as error:
        expand("rrule_bomb_secondly.ics")
    assert time.perf_counter() - started < 1.0
    assert (error.value.uid, error.value.prop) == ("bomb@partner", "RRULE")
    assert "FREQ=SECONDLY" in str(error.value) and "too often" in str(error.value)
    assert "слишком часто" in error.value.message_ru


def test_secondly_rrule_from_long_ago_is_refused_at_once(expand: Expand) -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidCalendarData) as error:
        expand("rrule_bomb_secondly_old_start.ics")
    assert time.perf_counter() - started < 1.0
    assert (error.value.uid, error.value.prop) == ("old-bomb@partner", "RRULE")


def rule_event(rule: str, start: str = "20250301T000000Z", duration: str = "PT1S") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:dense\r\n"
        f"DTSTART:{start}\r\nDURATION:{duration}\r\nRRULE:{rule}\r\n"
        "SUMMARY:dense\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def run(ical: str, **config: Any) -> list[Occurrence]:
    return expand_calendar(
        ical, calendar="c", config=EngineConfig(**config), parser=AudienceParser(), now=utc(3, 1)
    )


def test_expansion_is_lazy_up_to_the_cap() -> None:
    # 150 000 instances are within the step budget, but only the first 1000 (the cap)
    # are ever built: listing them all would take many seconds. Hitting the cap with
    # a sub-daily rule then refuses the event.
    started = time.perf_counter()
    with pytest.raises(InvalidCalendarData, match="more than 1000 occurrences"):
        run(rule_event("FREQ=SECONDLY;COUNT=150000"))
    assert time.perf_counter() - started < 2.0


def test_small_dense_series_is_fine() -> None:
    found = run(rule_event("FREQ=MINUTELY;INTERVAL=5;COUNT=12", duration="PT5M"))
    assert len(found) == 12
    assert found[-1].start == utc(3, 1, 0, 55)


def test_dense_looking_rule_is_refused() -> None:
    # BY-lists make a rule look dense even if few instances match: FREQ=DAILY is the way
    with pytest.raises(InvalidCalendarData, match="FREQ=MINUTELY"):
        run(rule_event("FREQ=MINUTELY;BYHOUR=9;BYMINUTE=0"))


def test_hourly_forever_is_refused_but_daily_is_capped(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(InvalidCalendarData, match="FREQ=HOURLY"):
        run(rule_event("FREQ=HOURLY", duration="PT30M"))
    # 1097 days of a daily rule in the horizon: the first 1000 are kept
    found = run(rule_event("FREQ=DAILY", start="20240301T080000Z", duration="PT1H"))
    assert len(found) == 1000
    assert found[0].start == utc(3, 1, 8, year=2024)
    assert found[-1].start == utc(3, 1, 8, year=2024) + timedelta(days=999)
    assert "cap of 1000" in caplog.text


@pytest.mark.parametrize(
    ("name", "uid", "prop"),
    [
        ("malformed_not_ical.ics", "", ""),
        ("malformed_dtend_before_dtstart.ics", "backwards@partner", "DTEND"),
        ("malformed_bad_date.ics", "bad-date@partner", "DTSTART"),
        ("malformed_bad_rrule.ics", "bad-rrule@partner", "RRULE"),
        ("malformed_negative_duration.ics", "negative-duration@partner", "DURATION"),
        ("malformed_no_uid.ics", "", "UID"),
        ("malformed_no_dtstart.ics", "no-start@partner", "DTSTART"),
    ],
)
def test_malformed_data_is_refused_readably(expand: Expand, name: str, uid: str, prop: str) -> None:
    with pytest.raises(InvalidCalendarData) as error:
        expand(name)
    assert error.value.uid == uid
    assert error.value.prop == prop
    if uid:
        assert uid in str(error.value) and uid in error.value.message_ru
    if prop:
        assert prop in str(error.value)


@pytest.mark.parametrize("data", [b"", "BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n", b"\xff\xfe\x00"])
def test_odd_inputs_are_refused(data: Any, config: EngineConfig, parser: AudienceParser) -> None:
    with pytest.raises(InvalidCalendarData):
        expand_calendar(data, calendar="c", config=config, parser=parser, now=utc(3, 1))


def test_accepts_bytes_and_calendar_objects(
    ics: Callable[[str], str], config: EngineConfig, parser: AudienceParser
) -> None:
    text = ics("moved_override.ics")
    from_text = expand_calendar(text, calendar="c", config=config, parser=parser, now=utc(3, 1))
    from_bytes = expand_calendar(
        text.encode(), calendar="c", config=config, parser=parser, now=utc(3, 1)
    )
    calendar = Calendar.from_ical(text)
    before = calendar.to_ical()
    from_object = expand_calendar(
        calendar, calendar="c", config=config, parser=parser, now=utc(3, 1)
    )
    assert from_text == from_bytes == from_object
    assert calendar.to_ical() == before  # the caller's object is not changed


def test_naive_now_is_a_programming_error(config: EngineConfig, parser: AudienceParser) -> None:
    with pytest.raises(ValueError, match="aware"):
        expand_calendar("", calendar="c", config=config, parser=parser, now=datetime(2025, 3, 1))
