"""The hub's SQLite index answers the engine like the in-memory one: a check against it
(narrowed lookups by grade, venue and title, and the overload rule's counts) finds
exactly the clashes a full scan reports, for random occurrences and rule settings."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine_strategies import by_id, configs, occurrence_sets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calhub.engine import AudienceParser, ClashEngine, EngineConfig, IntervalIndex, Occurrence
from calhub.engine.titles import TitleFolder
from calhub.store.index import IndexedItem, IndexLookup, OccurrenceIndex

Event = tuple[str, str]


def events_of(occurrences: list[Occurrence]) -> dict[Event, list[Occurrence]]:
    events: dict[Event, list[Occurrence]] = {}
    for occ in occurrences:
        events.setdefault(occ.event_key, []).append(occ)
    return events


@contextmanager
def sqlite_index(occurrences: list[Occurrence], config: EngineConfig) -> Iterator[OccurrenceIndex]:
    with tempfile.TemporaryDirectory() as folder:
        fold_title = TitleFolder(AudienceParser(config.groups))
        index = OccurrenceIndex(Path(folder) / "index.sqlite", fold_title=fold_title)
        with index.transaction() as db:
            for (calendar, uid), mine in events_of(occurrences).items():
                item = IndexedItem(f"{uid}.ics", uid, '"1"', "VEVENT", (0, 2**40))
                index.put_item(db, calendar, item, mine)
        try:
            yield index
        finally:
            index.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(occurrences=occurrence_sets(), config=configs())
def test_check_against_the_sqlite_index_finds_what_scan_reports(
    occurrences: list[Occurrence], config: EngineConfig
) -> None:
    engine = ClashEngine(config)
    everything = by_id(engine.scan(occurrences))
    with sqlite_index(occurrences, config) as index:
        for event, mine in events_of(occurrences).items():
            expected = {
                cid: clash
                for cid, clash in everything.items()
                if any(occ.event_key == event for occ in clash.occurrences)
            }
            assert by_id(engine.check(mine, IndexLookup(index, {event}))) == expected
            # the index still holding the event (as after a write) changes nothing
            assert by_id(engine.check(mine, IndexLookup(index))) == expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    occurrences=occurrence_sets(),
    config=configs(),
    window=st.tuples(st.integers(-2 * 96, 12 * 96), st.integers(1, 8 * 96)),
    whole_seconds=st.booleans(),
    all_day=st.booleans(),
    excluded=st.sets(st.integers(0, 9), max_size=3),
)
def test_counts_by_grade_agree_with_the_occurrences_in_memory(
    occurrences: list[Occurrence],
    config: EngineConfig,
    window: tuple[int, int],
    whole_seconds: bool,
    all_day: bool,
    excluded: set[int],
) -> None:
    start = dt.datetime(2025, 3, 24, tzinfo=dt.UTC) + dt.timedelta(minutes=15 * window[0])
    if not whole_seconds:
        start += dt.timedelta(microseconds=1)  # counted by reading the rows instead
    end = start + dt.timedelta(minutes=15 * window[1])
    grades = frozenset({9, 10, 11})
    exclude = {event for event in events_of(occurrences) if int(event[1][1:]) in excluded}
    expected = IntervalIndex(occurrences).count_by_grade(start, end, grades, all_day, exclude)
    with sqlite_index(occurrences, config) as index:
        assert index.count_by_grade(start, end, grades, all_day, exclude) == expected
        lookup = IndexLookup(index, exclude)
        assert lookup.count_by_grade(start, end, grades, all_day, ()) == expected
