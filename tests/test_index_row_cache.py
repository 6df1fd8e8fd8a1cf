"""The index's per-process row cache never hands back what storage no longer says: an
edited event is read anew, a rebuilt or replaced index file starts a new generation, and
the cache stays within its size."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from helpers import hour_long_occurrence

from calhub.engine import Occurrence
from calhub.store.index import IndexedItem, OccurrenceIndex, RowCache

START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
WEEK = (START - dt.timedelta(days=1), START + dt.timedelta(days=6))


def occurrence(uid: str, summary: str, hours: int = 0) -> Occurrence:
    start = START + dt.timedelta(hours=hours)
    return hour_long_occurrence("bfu", uid, start, summary)


def put(index: OccurrenceIndex, occ: Occurrence) -> None:
    item = IndexedItem(f"{occ.uid}.ics", occ.uid, f'"{occ.summary}"', "VEVENT", (0, 2**40))
    with index.transaction() as db:
        index.put_item(db, occ.calendar, item, [occ])


def summaries(index: OccurrenceIndex) -> set[str]:
    return {o.summary for o in index.overlapping(*WEEK)}


def test_an_edited_event_is_read_anew(tmp_path: Path) -> None:
    index = OccurrenceIndex(tmp_path / "index.sqlite")
    put(index, occurrence("a", "Лекция"))
    assert summaries(index) == {"Лекция"}
    put(index, occurrence("a", "Семинар"))
    assert summaries(index) == {"Семинар"}
    with index.transaction() as db:
        index.delete_item(db, "bfu", "a.ics")
    assert summaries(index) == set()


def test_another_process_sees_the_edit_and_a_cleared_index_keeps_ids_apart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index.sqlite"
    reader, writer = OccurrenceIndex(path), OccurrenceIndex(path)
    put(writer, occurrence("a", "Лекция"))
    assert summaries(reader) == {"Лекция"}
    writer.clear()
    put(writer, occurrence("b", "Олимпиада"))
    assert summaries(reader) == {"Олимпиада"}


def test_a_replaced_index_file_is_a_new_generation(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    first = OccurrenceIndex(path)
    put(first, occurrence("a", "Лекция"))
    assert summaries(first) == {"Лекция"}
    cache = first.rows
    first.destroy()
    # The same process opens the new file with the same cache: row id 1 again, new content.
    second = OccurrenceIndex(path)
    second.rows = cache
    put(second, occurrence("b", "Олимпиада"))
    assert summaries(second) == {"Олимпиада"}


def test_the_cache_stays_within_its_size(tmp_path: Path) -> None:
    index = OccurrenceIndex(tmp_path / "index.sqlite")
    index.rows = RowCache(size=50)
    for n in range(120):
        put(index, occurrence(f"e{n}", f"Событие {n}", hours=n % 100))
    assert len(index.overlapping(*WEEK)) == 120
    assert len(index.rows._rows) <= 50
    assert len(index.overlapping(*WEEK)) == 120
