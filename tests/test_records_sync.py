"""Clash records kept in step cheaply: a sync that changes nothing writes nothing, a change
of wording rewrites the rows, a large sync reads the table once, and a hub.sqlite from
before record fingerprints is migrated in place with its approvals."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers import hour_long_occurrence

from calhub.engine import Audience, ClashEngine, EngineConfig, Occurrence
from calhub.errors import ConfigError
from calhub.hub.settings import parse_settings
from calhub.store.record_groups import record_id
from calhub.store.records import ClashRecords, Filters, occurrence_json

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


# -- one record per rule and pair of events (issue 11, finding 6) ---------------------------


def weekly(calendar: str, uid: str, weeks: int, hour: float = 0) -> list[Occurrence]:
    """A weekly series: one occurrence per week, each with its recurrence id."""
    return [
        dataclasses.replace(
            lesson(calendar, uid, 24 * 7 * n + hour),
            recurrence_id=(MONDAY + dt.timedelta(weeks=n, hours=hour)).strftime("%Y%m%dT%H%M%SZ"),
        )
        for n in range(weeks)
    ]


def series_clashes(weeks: int, other_weeks: int | None = None) -> list:
    occurrences = weekly("bfu", "series", weeks) + weekly("kgtu", "other", other_weeks or weeks)
    return ClashEngine(EngineConfig(rules={})).scan(occurrences, only={"audience"})


def test_the_dates_of_two_events_are_one_record(tmp_path: Path) -> None:
    records = ClashRecords(tmp_path / "hub.sqlite")
    found = series_clashes(4)
    assert len(found) == 4 and len({c.id for c in found}) == 4
    assert records.sync(found, set(), "c") == (1, 0)
    [record] = records.query(Filters())
    assert record.count == 4 and len(record.occurrences) == 2
    assert record.first_start == "2026-03-02T09:00:00Z"
    assert record.last_end == "2026-03-23T10:00:00Z"
    assert [i.start for i in records.instances(record.id)] == [
        f"2026-03-{day:02d}T09:00:00Z" for day in (2, 9, 16, 23)
    ]
    # A write's check asks about the engine's clashes: each is on record, none approved.
    assert records.on_record(found) == {c.id for c in found}
    assert records.approved_clashes(found) == set()
    # A date fewer: the same record, three dates; none: resolved.
    assert records.sync(series_clashes(4, 3), {record.id}, "c") == (0, 0)
    assert records.get(record.id).count == 3
    assert records.sync([], {record.id}, "c") == (0, 1)


def test_approving_a_record_approves_every_date_and_a_new_date_reopens_it(
    tmp_path: Path,
) -> None:
    records = ClashRecords(tmp_path / "hub.sqlite")
    records.sync(series_clashes(3), set(), "c")
    [rid] = records.all_active_ids()
    records.approve(rid, "coordinator", "Группы разные")
    assert records.approved_as_is(series_clashes(3)) == {c.id for c in series_clashes(3)}
    longer = series_clashes(4)
    # The fourth date was never approved: a reject calendar refuses it, the others pass.
    assert records.approved_as_is(longer) == {c.id for c in longer[:3]}
    records.sync(longer, {rid}, "c")
    record = records.get(rid)
    assert (record.status, record.count) == ("open", 4)
    latest = records.history(rid)[0]
    assert latest.action == "changed" and "добавилось" in latest.message.ru
    records.sync(series_clashes(3), {rid}, "c")
    assert records.get(rid).status == "approved"
    assert records.history(rid)[0].action == "reapproved"


def test_many_changes_are_counted_not_all_spelled_out(tmp_path: Path) -> None:
    records = ClashRecords(tmp_path / "hub.sqlite")
    records.sync(series_clashes(12), set(), "c")
    [rid] = records.all_active_ids()
    records.approve(rid, "coordinator", "ок")
    # Both series an hour later: every one of the 24 occurrences moved.
    moved = ClashEngine(EngineConfig(rules={})).scan(
        weekly("bfu", "series", 12, 1) + weekly("kgtu", "other", 12, 1), only={"audience"}
    )
    records.sync(moved, {rid}, "c")
    latest = records.history(rid)[0]
    assert latest.action == "changed"
    assert "Изменений всего: 24." in latest.message.ru
    assert "24 changes in all." in latest.message.en
    assert latest.message.ru.count("добавилось") == 5


def old_file(path: Path, rows: list[tuple[Any, ...]], approved: list[str]) -> None:
    """A hub.sqlite of the release before records of events: one row per pair clash."""
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE clashes (id TEXT PRIMARY KEY, rule TEXT NOT NULL, severity TEXT NOT NULL,
            resolved INTEGER NOT NULL DEFAULT 0, first_start TEXT NOT NULL,
            detected_at TEXT NOT NULL, resolved_at TEXT, occurrences TEXT NOT NULL,
            message_ru TEXT NOT NULL, message_en TEXT NOT NULL,
            fingerprint TEXT NOT NULL DEFAULT '');
        CREATE TABLE clash_members (clash_id TEXT NOT NULL, calendar TEXT NOT NULL,
            uid TEXT NOT NULL, PRIMARY KEY (clash_id, calendar, uid));
        CREATE TABLE approvals (clash_id TEXT PRIMARY KEY, approved_by TEXT NOT NULL,
            approved_at TEXT NOT NULL, comment TEXT NOT NULL,
            occurrences TEXT NOT NULL DEFAULT '');
        CREATE TABLE history (id INTEGER PRIMARY KEY, clash_id TEXT NOT NULL, at TEXT NOT NULL,
            actor TEXT NOT NULL, action TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '',
            message_ru TEXT NOT NULL DEFAULT '', message_en TEXT NOT NULL DEFAULT '');
        """
    )
    old.executemany("INSERT INTO clashes VALUES (?, ?, ?, 0, ?, ?, NULL, ?, ?, ?, 'old')", rows)
    for row in rows:
        for o in json.loads(row[5]):
            old.execute(
                "INSERT OR IGNORE INTO clash_members VALUES (?, ?, ?)",
                (row[0], o["calendar"], o["uid"]),
            )
        old.execute(
            "INSERT INTO history (clash_id, at, actor, action) VALUES (?, ?, 'calhub', 'detected')",
            (row[0], row[4]),
        )
    for clash_id in approved:
        text = next(row[5] for row in rows if row[0] == clash_id)
        old.execute(
            "INSERT INTO approvals VALUES (?, 'coordinator', '2026-03-01T10:00:00Z', 'ок', ?)",
            (clash_id, text),
        )
    old.commit()
    old.close()


def old_rows(clashes: list) -> list[tuple[Any, ...]]:
    return [
        (
            clash.id,
            clash.rule,
            clash.severity,
            clash.earliest.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "2026-03-01T00:00:00Z",
            json.dumps([occurrence_json(o) for o in clash.occurrences], ensure_ascii=False),
            clash.message_ru,
            clash.message_en,
        )
        for clash in clashes
    ]


def test_an_old_file_is_regrouped_and_an_approval_of_some_dates_is_set_aside(
    tmp_path: Path,
) -> None:
    found = series_clashes(3)
    old_file(tmp_path / "hub.sqlite", old_rows(found), approved=[found[0].id])
    records = ClashRecords(tmp_path / "hub.sqlite")
    [rid] = records.all_active_ids()
    assert rid == record_id(found[0]) and rid not in {c.id for c in found}
    record = records.get(rid)
    # Two of its three dates were never approved: open, the approval kept aside.
    assert (record.status, record.count) == ("open", 3)
    assert [h.action for h in records.history(rid)] == ["detected"] * 3
    assert records.approved_as_is(found) == {found[0].id}
    # Should the clash shrink back to the date approved, the approval applies again.
    records.sync(found[:1], {rid}, "c")
    assert records.get(rid).status == "approved"


def test_an_old_file_with_every_date_approved_stays_approved(tmp_path: Path) -> None:
    found = series_clashes(3)
    single = clashes(1)
    rows = old_rows(found) + old_rows(single)
    old_file(tmp_path / "hub.sqlite", rows, approved=[c.id for c in found])
    records = ClashRecords(tmp_path / "hub.sqlite")
    assert records.all_active_ids() == {record_id(found[0]), record_id(single[0])}
    assert records.get(record_id(found[0])).status == "approved"
    assert records.get(record_id(single[0])).status == "open"
    # Found again as they are: nothing new, nothing resolved, the approval kept.
    assert records.sync(found + single, records.all_active_ids(), "c") == (0, 0)
    assert records.get(record_id(found[0])).status == "approved"
    # Opening the file again migrates nothing more.
    records.close()
    again = ClashRecords(tmp_path / "hub.sqlite")
    assert again.db.execute("SELECT count(*) FROM clashes").fetchone() == (2,)


# -- pages answered by SQL ----------------------------------------------------------------


def test_pages_are_filtered_ordered_and_counted_in_sql(tmp_path: Path) -> None:
    records = ClashRecords(tmp_path / "hub.sqlite")
    records.sync(clashes(5), set(), "c")
    everything = records.page(Filters(), now=MONDAY - dt.timedelta(days=1))
    assert everything.total == 5
    page = records.page(Filters(), 2, 2, now=MONDAY - dt.timedelta(days=1))
    assert page.total == 5 and [r.id for r in page.records] == [
        r.id for r in everything.records[2:4]
    ]
    # Coming ones first by their next date; past ones after, the latest first.
    after_two = MONDAY + dt.timedelta(days=3)
    order = [r.first_start[:10] for r in records.page(Filters(), now=after_two).records]
    assert order == ["2026-03-06", "2026-03-08", "2026-03-10", "2026-03-04", "2026-03-02"]
    # A window: the records with a date in it.
    window = Filters(start=MONDAY + dt.timedelta(days=1), end=MONDAY + dt.timedelta(days=5))
    assert [r.first_start for r in records.query(window)] == [
        "2026-03-04T09:00:00Z",
        "2026-03-06T09:00:00Z",
    ]
    assert records.count(window) == 2
    assert records.page(Filters(), calendar="kgtu").total == 5
    assert records.page(Filters(), calendar="school").total == 0
    assert records.page(Filters(), ids=[]).records == []


def test_purge_forgets_old_resolved_records_of_deleted_events_only(tmp_path: Path) -> None:
    records = ClashRecords(tmp_path / "hub.sqlite")
    found = clashes(3)
    records.sync(found, set(), "c")
    ids = sorted(records.all_active_ids())
    records.approve(record_id(found[0]), "coordinator", "ок")
    records.sync([], set(ids), "c")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    # Everything deleted but not old enough yet: nothing purged.
    assert records.purge(31, lambda events: set(), now=later - dt.timedelta(days=1)) == 0
    # One event of the first pair still exists: that record stays, approval and all.
    first_events = {(o.calendar, o.uid) for o in found[0].occurrences}
    alive = {sorted(first_events)[0]}
    asked: list[set[tuple[str, str]]] = []

    def still_there(events: set[tuple[str, str]]) -> set[tuple[str, str]]:
        asked.append(events)
        return events & alive

    assert records.purge(30, still_there, now=later) == 2
    assert asked and first_events <= asked[0]
    rows = records.db.execute("SELECT id FROM clashes").fetchall()
    assert rows == [(record_id(found[0]),)]
    assert records.get(record_id(found[0])).approval.by == "coordinator"
    for table in ("clash_instances", "clash_members", "history"):
        kept = records.db.execute(f"SELECT DISTINCT clash_id FROM {table}").fetchall()
        assert kept == [(record_id(found[0]),)], table


def test_retention_days_is_checked_by_the_config_schema() -> None:
    base = {"hub": {"school": "Гимназия"}}
    assert parse_settings(Path("calhub.toml"), base).records_retention_days == 180
    days = parse_settings(Path("calhub.toml"), {**base, "records": {"retention_days": 7}})
    assert days.records_retention_days == 7
    for wrong in (0, "30", 10**6):
        with pytest.raises(ConfigError, match="retention_days"):
            parse_settings(Path("calhub.toml"), {**base, "records": {"retention_days": wrong}})
    with pytest.raises(ConfigError, match="retention"):
        parse_settings(Path("calhub.toml"), {**base, "records": {"retention": 7}})


# -- overload: one record per set of events, its grade-weeks the instances ----------------


def daily(calendar: str, uid: str, days: int, summary: str = "Репетиция [10-11]") -> list:
    return [
        dataclasses.replace(
            hour_long_occurrence(calendar, uid, MONDAY + dt.timedelta(days=n), summary),
            recurrence_id=(MONDAY + dt.timedelta(days=n)).strftime("%Y%m%dT%H%M%SZ"),
            audience=Audience(frozenset({10, 11})),
        )
        for n in range(days)
    ]


def overloads(occurrences: list) -> list:
    return ClashEngine(EngineConfig(tz="UTC", rules={})).scan(occurrences, only={"overload"})


def test_a_daily_series_overloads_as_one_record(tmp_path: Path) -> None:
    records = ClashRecords(tmp_path / "hub.sqlite")
    found = overloads(daily("school", "hall", 21))
    assert len(found) == 6, "grades 10 and 11, three weeks: six grade-weeks"
    assert records.sync(found, set(), "c") == (1, 0)
    [record] = records.query(Filters())
    assert (record.rule, record.count) == ("overload", 6)
    # Shown by one grade-week (its 7 days), not by every day of the series.
    assert len(record.occurrences) == 7
    assert records.on_record(found) == {c.id for c in found}


def test_a_grade_week_whose_events_change_moves_to_their_record(tmp_path: Path) -> None:
    records = ClashRecords(tmp_path / "hub.sqlite")
    series = daily("school", "hall", 21)
    records.sync(overloads(series), set(), "c")
    [alone] = records.all_active_ids()
    records.approve(alone, "coordinator", "Репетиции перед концертом")
    # An excursion for grade 10 in the second week: that grade-week is another set of events.
    trip = hour_long_occurrence("bfu", "trip", MONDAY + dt.timedelta(days=8, hours=5), "[10]")
    [week] = [c for c in overloads([*series, trip]) if "bfu" in {o.calendar for o in c.occurrences}]
    # What a write of the excursion syncs: the clash it finds, nothing stale yet.
    assert records.sync([week], set(), "c") == (1, 0)
    joined = record_id(week)
    assert records.get(joined).count == 1 and records.get(joined).status == "open"
    # The series' record lost a grade-week and kept its approval (fewer, not other, dates).
    kept = records.get(alone)
    assert (kept.count, kept.status) == (5, "approved")
    # The excursion deleted: the clash book finds that grade-week again, with the series only.
    # The record of the series and the excursion, which nobody acted on, is superseded:
    # gone, not left behind as history (a busy week would pile them up).
    [back] = [c for c in overloads(series) if c.id == week.id]
    assert records.sync([back], {joined}, "c") == (0, 0)
    assert records.get(joined) is None
    assert records.db.execute(
        "SELECT count(*) FROM history WHERE clash_id=?", (joined,)
    ).fetchone() == (0,)
    again = records.get(alone)
    assert (again.count, again.status) == (6, "approved")
    # A full rescan agrees and writes nothing.
    writes = records.db.total_changes
    assert records.sync(overloads(series), records.all_active_ids(), "c") == (0, 0)
    assert records.db.total_changes == writes


def test_a_superseded_group_record_someone_acted_on_stays_resolved(tmp_path: Path) -> None:
    records = ClashRecords(tmp_path / "hub.sqlite")
    series = daily("school", "hall", 7)
    trip = hour_long_occurrence("bfu", "trip", MONDAY + dt.timedelta(hours=5), "[10]")
    [week] = [c for c in overloads([*series, trip]) if "bfu" in {o.calendar for o in c.occurrences}]
    records.sync(overloads([*series, trip]), set(), "c")
    joined = record_id(week)
    records.approve(joined, "coordinator", "Экскурсия согласована")
    [back] = [c for c in overloads(series) if c.id == week.id]
    records.sync([back], {joined}, "c")
    kept = records.get(joined)
    assert kept is not None and kept.status == "resolved"
    assert kept.approval.comment == "Экскурсия согласована"


def test_old_overload_records_of_one_grade_week_are_regrouped(tmp_path: Path) -> None:
    found = overloads(daily("school", "hall", 14))
    assert len(found) == 4
    old_file(tmp_path / "hub.sqlite", old_rows(found), approved=[c.id for c in found])
    records = ClashRecords(tmp_path / "hub.sqlite")
    [rid] = records.all_active_ids()
    assert rid == record_id(found[0])
    record = records.get(rid)
    assert (record.count, record.status) == (4, "approved")
    assert sorted(i.start for i in record.instances) == sorted(
        min(o.start for o in c.occurrences).strftime("%Y-%m-%dT%H:%M:%SZ") for c in found
    )
    assert records.sync(found, records.all_active_ids(), "c") == (0, 0)
    assert records.get(rid).status == "approved"


def test_lookups_take_more_ids_than_sqlite_has_placeholders(tmp_path: Path) -> None:
    """A full rescan of a dense hub asks about every active id at once: 40,000 here, past
    SQLite's 32,766 placeholders per statement (the bench's rebuild failed on it)."""
    records = ClashRecords(tmp_path / "hub.sqlite")
    ids = [f"missing-{n}" for n in range(40_000)]
    assert records.of_rules(ids, ["overload", "audience"]) == set()
    assert records.approved(ids) == set()
    assert records.page(Filters(), ids=ids).total == 0


def test_a_window_finds_every_instance_it_overlaps_however_long(tmp_path: Path) -> None:
    """The month view reads a range of the start index, as far back as the longest instance
    on record (kept by a trigger, computed once for a file from before it): an instance
    that began three weeks before the window is still in it, one that ended is not."""
    path = tmp_path / "hub.sqlite"
    records = ClashRecords(path)
    records.sync(clashes(3), set(), "config-1")
    long_pair = [
        dataclasses.replace(lesson(calendar, uid, -24 * 30), end=MONDAY + dt.timedelta(days=-8))
        for calendar, uid in (("bfu", "camp"), ("kgtu", "practice"))
    ]
    records.sync(ClashEngine(EngineConfig(rules={})).scan(long_pair, only={"audience"}), set())
    longest = "SELECT CAST(value AS INTEGER) FROM records_meta WHERE key='longest_instance'"
    assert records.db.execute(longest).fetchone()[0] > 21 * 86400

    def found(start: dt.datetime, end: dt.datetime, store: ClashRecords) -> set[str]:
        return {
            o["uid"] for mark in store.each_instance_between(start, end) for o in mark.occurrences
        }

    window = (MONDAY - dt.timedelta(days=9), MONDAY - dt.timedelta(days=8, hours=-1))
    assert found(*window, records) == {"camp", "practice"}
    assert found(MONDAY - dt.timedelta(days=8), MONDAY, records) == set()
    assert found(MONDAY, MONDAY + dt.timedelta(days=1), records) == {"a0", "b0"}
    # A file from before the trigger: its longest instance is found when it is opened.
    with records.transaction() as db:
        db.execute("DELETE FROM records_meta WHERE key='longest_instance'")
    again = ClashRecords(path)
    assert again.db.execute(longest).fetchone()[0] > 21 * 86400
    assert found(*window, again) == {"camp", "practice"}


def test_the_purge_reads_resolved_records_only(tmp_path: Path) -> None:
    """The purge's question goes to the index of resolved records (a partial index), not
    through every record, and the month view's window still starts from the instances."""
    from calhub.store.records import PURGE_CANDIDATES

    records = ClashRecords(tmp_path / "hub.sqlite")
    records.sync(clashes(2), set(), "config-1")
    plan = " ".join(
        str(row) for row in records.db.execute(f"EXPLAIN QUERY PLAN {PURGE_CANDIDATES}", ("x",))
    )
    assert "clashes_resolved_at" in plan and "SCAN c" not in plan, plan
    window = " ".join(
        str(row)
        for row in records.db.execute(
            "EXPLAIN QUERY PLAN SELECT c.severity FROM clash_instances i "
            "JOIN clashes c ON c.id = i.clash_id WHERE c.resolved=0 AND i.start_at < ? "
            "AND i.end_at > ? AND i.start_at > ?",
            ("a", "b", "c"),
        )
    )
    assert "clash_instances_start" in window and "clashes_marks" in window, window
