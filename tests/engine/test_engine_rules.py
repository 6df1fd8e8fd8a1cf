"""Every rule, its boundaries, its parameters and its messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from calhub.engine import (
    Clash,
    ClashEngine,
    EngineConfig,
    IntervalIndex,
    Occurrence,
    RuleSettings,
)

Make = Callable[..., Occurrence]


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def only(rule: str, **params: object) -> EngineConfig:
    """A config with just one rule enabled."""
    rules = {
        name: RuleSettings(enabled=False)
        for name in ("audience", "blackout", "venue", "travel", "duplicate", "overload")
    }
    rules[rule] = RuleSettings(params=params)
    return EngineConfig(rules=rules)


def clashes(config: EngineConfig, *occurrences: Occurrence) -> list[Clash]:
    """Scan and check must agree; return the scan result."""
    engine = ClashEngine(config)
    found = engine.scan(occurrences)
    for occ in occurrences:
        others = IntervalIndex(o for o in occurrences if o.event_key != occ.event_key)
        mine = [o for o in occurrences if o.event_key == occ.event_key]
        expected = {c.id for c in found if any(o.event_key == occ.event_key for o in c.occurrences)}
        assert {c.id for c in engine.check(mine, others)} == expected
    return found


# --- audience -----------------------------------------------------------------------------


def test_audience_overlap_with_shared_class(make_occ: Make) -> None:
    a = make_occ("olympiad", "10-11", 10, 120, calendar="bfu")
    b = make_occ("test", "10А", 11, 45, calendar="school")
    (clash,) = clashes(only("audience"), a, b)
    assert clash.rule == "audience" and clash.severity == "hard"
    assert clash.occurrences == (a, b)  # sorted by key: "bfu" < "school"
    assert "10А" in clash.message_ru and "10А" in clash.message_en
    assert "«olympiad» (bfu, 12.03.2025 12:00–14:00)" in clash.message_ru  # Kaliningrad time
    assert '"test" (school, 2025-03-12 13:00–13:45)' in clash.message_en


def test_audience_different_classes_do_not_clash(make_occ: Make) -> None:
    assert clashes(only("audience"), make_occ("a", "10А"), make_occ("b", "10Б")) == []


def test_audience_back_to_back_is_not_a_clash(make_occ: Make) -> None:
    first = make_occ("a", "10", 10, 60)
    second = make_occ("b", "10", 11, 60)
    assert clashes(only("audience"), first, second) == []
    one_minute_more = make_occ("c", "10", 10, 61)
    assert len(clashes(only("audience"), one_minute_more, second)) == 1


def test_occurrences_of_one_event_never_clash(make_occ: Make) -> None:
    a = make_occ("series", "10", 10, 60, recurrence_id="1")
    b = make_occ("series", "10", 10, 60, recurrence_id="2")
    assert clashes(EngineConfig(), a, b) == []


def test_same_uid_in_other_calendar_does_clash(make_occ: Make) -> None:
    a = make_occ("same", "10", calendar="bfu")
    b = make_occ("same", "10", calendar="school")
    assert [c.rule for c in clashes(only("audience"), a, b)] == ["audience"]


def test_audience_can_ignore_all_day(make_occ: Make) -> None:
    day = make_occ("day", "10", utc(11, 22), 24 * 60, all_day=True)
    lesson = make_occ("lesson", "10", 10)
    assert len(clashes(only("audience"), day, lesson)) == 1
    assert clashes(only("audience", ignore_all_day=True), day, lesson) == []


def test_zero_length_event_inside_another_clashes(make_occ: Make) -> None:
    deadline = make_occ("deadline", "10", utc(12, 10, 30), 0)
    lesson = make_occ("lesson", "10", 10, 60)
    assert len(clashes(only("audience"), deadline, lesson)) == 1
    at_start = make_occ("at-start", "10", 10, 0)
    assert clashes(only("audience"), at_start, lesson) == []


# --- blackout -----------------------------------------------------------------------------


def test_blackout_blocks_events_of_its_audience(make_occ: Make) -> None:
    exam = make_occ("ege", "11", utc(11, 22), 24 * 60, calendar="blackout", is_blackout=True)
    trip = make_occ("trip", "10-11", 8, 300, calendar="bfu")
    (clash,) = clashes(EngineConfig(), exam, trip)
    assert (clash.rule, clash.severity) == ("blackout", "hard")
    assert "закрытый период" in clash.message_ru and "blackout" in clash.message_en
    assert "11" in clash.message_ru


def test_blackout_spares_other_grades_and_other_blackouts(make_occ: Make) -> None:
    exam = make_occ("ege", "11", 8, 300, is_blackout=True)
    other = make_occ("holiday", "1-11", 8, 300, is_blackout=True)
    ninth = make_occ("trip", "9", 9, 60)
    found = clashes(EngineConfig(), exam, other, ninth)
    assert [(c.rule, {o.uid for o in c.occurrences}) for c in found] == [
        ("blackout", {"holiday", "trip"})
    ]


def test_blackout_occurrences_take_part_in_no_other_rule(make_occ: Make) -> None:
    exam = make_occ("exam", "11", 10, 60, location="Актовый зал", is_blackout=True)
    concert = make_occ("exam", "11", 10, 60, location="Актовый зал", calendar="school")
    assert {c.rule for c in clashes(EngineConfig(), exam, concert)} == {"blackout"}


# --- venue --------------------------------------------------------------------------------


def test_same_venue_at_once_clashes_whoever_attends(make_occ: Make) -> None:
    a = make_occ("choir", "5", 10, 60, location="Актовый зал")
    b = make_occ("parents", "11А", 10, 30, location="актовый зал.")
    (clash,) = clashes(only("venue"), a, b)
    assert (clash.rule, clash.severity) == ("venue", "hard")
    assert "Актовый зал" in clash.message_ru


def test_venue_boundaries(make_occ: Make) -> None:
    a = make_occ("a", "5", 10, 60, location="каб. 12")
    back_to_back = make_occ("b", "6", 11, 60, location="кабинет 12")
    elsewhere = make_occ("c", "6", 10, 60, location="каб. 13")
    nowhere = make_occ("d", "6", 10, 60)
    assert clashes(only("venue"), a, back_to_back, elsewhere, nowhere) == []


def test_online_is_not_a_venue_unless_asked(make_occ: Make) -> None:
    a = make_occ("a", "5", 10, 60, location="Zoom")
    b = make_occ("b", "6", 10, 60, location="zoom")
    assert clashes(only("venue"), a, b) == []
    assert len(clashes(only("venue", ignore_online=False), a, b)) == 1


# --- travel -------------------------------------------------------------------------------


def test_travel_gap_below_limit_clashes(make_occ: Make) -> None:
    a = make_occ("lecture", "10", 10, 60, location="БФУ", calendar="bfu")
    b = make_occ("lesson", "10А", utc(12, 11, 29), 45, location="Гимназия", calendar="school")
    (clash,) = clashes(only("travel"), a, b)
    assert (clash.rule, clash.severity) == ("travel", "soft")
    assert "29 мин" in clash.message_ru and "30 мин" in clash.message_ru
    assert clash.message_ru.index("lecture") < clash.message_ru.index("lesson")
    assert "БФУ" in clash.message_ru and "Гимназия" in clash.message_en


def test_travel_gap_exactly_at_limit_is_enough(make_occ: Make) -> None:
    a = make_occ("a", "10", 10, 60, location="БФУ")
    b = make_occ("b", "10", utc(12, 11, 30), 45, location="Гимназия")
    assert clashes(only("travel"), a, b) == []


def test_travel_back_to_back_at_different_venues_clashes(make_occ: Make) -> None:
    a = make_occ("a", "10", 10, 60, location="БФУ")
    b = make_occ("b", "10", 11, 60, location="Гимназия")
    (clash,) = clashes(only("travel"), a, b)
    assert "0 мин" in clash.message_ru


def test_travel_needs_shared_students_and_two_places(make_occ: Make) -> None:
    a = make_occ("a", "10А", 10, 60, location="БФУ")
    other_class = make_occ("b", "10Б", 11, 60, location="Гимназия")
    same_place = make_occ("c", "10А", 11, 60, location="бфу")
    overlapping = make_occ("d", "10А", utc(12, 10, 30), 60, location="Гимназия")
    no_place = make_occ("e", "10А", 11, 60)
    online = make_occ("f", "10А", 11, 60, location="Онлайн")
    assert clashes(only("travel"), a, other_class, same_place, overlapping, no_place, online) == []


def test_travel_gap_minutes_param(make_occ: Make) -> None:
    a = make_occ("a", "10", 10, 60, location="БФУ")
    b = make_occ("b", "10", utc(12, 11, 40), 45, location="Гимназия")
    assert clashes(only("travel"), a, b) == []
    assert len(clashes(only("travel", gap_minutes=45), a, b)) == 1


def test_travel_within_one_site_is_free(make_occ: Make) -> None:
    a = make_occ("a", "10", 10, 60, location="Гимназия, ауд. 12")
    b = make_occ("b", "10", 11, 60, location="Гимназия, спортзал")
    assert len(clashes(only("travel"), a, b)) == 1
    assert clashes(only("travel", sites={"гимназия": ["Гимназия"]}), a, b) == []


def test_travel_ignores_all_day_by_default(make_occ: Make) -> None:
    day = make_occ("day", "10", utc(11, 22), 24 * 60, location="БФУ", all_day=True)
    morning = make_occ("early", "10", utc(12, 22, 10), 60, location="Гимназия")
    assert clashes(only("travel"), day, morning) == []
    assert len(clashes(only("travel", ignore_all_day=False), day, morning)) == 1


# --- duplicate ----------------------------------------------------------------------------


def test_duplicate_same_title_same_day(make_occ: Make) -> None:
    a = make_occ("a", "10-11", 8, 60, summary="Олимпиада по физике [10-11]", calendar="bfu")
    b = make_occ("b", "11", 14, 60, summary="  олимпиада   по ФИЗИКЕ! ", calendar="school")
    (clash,) = clashes(only("duplicate"), a, b)
    assert (clash.rule, clash.severity) == ("duplicate", "soft")
    assert "дважды" in clash.message_ru and "twice" in clash.message_en


def test_duplicate_day_is_the_local_day(make_occ: Make) -> None:
    # 21:30Z and 22:30Z are one UTC day but two days in Kaliningrad (UTC+2).
    late = make_occ("a", "10", utc(12, 21, 30), 30, summary="Турнир")
    early = make_occ("b", "10", utc(12, 22, 30), 30, summary="Турнир")
    assert clashes(only("duplicate"), late, early) == []
    same_local_day = make_occ("c", "10", utc(11, 22, 30), 30, summary="Турнир")
    assert len(clashes(only("duplicate"), late, same_local_day)) == 1


def test_duplicate_needs_shared_students_and_a_title(make_occ: Make) -> None:
    a = make_occ("a", "10А", 8, summary="Турнир")
    b = make_occ("b", "10Б", 14, summary="Турнир")
    c = make_occ("c", "10А", 9, summary="[10А]")
    d = make_occ("d", "10А", 15, summary="  ")
    e = make_occ("e", "10А", 16, summary="Турнир по шахматам")
    assert clashes(only("duplicate"), a, b, c, d, e) == []


def test_duplicate_keeps_non_audience_brackets(make_occ: Make) -> None:
    a = make_occ("a", "10", 8, summary="Лекция [БФУ]")
    b = make_occ("b", "10", 9, summary="Лекция [ауд. 5]")
    assert clashes(only("duplicate"), a, b) == []


# --- overload -----------------------------------------------------------------------------


def week_of(
    make_occ: Make, count: int, audience: str = "10", prefix: str = "e"
) -> list[Occurrence]:
    # Monday 10 March 2025 onwards, one a day at 08:00 UTC (10:00 Kaliningrad)
    return [make_occ(f"{prefix}{i}", audience, utc(10 + i % 7, 8), 60) for i in range(count)]


def test_overload_more_than_max_per_week(make_occ: Make) -> None:
    items = week_of(make_occ, 6)
    (clash,) = clashes(only("overload"), *items)
    assert (clash.rule, clash.severity) == ("overload", "soft")
    assert len(clash.occurrences) == 6
    assert [o.key for o in clash.occurrences] == sorted(o.key for o in items)
    assert "2025-W11" in clash.message_ru and "10-х" in clash.message_ru
    assert "grade 10" in clash.message_en


def test_overload_exactly_max_is_fine(make_occ: Make) -> None:
    assert clashes(only("overload"), *week_of(make_occ, 5)) == []


def test_overload_max_per_week_param(make_occ: Make) -> None:
    assert len(clashes(only("overload", max_per_week=2), *week_of(make_occ, 3))) == 1


def test_overload_counts_classes_for_their_grade_and_by_grade(make_occ: Make) -> None:
    items = week_of(make_occ, 3, "10А", "a") + week_of(make_occ, 3, "10Б, 11", "b")
    found = clashes(only("overload"), *items)
    assert len(found) == 1  # grade 10 has 6; grade 11 only 3
    assert "10-х" in found[0].message_ru


def test_overload_week_is_the_local_iso_week(make_occ: Make) -> None:
    # Sunday 16 March 22:30Z is Monday 17 March 00:30 in Kaliningrad: next week.
    items = [*week_of(make_occ, 5), make_occ("late", "10", utc(16, 22, 30), 30)]
    assert clashes(only("overload"), *items) == []
    items[-1] = make_occ("late", "10", utc(16, 21, 30), 30)
    assert len(clashes(only("overload"), *items)) == 1


def test_overload_id_depends_on_grade_and_week_only(make_occ: Make) -> None:
    (first,) = clashes(only("overload"), *week_of(make_occ, 6))
    (second,) = clashes(only("overload"), *week_of(make_occ, 7, prefix="x"))
    assert first.id == second.id
    assert len(second.occurrences) == 7


def test_overload_skips_blackouts_and_optionally_all_day(make_occ: Make) -> None:
    items = week_of(make_occ, 5)
    exam = make_occ("exam", "10", utc(14, 8), 60, is_blackout=True)
    day = make_occ("day", "10", utc(13, 22), 24 * 60, all_day=True)
    assert clashes(only("overload"), *items, exam) == []
    assert len(clashes(only("overload"), *items, day)) == 1
    assert clashes(only("overload", count_all_day=False), *items, day) == []


# --- settings, ids --------------------------------------------------------------------------


def test_disabled_rules_are_not_built() -> None:
    engine = ClashEngine(EngineConfig(rules={"travel": RuleSettings(enabled=False)}))
    assert [rule.name for rule in engine.rules] == [
        "audience",
        "blackout",
        "venue",
        "duplicate",
        "overload",
    ]


def test_severity_override(make_occ: Make) -> None:
    config = EngineConfig(rules={"audience": RuleSettings(severity="soft")})
    found = ClashEngine(config).scan([make_occ("a", "10"), make_occ("b", "10")])
    assert {(c.rule, c.severity) for c in found} == {("audience", "soft")}


@pytest.mark.parametrize(
    "config",
    [
        lambda: EngineConfig(rules={"nonsense": RuleSettings()}),
        lambda: EngineConfig(
            rules={"travel": RuleSettings(params={"gap_minutes": "half an hour"})}
        ),
        lambda: EngineConfig(rules={"overload": RuleSettings(params={"max_per_week": -1})}),
        lambda: EngineConfig(rules={"travel": RuleSettings(params={"sites": ["x"]})}),
        lambda: EngineConfig(rules={"venue": RuleSettings(params={"ignore_online": "yes"})}),
        lambda: EngineConfig(rules={"travel": RuleSettings(params={"gap_minutes": True})}),
        lambda: EngineConfig(rules={"travel": RuleSettings(params={"gap_minutes": 7.5})}),
        lambda: EngineConfig(rules={"travel": RuleSettings(params={"gap_minute": 30})}),
        lambda: EngineConfig(rules={"duplicate": RuleSettings(params={"max_per_week": 3})}),
        lambda: EngineConfig(rules={"audience": RuleSettings(params={"ignore_all_day": 1})}),
    ],
)
def test_bad_rule_settings_fail_early(config: Callable[[], EngineConfig]) -> None:
    with pytest.raises(ValueError, match=r"^(rule \w+: |unknown rules)"):
        ClashEngine(config())


def test_rules_read_their_declared_defaults() -> None:
    for rule in ClashEngine(EngineConfig()).rules:
        assert dict(rule.params) == {option.name: option.default for option in rule.options}
    (travel,) = ClashEngine(only("travel", gap_minutes=0)).rules
    assert travel.params["gap_minutes"] == 0 and travel.params["ignore_online"] is True


def test_travel_site_spellings_go_through_the_venue_aliases(make_occ: Make) -> None:
    a = make_occ("a", "10", 10, 60, location="Гимназия, ауд. 12")
    b = make_occ("b", "10", 11, 60, location="Спортзал")
    config = replace(
        only("travel", sites={"гимназия": ["Гимназия", "актовый зал"]}),
        venue_aliases={"актовый зал": "Спортзал"},
    )
    assert clashes(config, a, b) == []
    assert len(clashes(only("travel", sites={"гимназия": ["Гимназия"]}), a, b)) == 1


def test_bad_config_values_fail_early() -> None:
    with pytest.raises(ValueError):
        RuleSettings(severity="critical")
    with pytest.raises(ValueError):
        EngineConfig(tz="Europe/Atlantis")
    with pytest.raises(ValueError):
        EngineConfig(max_occurrences_per_event=0)
    with pytest.raises(ValueError):
        EngineConfig(horizon_past_days=-1)


def test_clash_id_is_stable_and_order_free(make_occ: Make) -> None:
    a, b = make_occ("a", "10"), make_occ("b", "10")
    engine = ClashEngine(only("audience"))
    (one,) = engine.scan([a, b])
    (two,) = engine.scan([b, a])
    (three,) = engine.check([b], IntervalIndex([a]))
    assert one == two == three
    assert len(one.id) == 16 and int(one.id, 16) >= 0
    moved = make_occ("b", "10", utc(12, 10, 15), 60)
    (four,) = engine.scan([a, moved])
    assert four.id == one.id  # same occurrences (keys), new time: same clash


def test_occurrence_must_be_aware_and_ordered(make_occ: Make) -> None:
    good = make_occ("a")
    with pytest.raises(ValueError):
        replace(good, start=datetime(2025, 3, 12, 10))
    with pytest.raises(ValueError):
        replace(good, end=good.start - timedelta(minutes=1))
