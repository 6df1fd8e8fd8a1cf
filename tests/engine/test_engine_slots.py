"""The slot finder: free exactly where a probe raises no hard clash, nearest first, and
only where the school's day lets the audience be."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from engine_strategies import BASE, PARSER, configs, occurrence_sets
from hypothesis import HealthCheck, given, settings
from hypothesis import event as tally
from hypothesis import strategies as st

from calhub.engine import (
    Audience,
    ClashEngine,
    EngineConfig,
    IntervalIndex,
    Occurrence,
    RuleSettings,
    normalise_venue,
)
from calhub.engine.schedule import Schedule, parse_clock, parse_grades
from calhub.engine.slots import free_slots, probe

ZONE = ZoneInfo("Europe/Kaliningrad")
MONDAY = date(2027, 2, 1)
WEEK = (
    datetime.combine(MONDAY, time(0, 0), ZONE),
    datetime.combine(MONDAY + timedelta(days=7), time(0, 0), ZONE),
)
SCHEDULE = Schedule(
    after_lessons={1: time(12, 40), 10: time(15, 20), 11: time(15, 20)},
    saturday_grades=frozenset(range(5, 12)),
)
HOUR = timedelta(hours=1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time ``day`` days after Monday 1 February 2027."""
    return datetime.combine(MONDAY + timedelta(days=day), time(hour, minute), ZONE)


def audience(text: str) -> Audience:
    parsed = PARSER.parse(text)
    assert parsed is not None
    return parsed


def event(
    start: datetime,
    end: datetime,
    who: str = "10",
    location: str = "",
    calendar: str = "bfu",
    uid: str = "e1",
) -> Occurrence:
    return Occurrence(
        calendar=calendar,
        uid=uid,
        recurrence_id="",
        summary="Лекция",
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        all_day=False,
        location=location,
        venue=normalise_venue(location, {}),
        audience=audience(who),
        audience_source="test",
        is_blackout=calendar == "blackout",
    )


def find(
    occurrences: list[Occurrence],
    who: str = "10А",
    minutes: int = 90,
    config: EngineConfig | None = None,
    **kwargs: object,
) -> list:  # type: ignore[type-arg]
    engine = ClashEngine(config or EngineConfig())
    return free_slots(
        audience(who),
        timedelta(minutes=minutes),
        WEEK,
        engine=engine,
        lookup=IntervalIndex(occurrences),
        schedule=kwargs.pop("schedule", SCHEDULE),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def test_an_empty_week_starts_after_the_grades_last_lesson() -> None:
    slots = find([], limit=3)
    assert [s.start for s in slots] == [at(0, 15, 20), at(0, 15, 35), at(0, 15, 50)]
    assert all(s.grade == "green" and s.end - s.start == timedelta(minutes=90) for s in slots)


def test_bell_times_per_grade_and_the_audience_waits_for_its_latest_grade() -> None:
    assert find([], who="1", limit=1)[0].start == at(0, 12, 40)
    assert find([], who="7", limit=1)[0].start == at(0, 14, 30)  # lessons_end
    assert find([], who="1, 10Б", limit=1)[0].start == at(0, 15, 20)


def test_no_slot_ends_after_the_latest_end_nor_falls_on_sunday() -> None:
    slots = find([], limit=1000)
    assert slots
    for slot in slots:
        local_start, local_end = slot.start.astimezone(ZONE), slot.end.astimezone(ZONE)
        assert local_end.time() <= time(19, 0) and local_end.date() == local_start.date()
        assert local_start.weekday() != 6
    # 15:20..17:30 in 15-minute steps: 9 a day, five lesson days and Saturday 10:00..17:30 (31)
    assert len(slots) == 5 * 9 + 31


def test_saturday_only_for_the_grades_allowed() -> None:
    near = at(5, 12)
    assert find([], who="10А", near=near, limit=1)[0].start == near
    juniors = find([], who="3", near=near, limit=1)[0].start
    assert juniors.astimezone(ZONE).weekday() != 5


def test_the_audiences_own_events_are_avoided_and_others_are_not() -> None:
    busy = [event(at(0, 15), at(0, 18), who="10")]
    assert find(busy, limit=1)[0].start == at(1, 15, 20)
    assert find(busy, who="9", limit=1)[0].start == at(0, 14, 30)


def test_a_blackout_is_respected() -> None:
    exams = [event(at(0, 0), at(3, 0), who="10-11", calendar="blackout", uid="exams")]
    assert find(exams, limit=1)[0].start == at(3, 15, 20)
    assert find(exams, who="9", limit=1)[0].start == at(0, 14, 30)


def test_a_venue_booking_is_respected_for_any_audience() -> None:
    hall = [event(at(0, 15), at(0, 19), who="5", location="Актовый зал")]
    assert find(hall, venue="актовый  зал", limit=1)[0].start == at(1, 15, 20)
    assert find(hall, venue="Спортзал", limit=1)[0].start == at(0, 15, 20)
    assert find(hall, limit=1)[0].start == at(0, 15, 20)  # no venue asked


def test_the_travel_gap_makes_a_slot_amber_or_takes_it_when_hard() -> None:
    lecture = [event(at(0, 17), at(0, 19), who="10", location="БФУ")]
    slots = find(lecture, venue="Гимназия", limit=2)
    # 15:20-16:50 ends 10 minutes before the lecture at another venue: soft by default
    assert slots[0].start == at(0, 15, 20) and slots[0].grade == "amber"
    assert slots[0].soft[0].rule == "travel"
    assert "Мало времени на дорогу" in slots[0].soft[0].message_ru
    assert "Too little travel time" in slots[0].soft[0].message_en
    hard = EngineConfig(rules={"travel": RuleSettings(severity="hard")})
    # 16:50 would leave no gap either; the next day is free
    assert find(lecture, venue="Гимназия", config=hard, limit=1)[0].start == at(1, 15, 20)


def test_near_ranks_by_closeness_earlier_first_on_a_tie() -> None:
    near = at(2, 16, 12) + timedelta(seconds=30)  # halfway between 16:05 and 16:20
    starts = [s.start for s in find([], near=near, limit=4)]
    assert starts == [at(2, 16, 5), at(2, 16, 20), at(2, 15, 50), at(2, 16, 35)]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="duration"):
        find([], minutes=0)
    naive = datetime(2027, 2, 1, 12)
    with pytest.raises(ValueError, match="aware"):
        find([], near=naive)
    assert find([], limit=0) == []


def test_clock_and_grades_parsing() -> None:
    assert parse_clock("08:30") == time(8, 30)
    assert parse_grades("1-4, 6") == frozenset({1, 2, 3, 4, 6})
    assert parse_grades("") == frozenset()
    for bad in ("8:30", "24:00", "noon"):
        with pytest.raises(ValueError, match="HH:MM"):
            parse_clock(bad)
    for bad in ("12", "4-1", "10А"):
        with pytest.raises(ValueError, match="grade"):
            parse_grades(bad)


# --- properties ----------------------------------------------------------------------

SEVERITIES = (None, "hard", "soft")


@st.composite
def hard_or_soft(draw: st.DrawFn) -> EngineConfig:
    """The strategies' random configs, each rule's severity drawn too."""
    config = draw(configs())
    rules = {
        name: dataclasses.replace(rule, severity=draw(st.sampled_from(SEVERITIES)))
        for name, rule in config.rules.items()
    }
    return dataclasses.replace(config, rules=rules)


@st.composite
def schedules(draw: st.DrawFn, tz: str) -> Schedule:
    def clock(low: int, high: int) -> st.SearchStrategy[time]:
        return st.builds(time, st.integers(low, high), st.sampled_from((0, 10, 15, 20, 40)))

    grades = st.frozensets(st.integers(1, 11), max_size=11)
    return Schedule(
        tz=tz,
        lesson_days=draw(st.frozensets(st.integers(0, 6), min_size=3, max_size=7)),
        lessons_end=draw(clock(8, 16)),
        after_lessons=draw(st.dictionaries(st.integers(1, 11), clock(8, 17), max_size=4)),
        saturday_grades=draw(grades),
        saturday_start=draw(clock(0, 20)),
        latest_end=draw(clock(17, 23)),
        step=timedelta(minutes=draw(st.sampled_from((10, 15, 30, 45)))),
    )


def grid_nearest(schedule, who, length, window, near):  # type: ignore[no-untyped-def]
    starts = sorted(
        grid(schedule, audience(who), length, *window), key=lambda s: (abs(s - near), s)
    )
    return starts[0] if starts else None


def grid(schedule: Schedule, who: Audience, length: timedelta, low: datetime, high: datetime):  # type: ignore[no-untyped-def]
    """Every start the school's day allows, found minute by minute (no use of Schedule.starts)."""
    zone = ZoneInfo(schedule.tz)
    day = low.astimezone(zone).date() - timedelta(days=1)
    while day <= high.astimezone(zone).date():
        weekday = day.weekday()
        grades = who.grades_touched()
        if weekday in schedule.lesson_days:
            begin = max(schedule.after_lessons.get(g, schedule.lessons_end) for g in grades)
        elif weekday == 5 and grades <= schedule.saturday_grades:
            begin = schedule.saturday_start
        else:
            begin = None
        if begin is not None:
            first = begin.hour * 60 + begin.minute
            last = schedule.latest_end.hour * 60 + schedule.latest_end.minute
            step = int(schedule.step.total_seconds() // 60)
            for minute in range(first, 24 * 60, step):
                if minute + length.total_seconds() // 60 > last:
                    break
                local = datetime.combine(day, time(minute // 60, minute % 60))
                moment = local.replace(tzinfo=zone)
                if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local:
                    continue  # in a DST gap
                start = moment.astimezone(UTC)
                if low <= start and start + length <= high:
                    yield start
        day += timedelta(days=1)


@st.composite
def afternoons(draw: st.DrawFn) -> list[Occurrence]:
    """Events where the candidates are (the strategies' own spread over whole days)."""
    items = []
    for number in range(draw(st.integers(0, 12))):
        start = BASE + timedelta(
            days=draw(st.integers(0, 9)), minutes=15 * draw(st.integers(40, 80))
        )
        location = draw(st.sampled_from(("", "ауд. 1", "БФУ", "Онлайн", "Технопарк")))
        calendar = draw(st.sampled_from(("bfu", "school", "blackout")))
        items.append(
            Occurrence(
                calendar=calendar,
                uid=f"a{number}",
                recurrence_id="",
                summary="",
                start=start,
                end=start + timedelta(minutes=15 * draw(st.integers(1, 16))),
                all_day=False,
                location=location,
                venue=normalise_venue(location, {}),
                audience=audience(draw(st.sampled_from(("10", "11", "10А", "10Б", "9", "10-11")))),
                audience_source="test",
                is_blackout=calendar == "blackout",
            )
        )
    return items


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spread=occurrence_sets(),
    crowd=afternoons(),
    config=hard_or_soft(),
    data=st.data(),
    who=st.sampled_from(("10", "11", "10А", "9", "10-11", "вся школа")),
    minutes=st.sampled_from((15, 45, 90, 240)),
    venue=st.sampled_from(("", "ауд. 1", "БФУ", "Онлайн")),
    day=st.integers(0, 9),
    hour=st.integers(10, 20),
    limit=st.integers(1, 6),
)
def test_slots_are_free_and_none_nearer_is_missed(
    spread: list[Occurrence],
    crowd: list[Occurrence],
    config: EngineConfig,
    data: st.DataObject,
    who: str,
    minutes: int,
    venue: str,
    day: int,
    hour: int,
    limit: int,
) -> None:
    occurrences = spread + crowd
    schedule = data.draw(schedules(config.tz))
    engine = ClashEngine(config)
    lookup = IntervalIndex(occurrences)
    length = timedelta(minutes=minutes)
    window = (BASE, BASE + timedelta(days=10))
    near = BASE + timedelta(days=day, hours=hour, minutes=7)
    slots = free_slots(
        audience(who),
        length,
        window,
        venue=venue,
        near=near,
        limit=limit,
        engine=engine,
        lookup=lookup,
        schedule=schedule,
    )
    # Free by the other code path too: a whole scan of the events with the slot in it.
    for slot in slots:
        placed = probe(engine, audience(who), slot.start, length, venue)
        hard = [c for c in engine.scan([*occurrences, placed]) if c.severity == "hard"]
        assert not [c for c in hard if placed in c.occurrences]
        assert slot.grade == ("amber" if slot.soft else "green")
    # Brute force over the grid: the nearest free starts are exactly the ones returned.
    free = []
    for start in grid(schedule, audience(who), length, *window):
        clashes = engine.check([probe(engine, audience(who), start, length, venue)], lookup)
        if not any(c.severity == "hard" for c in clashes):
            free.append(start)
    free.sort(key=lambda start: (abs(start - near), start))
    assert [slot.start for slot in slots] == free[:limit]
    tally("slots found" if slots else "no slot")
    tally(
        "a nearer start is taken"
        if free and grid_nearest(schedule, who, length, window, near) != free[0]
        else "nearest is free"
    )
