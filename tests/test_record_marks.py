"""The month grid's marks kept with the clash instances (calhub.store.record_marks) say what
the records say: after syncs, moves, deletions, approvals, reopens and purges, for the
coordinator and for a partner's own records; a file from before them gets them when it is
opened, and an event whose ids hold the separators is still marked."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path

import pytest
from helpers import hour_long_occurrence

from calhub.engine import Audience, ClashEngine, EngineConfig, Occurrence
from calhub.store import record_marks
from calhub.store.records import ClashRecords
from calhub.web.clashes import occurrence_key

MONDAY = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
CALENDARS = ("bfu", "kgtu", "school")
WINDOWS = [
    (MONDAY - dt.timedelta(days=1), MONDAY + dt.timedelta(days=42)),
    (MONDAY + dt.timedelta(days=3), MONDAY + dt.timedelta(days=10)),
    (MONDAY + dt.timedelta(days=8, hours=1), MONDAY + dt.timedelta(days=8, hours=2)),
]
RANK = {"approved": 0, "soft": 1, "hard": 2}


def engine() -> ClashEngine:
    return ClashEngine(EngineConfig(tz="UTC", rules={}))


def event(rng: random.Random, calendar: str, uid: str) -> list[Occurrence]:
    """One event: a single lesson or a short daily series, for grade 10 or 10–11, in one of
    two rooms, somewhere in three weeks."""
    start = MONDAY + dt.timedelta(days=rng.randrange(21), hours=rng.choice([0, 0.5, 1, 3]))
    audience = Audience(frozenset(rng.choice([{10}, {10, 11}])))
    days = rng.choice([1, 1, 1, 3, 6])
    found = []
    for n in range(days):
        one = hour_long_occurrence(calendar, uid, start + dt.timedelta(days=n), "Занятие")
        found.append(
            dataclasses.replace(
                one,
                audience=audience,
                location=rng.choice(["Ауд. 1", "Ауд. 2"]),
                recurrence_id=(
                    (start + dt.timedelta(days=n)).strftime("%Y%m%dT%H%M%SZ") if days > 1 else ""
                ),
            )
        )
    return found


def reference(
    records: ClashRecords, start: dt.datetime, end: dt.datetime, calendar: str | None
) -> dict[tuple[str, str, str], str]:
    """The marks as the records give them, instance by instance (the way they were read
    before they were kept)."""
    found: dict[tuple[str, str, str], str] = {}
    for severity, approved, occurrences, _rule in records.each_instance_between(
        start, end, calendar
    ):
        mark = "approved" if approved else severity
        for occurrence in occurrences:
            key = occurrence_key(occurrence)
            if RANK[mark] > RANK.get(found.get(key, ""), -1):
                found[key] = mark
    return found


def assert_marks_agree(records: ClashRecords) -> set[str]:
    """Every window, for the coordinator and each partner; the marks seen."""
    seen: set[str] = set()
    for start, end in WINDOWS:
        for calendar in (None, *CALENDARS):
            found = records.marks_between(start, end, calendar)
            assert found == reference(records, start, end, calendar), (start, end, calendar)
            seen |= set(found.values())
    return seen


def sync_all(records: ClashRecords, events: dict[tuple[str, str], list[Occurrence]]) -> None:
    occurrences = [o for found in events.values() for o in found]
    records.sync(engine().scan(occurrences), records.all_active_ids(), "rules-1")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_marks_agree_with_the_records_over_a_random_history(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    records = ClashRecords(tmp_path / "hub.sqlite")
    events = {
        (calendar, f"{calendar}-{n}"): event(rng, calendar, f"{calendar}-{n}")
        for calendar in CALENDARS
        for n in range(8)
    }
    sync_all(records, events)
    assert records.marks_between(*WINDOWS[0]), "the history starts with clashes to mark"
    steps = {"move": 0, "delete": 0, "approve": 0, "reopen": 0}
    seen: set[str] = set()
    for _ in range(30):
        step = rng.choice(["move", "move", "delete", "approve", "approve", "reopen"])
        ids = sorted(records.all_active_ids())
        approved = sorted(records.approved(ids))
        if step == "move":
            key = rng.choice(sorted(events))
            events[key] = event(rng, *key)
            sync_all(records, events)
        elif step == "delete" and len(events) > 4:
            del events[rng.choice(sorted(events))]
            sync_all(records, events)
        elif step == "approve" and ids:
            records.approve(rng.choice(ids), "deputy", "Согласовано")
        elif step == "reopen" and approved:
            records.reopen(rng.choice(approved), "deputy", "Нет")
        else:
            continue
        steps[step] += 1
        seen |= assert_marks_agree(records)
    assert all(steps.values()), steps
    assert seen == {"approved", "soft", "hard"}
    # Everything deleted: the purge forgets the resolved records, no mark is left.
    sync_all(records, {})
    records.purge(0, lambda found: set())
    assert_marks_agree(records)
    assert records.marks_between(*WINDOWS[0]) == {}


def test_a_file_from_before_the_kept_marks_gets_them_when_opened(tmp_path: Path) -> None:
    rng = random.Random(7)
    path = tmp_path / "hub.sqlite"
    records = ClashRecords(path)
    events = {(c, f"{c}-{n}"): event(rng, c, f"{c}-{n}") for c in CALENDARS for n in range(6)}
    sync_all(records, events)
    records.approve(sorted(records.all_active_ids())[0], "deputy", "Согласовано")
    before = {window: records.marks_between(*window) for window in WINDOWS}
    assert before[WINDOWS[0]]
    # What an older calhub's file looks like: no index, no triggers, no columns.
    with records.transaction() as db:
        for name, kind in db.execute(
            "SELECT name, type FROM sqlite_master WHERE name LIKE '%mark%' AND type != 'table'"
            " AND name != 'clashes_marks'"
        ).fetchall():
            db.execute(f"DROP {kind.upper()} {name}")
        db.execute("ALTER TABLE clash_instances DROP COLUMN keys")
        db.execute("ALTER TABLE clash_instances DROP COLUMN mark")
    records.close()
    again = ClashRecords(path)
    assert {window: again.marks_between(*window) for window in WINDOWS} == before
    assert_marks_agree(again)
    # And kept from then on.
    again.reopen(sorted(again.approved(again.all_active_ids()))[0], "deputy", "Нет")
    assert_marks_agree(again)


def test_an_event_whose_ids_hold_the_separators_is_still_marked(tmp_path: Path) -> None:
    records = ClashRecords(tmp_path / "hub.sqlite")
    odd = hour_long_occurrence("bfu", "odd\x1euid\x1fpart", MONDAY, "Лекция")
    plain = hour_long_occurrence("kgtu", "plain", MONDAY + dt.timedelta(minutes=30), "Лекция")
    records.sync(engine().scan([odd, plain], only={"audience"}), set(), "rules-1")
    found = records.marks_between(*WINDOWS[0])
    assert found == {odd.key: "hard", plain.key: "hard"} == reference(records, *WINDOWS[0], None)


def test_a_window_of_marks_reads_one_index(tmp_path: Path) -> None:
    records = ClashRecords(tmp_path / "hub.sqlite")
    for calendar in (None, "bfu"):
        sql, args = record_marks.window_query(*WINDOWS[0], calendar, 3600)
        plan = " ".join(str(row) for row in records.db.execute(f"EXPLAIN QUERY PLAN {sql}", args))
        assert "COVERING INDEX clash_instances_marks" in plan, plan
