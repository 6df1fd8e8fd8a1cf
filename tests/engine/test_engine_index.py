"""IntervalIndex: correctness against a plain filter, updates, and speed."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from calhub.engine import (
    Audience,
    ClashEngine,
    EngineConfig,
    IntervalIndex,
    Occurrence,
)

Make = Callable[..., Occurrence]
BASE = datetime(2025, 3, 1, tzinfo=UTC)


def occurrence(number: int, start_minute: int, minutes: int, audience: Audience) -> Occurrence:
    start = BASE + timedelta(minutes=start_minute)
    return Occurrence(
        calendar=f"c{number % 7}",
        uid=f"u{number}",
        recurrence_id="",
        summary=f"event {number % 1000}",
        start=start,
        end=start + timedelta(minutes=minutes),
        all_day=False,
        location=f"room {number % 400}",
        venue=f"room {number % 400}",
        audience=audience,
        audience_source="test",
        is_blackout=False,
    )


intervals = st.lists(
    st.tuples(
        st.integers(0, 2000),
        st.one_of(st.integers(0, 90), st.integers(0, 60 * 24 * 100)),  # a few very long ones
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(items=intervals, query=st.tuples(st.integers(-100, 2100), st.integers(0, 300)))
def test_overlapping_equals_plain_filter(
    items: list[tuple[int, int]], query: tuple[int, int]
) -> None:
    occurrences = [occurrence(n, s, d, Audience.whole_school()) for n, (s, d) in enumerate(items)]
    index = IntervalIndex(occurrences)
    start = BASE + timedelta(minutes=query[0])
    end = start + timedelta(minutes=query[1])
    expected = {o.key for o in occurrences if o.start < end and o.end > start}
    assert {o.key for o in index.overlapping(start, end)} == expected
    # the same after building the index one occurrence at a time
    incremental = IntervalIndex()
    for occ in occurrences:
        incremental.add(occ)
    assert {o.key for o in incremental.overlapping(start, end)} == expected


def test_add_replaces_same_key_and_remove_event(make_occ: Make) -> None:
    index = IntervalIndex([make_occ("a", recurrence_id="1"), make_occ("a", recurrence_id="2")])
    index.add(make_occ("b"))
    assert len(index) == 3
    moved = make_occ("b", start=15)
    index.add(moved)
    assert len(index) == 3
    assert [o.uid for o in index.overlapping(moved.start, moved.end)] == ["b"]
    assert index.remove_event("cal", "a") == 2
    assert index.remove_event("cal", "a") == 0
    assert [o.key for o in index] == [moved.key]
    assert moved.key in index


def test_iteration_is_in_start_order(make_occ: Make) -> None:
    items = [make_occ("late", start=15), make_occ("early", start=8), make_occ("mid", start=11)]
    assert [o.uid for o in IntervalIndex(items)] == ["early", "mid", "late"]


def test_check_one_event_against_100k_looks_only_nearby() -> None:
    rng = random.Random(20250301)
    grades = [Audience(frozenset({g})) for g in range(1, 12)]
    occurrences = [
        occurrence(
            n, rng.randrange(0, 60 * 24 * 365), rng.choice((45, 60, 90, 120)), rng.choice(grades)
        )
        for n in range(100_000)
    ]
    # a few long ones (multi-day all-school entries) must not slow every query down
    occurrences += [
        occurrence(100_000 + n, n * 60 * 24 * 30, 60 * 24 * 5, grades[0]) for n in range(12)
    ]
    index = IntervalIndex(occurrences)
    engine = ClashEngine(EngineConfig())
    candidate = [occurrence(999_999, 60 * 24 * 180 + 600, 90, Audience(frozenset({10, 11})))]
    # Speed itself is measured in bench/ (docs/benchmarks.md), not asserted here; what
    # the test pins down is why it is fast: the index hands the rules only the
    # occurrences near the candidate, never the whole school year.
    examined: list[int] = []

    class CountingLookup:
        def overlapping(self, start: Any, end: Any, where: Any = None) -> list[Any]:
            found = index.overlapping(start, end)
            examined.append(len(found))
            return found

    found = engine.check(candidate, CountingLookup())
    assert found  # a random school year this dense has clashes for 10–11
    # The widest window any rule asks for is the overload rule's week: about 1/52 of a
    # school year, so well under a twentieth of the index in all.
    assert sum(examined) < len(occurrences) // 20, examined
