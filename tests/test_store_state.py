"""``state()`` of the index and of the clash records: equal states mean equal contents, so
a reader that caches what it built from them (a feed) can compare one short string."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from helpers import hour_long_occurrence

from calhub.engine import ClashEngine, EngineConfig
from calhub.store.index import IndexedItem, OccurrenceIndex
from calhub.store.records import ClashRecords, Filters

MONDAY = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def item(uid: str) -> IndexedItem:
    return IndexedItem(
        href=f"{uid}.ics",
        uid=uid,
        etag=f'"{uid}"',
        component="VEVENT",
        time_range=(0, 1),
        error=None,
        exact_span=(0, 0),
    )


def test_the_index_state_moves_with_every_write_and_only_then(tmp_path: Path) -> None:
    index = OccurrenceIndex(tmp_path / "index.sqlite")
    first = index.state()
    assert index.state() == first, "reading changes nothing"
    occurrence = hour_long_occurrence("bfu", "a", MONDAY, "Лекция [10]")
    with index.transaction() as db:
        index.put_item(db, "bfu", item("a"), [occurrence])
    second = index.state()
    assert second != first
    index.overlapping(MONDAY, MONDAY + dt.timedelta(hours=2))
    assert index.state() == second
    index.clear()
    assert index.state() not in (first, second), "emptied is a new state, not an old one"


def test_a_new_index_file_never_repeats_an_old_state(tmp_path: Path) -> None:
    index = OccurrenceIndex(tmp_path / "index.sqlite")
    old = index.state()
    index.destroy()
    assert OccurrenceIndex(tmp_path / "index.sqlite").state() != old


def test_the_records_state_moves_with_a_sync_and_an_approval(tmp_path: Path) -> None:
    records = ClashRecords(tmp_path / "hub.sqlite")
    first = records.state()
    occurrences = [
        hour_long_occurrence("bfu", "a", MONDAY, "Лекция [10]"),
        hour_long_occurrence("kgtu", "b", MONDAY, "Семинар [10]"),
    ]
    clashes = ClashEngine(EngineConfig(rules={})).scan(occurrences, only={"audience"})
    records.sync(clashes, set(), "c")
    synced = records.state()
    assert synced != first
    assert records.state() == synced, "reading changes nothing"
    (clash_id,) = records.all_active_ids()
    records.approve(clash_id, "coordinator", "Разные кабинеты")
    assert records.state() not in (first, synced)
    # Another file (a restored hub.sqlite) starts from another epoch.
    assert ClashRecords(tmp_path / "other.sqlite").state() != first


def test_the_events_of_open_hard_clashes_are_one_query(tmp_path: Path) -> None:
    records = ClashRecords(tmp_path / "hub.sqlite")
    occurrences = [
        hour_long_occurrence("bfu", "a", MONDAY, "Лекция [10]"),
        hour_long_occurrence("kgtu", "b", MONDAY, "Семинар [10]"),
        hour_long_occurrence("bfu", "c", MONDAY + dt.timedelta(days=1), "Лекция [9]"),
        hour_long_occurrence("kgtu", "d", MONDAY + dt.timedelta(days=1), "Семинар [9]"),
    ]
    clashes = ClashEngine(EngineConfig(rules={})).scan(occurrences, only={"audience"})
    records.sync(clashes, set(), "c")
    assert records.events_in_open("hard") == {
        ("bfu", "a"),
        ("kgtu", "b"),
        ("bfu", "c"),
        ("kgtu", "d"),
    }
    assert records.events_in_open("soft") == set()
    (ninth,) = [r.id for r in records.query(Filters()) if "c" in {o["uid"] for o in r.occurrences}]
    records.approve(ninth, "coordinator", "Разные кабинеты")
    assert records.events_in_open("hard") == {("bfu", "a"), ("kgtu", "b")}
