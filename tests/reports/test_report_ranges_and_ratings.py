"""The report's days (presets, typed ranges, DST days) and the loyalty score's arithmetic."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from calhub.errors import UserError
from calhub.reports.ranges import day_bounds, default_range, presets, read_range
from calhub.reports.ratings import NO_FEEDBACK, summarize


def test_presets_are_the_halves_of_the_school_year() -> None:
    found = presets(dt.date(2026, 12, 3))
    assert [(p.key, p.first, p.last) for p in found] == [
        ("2026-1", dt.date(2026, 9, 1), dt.date(2026, 12, 31)),
        ("2025-2", dt.date(2026, 1, 1), dt.date(2026, 5, 31)),
        ("2025-1", dt.date(2025, 9, 1), dt.date(2025, 12, 31)),
    ]
    assert found[0].label_ru == "1-е полугодие 2026/27"
    assert default_range(dt.date(2027, 2, 10)) == (dt.date(2027, 1, 1), dt.date(2027, 5, 31))
    # In July the report asked for is the spring just over.
    assert default_range(dt.date(2027, 7, 10)) == (dt.date(2027, 1, 1), dt.date(2027, 5, 31))


@pytest.mark.parametrize(
    ("start", "end", "fragment"),
    [
        ("2027-01-32", "2027-02-01", "не понята"),
        ("2027-02-01", None, "обе даты"),
        ("2027-03-01", "2027-02-01", "раньше"),
        ("2026-01-01", "2027-12-31", "400"),
    ],
)
def test_bad_ranges_are_user_errors(start: str, end: str | None, fragment: str) -> None:
    with pytest.raises(UserError, match=fragment):
        read_range(start, end, dt.date(2026, 12, 3))


def test_an_unknown_preset_is_a_user_error() -> None:
    with pytest.raises(UserError, match="2019-1"):
        read_range(None, None, dt.date(2026, 12, 3), "2019-1")
    assert read_range(None, None, dt.date(2026, 12, 3), "2025-2") == (
        dt.date(2026, 1, 1),
        dt.date(2026, 5, 31),
    )


def test_day_bounds_on_dst_days() -> None:
    # A hub in Berlin: the report of the spring-forward Sunday is 23 hours long, of the
    # autumn one 25; Kaliningrad keeps UTC+2 all year.
    start, end = day_bounds(dt.date(2027, 3, 28), dt.date(2027, 3, 28), "Europe/Berlin")
    assert (start, end - start) == (
        dt.datetime(2027, 3, 27, 23, tzinfo=dt.UTC),
        dt.timedelta(hours=23),
    )
    start, end = day_bounds(dt.date(2027, 10, 31), dt.date(2027, 10, 31), "Europe/Berlin")
    assert end - start == dt.timedelta(hours=25)
    start, _ = day_bounds(dt.date(2027, 3, 28), dt.date(2027, 3, 28), "Europe/Kaliningrad")
    assert start == dt.datetime(2027, 3, 27, 22, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Answer:
    calendar: str
    uid: str
    occurrence: dt.datetime
    rating: int
    recommend: bool | None


def answers(*pairs: tuple[int, bool | None]) -> list[Answer]:
    when = dt.datetime(2027, 3, 2, 13, tzinfo=dt.UTC)
    return [Answer("bfu", "e@test", when, rating, rec) for rating, rec in pairs]


def test_loyalty_is_yes_share_minus_no_share() -> None:
    # 6 yes, 2 no, 2 skipped: (6 - 2) / 8 = +50; ratings of all 10.
    found = summarize(answers(*[(5, True)] * 6, *[(2, False)] * 2, (4, None), (3, None)))
    assert (found.count, found.average, found.loyalty) == (10, 4.1, 50.0)
    assert summarize(answers((1, False))).loyalty == -100.0
    assert summarize(answers((4, None))).loyalty is None
    empty = summarize([])
    assert (empty.count, empty.average, empty.loyalty) == (0, None, None)


def test_ratings_outside_one_to_five_are_not_counted() -> None:
    found = summarize(answers((0, True), (6, None), (5, True)))
    assert (found.count, found.average, found.recommend_yes) == (1, 5.0, 2)


def test_no_feedback_source_has_no_answers() -> None:
    now = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    assert NO_FEEDBACK.answers_between(now, now + dt.timedelta(days=1)) == []
