"""From .ics files to clashes: the path the hub takes for a new event."""

from __future__ import annotations

from collections.abc import Callable

from calhub.engine import (
    Audience,
    ClashEngine,
    EngineConfig,
    IntervalIndex,
    Occurrence,
)

Expand = Callable[..., list[Occurrence]]


def test_moscow_lecture_meets_kaliningrad_test(expand: Expand, config: EngineConfig) -> None:
    found = ClashEngine(config).scan(expand("moscow_vs_kaliningrad.ics", calendar="hub"))
    assert [(c.rule, sorted(o.uid for o in c.occurrences)) for c in found] == [
        ("audience", ["lecture-msk@university", "test-kgd@school"])
    ]
    (clash,) = found
    # times are shown in the hub zone (Kaliningrad): 10:00 Moscow is 09:00 there
    assert "12.03.2025 09:00–10:30" in clash.message_ru
    assert "12.03.2025 09:00–09:45" in clash.message_ru
    # the class hour right after the lecture is back-to-back: no clash, and the
    # lecture is online, so no travel time is needed either


def test_new_partner_event_checked_against_the_hub(expand: Expand, config: EngineConfig) -> None:
    hub = IntervalIndex(
        expand("whole_calendar_many_uids.ics", calendar="school")
        + expand("blackout_exams.ics", calendar="blackout", is_blackout=True)
        + expand("allday_multiday.ics", calendar="school")
    )
    new = expand("rdate_with_period.ics", calendar="bfu")
    found = {c.rule: c for c in ClashEngine(config).check(new, hub)}
    assert sorted(found) == ["audience", "blackout", "overload"]
    # the consultation on 12 March (grade 11) falls on the mock exam day for grade 11 ...
    blackout = found["blackout"]
    assert [o.uid for o in blackout.occurrences] == ["consultations@bfu", "mock-ege@blackout"]
    assert "«Пробный ЕГЭ [11]» (blackout, 12.03.2025 (весь день))" in blackout.message_ru
    assert "(аудитория: 11)" in blackout.message_ru
    # ... and into the school's all-day olympiad week for 10–11 (10–12 March)
    audience = found["audience"]
    assert {o.uid for o in audience.occurrences} == {"consultations@bfu", "olympiad-week@school"}
    assert "10.03.2025–12.03.2025 (весь день)" in audience.message_ru
    # ... and grade 11 now has 7 events in that ISO week: two consultations, the
    # olympiad week, two choir rehearsals, the parents' meeting and the open day
    overload = found["overload"]
    assert overload.severity == "soft"
    assert len(overload.occurrences) == 7
    assert "у 11-х классов 7 событий за неделю 2025-W11" in overload.message_ru
    assert all(c.severity == "hard" for c in (blackout, audience))


def test_cancelled_override_frees_the_slot(expand: Expand, config: EngineConfig) -> None:
    robotics = expand("moved_override.ics", calendar="ytc")
    assert all(o.start.day != 18 for o in robotics)
    school = IntervalIndex(
        [
            Occurrence(
                calendar="school",
                uid="concert",
                recurrence_id="",
                summary="Концерт",
                start=next(o for o in robotics if o.start.day == 4).start.replace(day=18),
                end=next(o for o in robotics if o.start.day == 4).end.replace(day=18),
                all_day=False,
                location="Технопарк",
                venue="технопарк",
                audience=Audience(frozenset({9})),
                audience_source="test",
                is_blackout=False,
            )
        ]
    )
    assert ClashEngine(config).check(robotics, school) == []
