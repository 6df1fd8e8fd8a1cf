"""A check counts the overload rule's grade-weeks instead of reading them: a weekly series
in a busy hub touches dozens of weeks of hundreds of events each. The clashes it returns
read their members only when asked, and then hold exactly what a full scan finds."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from helpers import hour_long_occurrence

from calhub.engine import ClashEngine, EngineConfig, IntervalIndex, Occurrence
from calhub.engine.clash import Members
from calhub.engine.index import NO_NARROWING, Narrowing

MONDAY = dt.datetime(2026, 2, 2, 8, tzinfo=dt.UTC)


def lesson(calendar: str, uid: str, week: int, day: int, hour: int) -> Occurrence:
    """A 45-minute grade-10 lesson, one instance of a series."""
    start = MONDAY + dt.timedelta(weeks=week, days=day, hours=hour)
    return replace(
        hour_long_occurrence(calendar, uid, start, f"Занятие {uid}"),
        recurrence_id=start.strftime("%Y%m%dT%H%M%SZ"),
        end=start + dt.timedelta(minutes=45),
    )


class WatchedLookup:
    """An in-memory lookup that records how long each window it was asked for is."""

    def __init__(self, occurrences: list[Occurrence]) -> None:
        self.index = IntervalIndex(occurrences)
        self.windows: list[dt.timedelta] = []

    def overlapping(
        self, start: dt.datetime, end: dt.datetime, where: Narrowing = NO_NARROWING
    ) -> list[Occurrence]:
        self.windows.append(end - start)
        return self.index.overlapping(start, end, where)

    def count_by_grade(self, *args: Any) -> dict[int, int]:
        return self.index.count_by_grade(*args)


def test_a_weekly_series_in_full_weeks_is_counted_and_its_clashes_read_on_demand() -> None:
    # Ten weeks with eight other grade-10 events each (the limit is five a week).
    hub = [
        lesson("bfu", f"e{week}-{n}", week, n % 5, 1 + n // 5)
        for week in range(10)
        for n in range(8)
    ]
    series = [lesson("school", "series", week, 2, 6) for week in range(10)]
    engine = ClashEngine(EngineConfig(tz="Europe/Kaliningrad"))
    lookup = WatchedLookup(hub)

    found = [c for c in engine.check(series, lookup) if c.rule == "overload"]

    assert len(found) == 10
    assert all(isinstance(c.occurrences, Members) for c in found)
    assert max(lookup.windows) < dt.timedelta(days=2), "no week was read to find them"
    expected = {c.id: c for c in engine.scan(hub + series) if c.rule == "overload"}
    assert {c.id: c for c in found} == expected
    assert all(len(c.occurrences) == 9 for c in found)
    assert "9 событий" in found[0].message_ru


def test_a_grade_week_at_the_limit_is_no_clash() -> None:
    hub = [lesson("bfu", f"e{n}", 0, n, 1) for n in range(4)]
    engine = ClashEngine(EngineConfig(tz="Europe/Kaliningrad"))
    assert engine.check([lesson("school", "one", 0, 2, 6)], WatchedLookup(hub)) == []
