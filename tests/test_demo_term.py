"""The demo term: deterministic, valid iCalendar, realistic, and clashing only on purpose."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from icalendar import Calendar, Event

from calhub.demo.partners import GROUPS, PARTNERS, SCHOOL_CALENDARS, VENUE_ALIASES
from calhub.demo.term import (
    DEMO_SEED,
    TERM_WEEKS,
    Term,
    count_events,
    demo_events,
    plan_term,
)
from calhub.engine import AudienceParser, ClashEngine, EngineConfig, expand_calendar

HUB_TZ = "Europe/Kaliningrad"
START = dt.date(2026, 11, 9)
CALENDAR_IDS = [c.id for c in (*SCHOOL_CALENDARS, *PARTNERS)]
RULES = ("audience", "blackout", "venue", "travel", "duplicate", "overload")


def _demo_start(today: dt.date) -> dt.date:
    """What the demo passes: the Monday two weeks before today."""
    return today - dt.timedelta(days=today.weekday() + 14)


# Public holidays in term (4 Nov, 23 Feb + 8 Mar, 1 + 9 May), holidays at the very start,
# no winter holidays at all, and whatever the demo would use today.
STARTS = [
    START,
    dt.date(2025, 10, 20),
    dt.date(2026, 2, 2),
    dt.date(2026, 4, 13),
    dt.date(2025, 12, 22),
    dt.date(2025, 9, 1),
    _demo_start(dt.date.today()),
]


@functools.cache
def term(start: dt.date = START) -> Term:
    return plan_term(start, HUB_TZ)


def components(events: dict[str, list[str]]) -> list[tuple[str, Calendar, list[Event]]]:
    out = []
    for calendar_id, texts in events.items():
        for text in texts:
            parsed = Calendar.from_ical(text)
            out.append((calendar_id, parsed, list(parsed.walk("VEVENT"))))
    return out


def masters(events: dict[str, list[str]]) -> list[tuple[str, Event]]:
    return [
        (calendar_id, event)
        for calendar_id, _, vevents in components(events)
        for event in vevents
        if "RECURRENCE-ID" not in event
    ]


def test_same_start_gives_identical_output() -> None:
    assert demo_events(START) == demo_events(START)
    assert DEMO_SEED == 32


def test_uids_are_stable_and_unique() -> None:
    uids = [str(event["UID"]) for _, event in masters(term().events)]
    assert len(uids) == len(set(uids))
    for calendar_id, event in masters(term().events):
        assert re.fullmatch(rf"demo-{calendar_id}-\d+@calhub", str(event["UID"]))
    # A different term keeps the ids of the events it shares, so re-running never duplicates.
    other = {str(e["UID"]) for _, e in masters(term(dt.date(2026, 2, 2)).events)}
    assert len(other & set(uids)) >= 140


@pytest.mark.parametrize("start", STARTS, ids=str)
def test_count_and_nothing_left_out(start: dt.date) -> None:
    result = term(start)
    assert 140 <= count_events(result.events) <= 170
    assert result.unplaced == ()
    assert result.stray == ()


def test_count_events_counts_a_series_once() -> None:
    events = term().events
    texts = sum(len(v) for v in events.values())
    assert count_events(events) == texts  # one VCALENDAR per UID
    assert count_events({"x": [events["ranepa"][0]] * 2}) == 1


def test_all_calendars_present() -> None:
    counts = {calendar_id: len(texts) for calendar_id, texts in term().events.items()}
    assert set(counts) == set(CALENDAR_IDS)
    assert all(n >= 5 for n in counts.values()), counts


def test_every_text_is_valid_icalendar() -> None:
    for _, calendar, vevents in components(term().events):
        assert vevents
        assert len({str(e["UID"]) for e in vevents}) == 1
        assert sum("RECURRENCE-ID" not in e for e in vevents) == 1
        defined = {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}
        assert HUB_TZ in defined
        for event in vevents:
            for name in ("DTSTAMP", "UID", "SUMMARY", "DTSTART"):
                assert name in event, (name, event.get("SUMMARY"))
            assert ("DTEND" in event) != ("DURATION" in event)
            used = {
                str(value.params["TZID"])
                for value in event.values()
                if hasattr(value, "params") and "TZID" in value.params
            }
            assert used <= defined
        assert Calendar.from_ical(calendar.to_ical()) == calendar


def test_recurring_share_exdate_override_and_byday() -> None:
    all_masters = [event for _, event in masters(term().events)]
    recurring = [e for e in all_masters if "RRULE" in e]
    assert 0.08 <= len(recurring) / len(all_masters) <= 0.13
    rules = [e["RRULE"] for e in recurring]
    assert any("COUNT" in r for r in rules) and any("UNTIL" in r for r in rules)
    assert any(r.get("BYDAY") == ["MO", "WE"] for r in rules)
    assert any("EXDATE" in e for e in recurring)
    overrides = [
        e for _, _, vevents in components(term().events) for e in vevents if "RECURRENCE-ID" in e
    ]
    assert any(e["DTSTART"].dt != e["RECURRENCE-ID"].dt for e in overrides)


def test_time_zone_mix() -> None:
    starts = [event["DTSTART"] for _, event in masters(term().events)]
    zones = Counter(str(s.params.get("TZID", "")) for s in starts)
    assert zones[HUB_TZ] > len(starts) / 2
    assert zones["Europe/Moscow"] >= 2
    assert (
        sum(isinstance(s.dt, dt.datetime) and s.dt.utcoffset() == dt.timedelta(0) for s in starts)
        >= 2
    )
    assert sum(not isinstance(s.dt, dt.datetime) for s in starts) >= 5


def test_every_occurrence_falls_within_the_term() -> None:
    zone = ZoneInfo(HUB_TZ)
    begin = dt.datetime.combine(START, dt.time(), zone)
    end = begin + dt.timedelta(weeks=TERM_WEEKS)
    for _, calendar, _ in components(term().events):
        window = recurring_ical_events.of(calendar).between(
            START - dt.timedelta(days=400), START + dt.timedelta(days=500)
        )
        for occurrence in window:
            first, last = occurrence["DTSTART"].dt, occurrence["DTEND"].dt
            if not isinstance(first, dt.datetime):
                first = dt.datetime.combine(first, dt.time(), zone)
                last = dt.datetime.combine(last, dt.time(), zone)
            assert begin <= first and last <= end, occurrence["SUMMARY"]


def test_cancelled_and_transparent_present() -> None:
    all_masters = [event for _, event in masters(term().events)]
    assert 1 <= sum(e.get("STATUS") == "CANCELLED" for e in all_masters) <= 2
    assert sum(e.get("TRANSP") == "TRANSPARENT" for e in all_masters) == 1


def test_audience_written_every_way() -> None:
    all_masters = masters(term().events)
    summaries = [str(e["SUMMARY"]) for _, e in all_masters]
    tagged = [s for s in summaries if re.search(r"\[[^\]]+\]", s)]
    assert len(tagged) > len(summaries) / 2
    assert any("[инженерный профиль]" in s for s in summaries)
    assert any(re.search(r"\[\d+A\]|\d+B\]", s) for s in summaries)  # Latin look-alikes
    assert any("CATEGORIES" in e for _, e in all_masters)
    assert any("X-CALHUB-AUDIENCE" in e for _, e in all_masters)
    assert any(re.search(r"^Классы: ", str(e.get("DESCRIPTION", "")), re.M) for _, e in all_masters)
    untagged = [
        e
        for calendar_id, e in all_masters
        if calendar_id != "blackout"
        and not re.search(r"\[[^\]]+\]", str(e["SUMMARY"]))
        and not {"CATEGORIES", "X-CALHUB-AUDIENCE"} & set(e)
        and "Классы:" not in str(e.get("DESCRIPTION", ""))
    ]
    assert len(untagged) >= 4


def test_venues_and_times_are_realistic() -> None:
    zone = ZoneInfo(HUB_TZ)
    all_masters = masters(term().events)
    locations = {str(e["LOCATION"]) for _, e in all_masters if "LOCATION" in e}
    assert "Актовый зал гимназии" in locations
    assert {alias for alias in VENUE_ALIASES if alias.capitalize() in locations}
    assert sum("LOCATION" not in e for _, e in all_masters) >= 3  # online, reminders, ...
    for calendar_id, event in all_masters:
        start = event["DTSTART"].dt
        if calendar_id == "blackout" or not isinstance(start, dt.datetime):
            continue
        end = event["DTEND"].dt if "DTEND" in event else start + event["DURATION"].dt
        assert dt.timedelta(minutes=45) <= end - start <= dt.timedelta(minutes=120)
        local = start.astimezone(zone)
        assert dt.time(8) <= local.time() and end.astimezone(zone).time() <= dt.time(19, 30)
        assert local.weekday() < 6


def test_blackout_calendar() -> None:
    blackout = [e for calendar_id, e in masters(term().events) if calendar_id == "blackout"]
    summaries = " ".join(str(e["SUMMARY"]) for e in blackout)
    for word in ("каникулы", "ОГЭ", "ЕГЭ", "ВПР"):
        assert word in summaries
    all_day = [e for e in blackout if not isinstance(e["DTSTART"].dt, dt.datetime)]
    assert any((e["DTEND"].dt - e["DTSTART"].dt).days >= 7 for e in all_day)
    assert len(all_day) >= 3 and len(blackout) - len(all_day) >= 3


def test_term_must_start_on_a_monday() -> None:
    with pytest.raises(ValueError, match="Monday"):
        demo_events(START + dt.timedelta(days=1))


@functools.cache
def engine_clashes(start: dt.date) -> list:
    config = EngineConfig(tz=HUB_TZ, groups=GROUPS, venue_aliases=VENUE_ALIASES)
    parser = AudienceParser(GROUPS)
    now = dt.datetime.combine(start, dt.time(), dt.UTC)
    occurrences = []
    for calendar in (*SCHOOL_CALENDARS, *PARTNERS):
        default = parser.parse(calendar.audience) if calendar.audience else None
        for text in term(start).events[calendar.id]:
            occurrences += expand_calendar(
                text,
                calendar=calendar.id,
                config=config,
                parser=parser,
                default_audience=default,
                is_blackout=calendar.id == "blackout",
                now=now,
            )
    return ClashEngine(config).scan(occurrences)


@pytest.mark.parametrize("start", STARTS[:3] + STARTS[-1:], ids=str)
def test_engine_finds_exactly_the_intended_clashes(start: dt.date) -> None:
    clashes = engine_clashes(start)
    assert 6 <= sum(c.severity == "hard" for c in clashes) <= 20
    assert {c.rule for c in clashes} == set(RULES)
    intended = term(start).intended
    for clash in clashes:
        uids = frozenset(o.uid for o in clash.occurrences)
        assert any(uids <= wanted.uids for wanted in intended), clash.message_en
    for wanted in intended:
        assert any(
            frozenset(o.uid for o in c.occurrences) <= wanted.uids and c.rule == wanted.rule
            for c in clashes
        ), wanted.what
