"""Clash records kept in step cheaply: a sync that changes nothing writes nothing, a change
of wording rewrites the rows, a large sync reads the table once, and a hub.sqlite from
before record fingerprints is migrated in place with its approvals."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from helpers import hour_long_occurrence

from calhub.engine import ClashEngine, EngineConfig, Occurrence
from calhub.record_groups import record_id
from calhub.records import ClashRecords, occurrence_json

MONDAY = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def lesson(calendar: str, uid: str, hours: float, summary: str = "Лекция") -> Occurrence:
    start = MONDAY + dt.timedelta(hours=hours)
    return hour_long_occurrence(calendar, uid, start, summary)


def clashes(pairs: int, summary: str = "Лекция") -> list:
    occurrences = []
    for n in range(pairs):
        # two events an hour apart per pair, far enough from the next pair
        occurrences += [lesson("bfu", f"a{n}", 48 * n, summary), lesson("kgtu", f"b{n}", 48 * n)]
    found = ClashEngine(EngineConfig(rules={})).scan(occurrences, only={"audience"})
    assert len(found) == pairs
    return found


def test_sync_of_unchanged_clashes_writes_nothing(tmp_path: Path) -> None:
    records = ClashRecords(tmp_path / "hub.sqlite")
    assert records.sync(clashes(3), set(), "config-1") == (3, 0)
    writes = records.db.total_changes
    assert records.sync(clashes(3), records.all_active_ids(), "config-1") == (0, 0)
    assert records.db.total_changes == writes


def test_changed_wording_or_event_rewrites_the_rows(tmp_path: Path) -> None:
    records = ClashRecords(tmp_path / "hub.sqlite")
    records.sync(clashes(2), set(), "config-1")
    before = records.db.total_changes
    # New calendar names (another configuration): same clashes, not new, rewritten.
    assert records.sync(clashes(2), records.all_active_ids(), "config-2") == (0, 0)
    assert records.db.total_changes > before
    renamed = clashes(2, summary="Олимпиада")
    assert records.sync(renamed, records.all_active_ids(), "config-2") == (0, 0)
    stored = {row[0] for row in records.db.execute("SELECT message_ru FROM clashes")}
    assert all("Олимпиада" in message for message in stored), stored


def test_a_large_sync_agrees_with_row_by_row(tmp_path: Path) -> None:
    many = clashes(700)
    bulk = ClashRecords(tmp_path / "bulk.sqlite")
    assert bulk.sync(many, set(), "c") == (700, 0)
    assert bulk.sync(many, bulk.all_active_ids(), "c") == (0, 0)
    assert bulk.sync(many[:650], bulk.all_active_ids(), "c") == (0, 50)
    small = ClashRecords(tmp_path / "small.sqlite")
    for clash in many:
        small.sync([clash], set(), "c")
    rows = "SELECT id, severity, fingerprint, message_ru FROM clashes WHERE id=?"
    for clash in many[:650]:
        assert (
            bulk.db.execute(rows, (clash.id,)).fetchone()
            == small.db.execute(rows, (clash.id,)).fetchone()
        )


def test_records_from_before_fingerprints_are_migrated_with_their_approvals(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hub.sqlite"
    [clash] = clashes(1)
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE clashes (id TEXT PRIMARY KEY, rule TEXT NOT NULL, severity TEXT NOT NULL,
            resolved INTEGER NOT NULL DEFAULT 0, first_start TEXT NOT NULL,
            detected_at TEXT NOT NULL, resolved_at TEXT, occurrences TEXT NOT NULL,
            message_ru TEXT NOT NULL, message_en TEXT NOT NULL);
        CREATE TABLE approvals (clash_id TEXT PRIMARY KEY, approved_by TEXT NOT NULL,
            approved_at TEXT NOT NULL, comment TEXT NOT NULL);
        """
    )
    stored = json.dumps([occurrence_json(o) for o in clash.occurrences], ensure_ascii=False)
    old.execute(
        "INSERT INTO clashes VALUES (?, 'audience', 'hard', 0, '2026-03-02T09:00:00Z', "
        "'2026-03-01T00:00:00Z', NULL, ?, 'старый текст', 'old text')",
        (clash.id, stored),
    )
    old.execute(
        "INSERT INTO approvals VALUES (?, 'coordinator', '2026-03-01T00:00:00Z', 'ok')",
        (clash.id,),
    )
    old.commit()
    old.close()

    records = ClashRecords(path)
    # The record of the occurrences became the record of the two events, approved.
    assert records.all_active_ids() == {record_id(clash)}
    assert records.approved([record_id(clash)]) == {record_id(clash)}
    # The row without a fingerprint is rewritten once: not new, approval kept.
    assert records.sync([clash], records.all_active_ids(), "c") == (0, 0)
    message = records.db.execute("SELECT message_ru FROM clashes").fetchone()[0]
    assert message != "старый текст"
    assert records.approved([record_id(clash)]) == {record_id(clash)}
    writes = records.db.total_changes
    assert records.sync([clash], records.all_active_ids(), "c") == (0, 0)
    assert records.db.total_changes == writes
