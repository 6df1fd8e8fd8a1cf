"""An approval is for the version of a clash the coordinator approved (issue 10, point 6):
records-level tests of ClashRecords and calhub.store.clash_versions. A move, another venue or
another audience reopens an approved clash with a history entry naming the change in
Russian and English; a new title keeps it; going back to an approved version approves it
again; an old hub.sqlite is migrated in place and keeps its approvals."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers import hour_long_occurrence

from calhub.engine import Audience, Clash, ClashEngine, EngineConfig, Occurrence
from calhub.store.clash_versions import changes
from calhub.store.record_groups import record_id
from calhub.store.records import ClashChanged, ClashRecords

# Monday 2 March 2026, 09:00 UTC is 11:00 in Kaliningrad (UTC+2).
MONDAY = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
CONFIG = EngineConfig(tz="Europe/Kaliningrad", calendar_names={"bfu": "БФУ", "kgtu": "КГТУ"})


def lecture(**changed: Any) -> Occurrence:
    return dataclasses.replace(hour_long_occurrence("bfu", "a", MONDAY, "Лекция"), **changed)


def practice(**changed: Any) -> Occurrence:
    return dataclasses.replace(hour_long_occurrence("kgtu", "b", MONDAY, "Практикум"), **changed)


def audience_clash(first: Occurrence, second: Occurrence) -> Clash:
    [clash] = ClashEngine(CONFIG).scan([first, second], only={"audience"})
    return clash


def later(hours: float) -> dict[str, dt.datetime]:
    return {
        "start": MONDAY + dt.timedelta(hours=hours),
        "end": MONDAY + dt.timedelta(hours=hours + 1),
    }


@pytest.fixture
def records(tmp_path: Path) -> ClashRecords:
    records = ClashRecords(tmp_path / "hub.sqlite")
    records.sync([audience_clash(lecture(), practice())], set(), "c", CONFIG)
    return records


def approved_clash(records: ClashRecords) -> str:
    [clash_id] = records.all_active_ids()
    records.approve(clash_id, "coordinator", "Группы разведены по аудиториям")
    return clash_id


def resync(records: ClashRecords, clash: Clash) -> None:
    assert records.sync([clash], records.all_active_ids(), "c", CONFIG) == (0, 0)


def status(records: ClashRecords, clash_id: str) -> str:
    record = records.get(clash_id)
    assert record is not None
    return str(record.status)


def test_a_moved_event_reopens_its_approved_clash_with_the_change_in_the_history(
    records: ClashRecords,
) -> None:
    clash_id = approved_clash(records)
    moved = audience_clash(lecture(**later(0.5)), practice())
    assert record_id(moved) == clash_id, "a move keeps the record id"
    resync(records, moved)
    assert status(records, clash_id) == "open"
    assert records.approved([clash_id]) == set()
    latest = records.history(clash_id)[0]
    assert (latest.actor, latest.action) == ("calhub", "changed")
    # Times in the hub's zone (Kaliningrad), the calendar by its name.
    assert latest.message.ru.startswith(
        "Событие «Лекция» (БФУ) перенесено: 02.03.2026 11:00–12:00 → 02.03.2026 11:30–12:30."
    )
    assert "накладка снова открыта" in latest.message.ru
    assert latest.message.en.startswith(
        '"Лекция" (БФУ) moved: 2026-03-02 11:00–12:00 → 2026-03-02 11:30–12:30.'
    )
    assert "the clash is open again" in latest.message.en
    # The next sync of the same version writes nothing more.
    writes = records.db.total_changes
    resync(records, moved)
    assert records.db.total_changes == writes


def test_a_new_title_or_description_keeps_the_approval(records: ClashRecords) -> None:
    clash_id = approved_clash(records)
    renamed = audience_clash(lecture(summary="Лекция по физике (новое название)"), practice())
    resync(records, renamed)
    assert status(records, clash_id) == "approved"
    assert [h.action for h in records.history(clash_id)] == ["approved", "detected"]
    stored = records.get(clash_id)
    assert stored is not None
    assert stored.occurrences[0]["summary"] == "Лекция по физике (новое название)"


def test_another_venue_reopens_the_clash(records: ClashRecords) -> None:
    clash_id = approved_clash(records)
    # The same room written another way is the same venue.
    same_room = audience_clash(lecture(), practice())
    resync(records, same_room)
    elsewhere = audience_clash(lecture(location="Актовый зал"), practice())
    resync(records, elsewhere)
    assert status(records, clash_id) == "open"
    latest = records.history(clash_id)[0]
    assert "место изменено: (не указано) → Актовый зал" in latest.message.ru
    assert "venue changed: (none) → Актовый зал" in latest.message.en


def test_the_same_venue_written_otherwise_keeps_the_approval(tmp_path: Path) -> None:
    records = ClashRecords(tmp_path / "hub.sqlite")
    first = audience_clash(lecture(location="Аудитория 305"), practice())
    records.sync([first], set(), "c", CONFIG)
    clash_id = approved_clash(records)
    resync(records, audience_clash(lecture(location="ауд.305"), practice()))
    assert status(records, clash_id) == "approved"


def test_another_audience_reopens_the_clash(records: ClashRecords) -> None:
    clash_id = approved_clash(records)
    wider = audience_clash(lecture(audience=Audience(frozenset({10, 11}))), practice())
    resync(records, wider)
    assert status(records, clash_id) == "open"
    latest = records.history(clash_id)[0]
    assert "Событие «Лекция» (БФУ): участники изменены: 10 → 10–11" in latest.message.ru
    assert '"Лекция" (БФУ): audience changed: 10 → 10–11' in latest.message.en


def test_moving_back_to_the_approved_version_approves_it_again(records: ClashRecords) -> None:
    clash_id = approved_clash(records)
    resync(records, audience_clash(lecture(**later(0.5)), practice(**later(0.5))))
    assert status(records, clash_id) == "open"
    resync(records, audience_clash(lecture(), practice()))
    assert status(records, clash_id) == "approved"
    record = records.get(clash_id)
    assert record is not None and record.approval.comment == "Группы разведены по аудиториям"
    latest = records.history(clash_id)[0]
    assert latest.action == "reapproved"
    assert "перенесено: 02.03.2026 11:30–12:30 → 02.03.2026 11:00–12:00" in latest.message.ru
    assert "Этот вариант coordinator согласовал(а) " in latest.message.ru
    assert "согласование снова действует" in latest.message.ru
    assert "approved this very version" in latest.message.en


def test_a_coordinators_reopen_forgets_every_approved_version(records: ClashRecords) -> None:
    clash_id = approved_clash(records)
    resync(records, audience_clash(lecture(**later(0.5)), practice()))
    records.reopen(clash_id, "coordinator", "Нет, так нельзя")
    resync(records, audience_clash(lecture(), practice()))
    assert status(records, clash_id) == "open"
    assert records.history(clash_id)[0].action == "reopened"


def test_the_newest_approval_is_the_one_that_counts(records: ClashRecords) -> None:
    clash_id = approved_clash(records)
    moved = audience_clash(lecture(**later(0.5)), practice())
    resync(records, moved)
    records.approve(clash_id, "coordinator", "И так можно")
    assert status(records, clash_id) == "approved"
    # Back to the first version: approved again, with the first approval's comment.
    resync(records, audience_clash(lecture(), practice()))
    record = records.get(clash_id)
    assert record is not None and record.status == "approved"
    assert record.approval.comment == "Группы разведены по аудиториям"
    # And again to the second one, also approved.
    resync(records, moved)
    record = records.get(clash_id)
    assert record is not None and record.approval.comment == "И так можно"


def test_a_clash_that_comes_back_elsewhere_is_not_approved(records: ClashRecords) -> None:
    clash_id = approved_clash(records)
    assert records.sync([], {clash_id}, "c", CONFIG) == (0, 1)
    back_as_it_was = audience_clash(lecture(), practice())
    resync(records, back_as_it_was)
    assert status(records, clash_id) == "approved"
    records.sync([], {clash_id}, "c", CONFIG)
    resync(records, audience_clash(lecture(**later(0.25)), practice()))
    assert status(records, clash_id) == "open"
    assert [h.action for h in records.history(clash_id)][:2] == ["changed", "reappeared"]


def test_approved_as_is_judges_the_version_not_the_id(records: ClashRecords) -> None:
    clash_id = approved_clash(records)
    same = audience_clash(lecture(summary="Другое название"), practice())
    moved = audience_clash(lecture(**later(0.5)), practice())
    assert record_id(same) == clash_id
    # Answered with the engine's ids: a write's check asks about the clashes it found.
    assert records.approved_as_is([same]) == {same.id}
    assert records.approved_as_is([moved]) == set()
    # A version approved before counts too: a sync would approve it again.
    resync(records, moved)
    back = audience_clash(lecture(), practice())
    assert records.approved_as_is([back]) == {back.id}
    assert records.approved_as_is([]) == set()


def test_an_approval_of_a_version_no_longer_on_record_is_refused(records: ClashRecords) -> None:
    [clash_id] = records.all_active_ids()
    shown = records.get(clash_id)
    assert shown is not None
    resync(records, audience_clash(lecture(**later(0.5)), practice()))
    with pytest.raises(ClashChanged):
        records.approve(clash_id, "coordinator", "Видел(а) в 11:00", shown.version)
    assert status(records, clash_id) == "open"
    assert [h.action for h in records.history(clash_id)] == ["detected"]
    current = records.get(clash_id)
    assert current is not None and current.version != shown.version
    # A new title after the page was shown: the same version for an approval.
    renamed = audience_clash(lecture(**later(0.5), summary="Лекция (новое название)"), practice())
    resync(records, renamed)
    records.approve(clash_id, "coordinator", "Новый вариант тоже годится", current.version)
    assert status(records, clash_id) == "approved"


def test_changes_of_a_group_clash_count_new_members_not_leaving_ones() -> None:
    def stored(uid: str, hour: int) -> dict[str, Any]:
        start = MONDAY + dt.timedelta(hours=hour)
        return {
            "calendar": "bfu",
            "uid": uid,
            "recurrence_id": None,
            "summary": uid,
            "start": start.isoformat().replace("+00:00", "Z"),
            "end": (start + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
            "all_day": False,
            "location": "",
            "audience": "10",
        }

    approved = [stored(f"e{n}", n) for n in range(6)]
    assert changes(approved, approved[1:]) == []
    [joined] = changes(approved, [*approved, stored("e6", 7)])
    assert (joined.kind, joined.before) == ("joined", None)
    moved = [*approved[:5], stored("e5", 9)]
    assert [c.kind for c in changes(approved, moved)] == ["time"]


OLD_SCHEMA = """
CREATE TABLE clashes (id TEXT PRIMARY KEY, rule TEXT NOT NULL, severity TEXT NOT NULL,
    resolved INTEGER NOT NULL DEFAULT 0, first_start TEXT NOT NULL,
    detected_at TEXT NOT NULL, resolved_at TEXT, occurrences TEXT NOT NULL,
    message_ru TEXT NOT NULL, message_en TEXT NOT NULL,
    fingerprint TEXT NOT NULL DEFAULT '');
CREATE TABLE clash_members (clash_id TEXT NOT NULL, calendar TEXT NOT NULL,
    uid TEXT NOT NULL, PRIMARY KEY (clash_id, calendar, uid));
CREATE TABLE approvals (clash_id TEXT PRIMARY KEY, approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL, comment TEXT NOT NULL);
CREATE TABLE history (id INTEGER PRIMARY KEY, clash_id TEXT NOT NULL, at TEXT NOT NULL,
    actor TEXT NOT NULL, action TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '');
"""


def old_hub_sqlite(path: Path, clash: Clash) -> None:
    """A hub.sqlite as the release before approved versions wrote it, with one approval."""
    from calhub.store.records import occurrence_json

    occurrences = json.dumps([occurrence_json(o) for o in clash.occurrences], ensure_ascii=False)
    old = sqlite3.connect(path)
    old.executescript(OLD_SCHEMA)
    old.execute(
        "INSERT INTO clashes VALUES (?, 'audience', 'hard', 0, '2026-03-02T09:00:00Z', "
        "'2026-03-01T00:00:00Z', NULL, ?, 'старый текст', 'old text', 'old')",
        (clash.id, occurrences),
    )
    old.execute(
        "INSERT INTO approvals VALUES (?, 'coordinator', '2026-03-01T10:00:00Z', 'Согласовано')",
        (clash.id,),
    )
    old.executemany(
        "INSERT INTO history (clash_id, at, actor, action, comment) VALUES (?, ?, ?, ?, ?)",
        [
            (clash.id, "2026-03-01T00:00:00Z", "calhub", "detected", ""),
            (clash.id, "2026-03-01T10:00:00Z", "coordinator", "approved", "Согласовано"),
        ],
    )
    old.commit()
    old.close()


def test_an_old_hub_sqlite_keeps_its_approvals_for_the_version_on_record(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite"
    clash = audience_clash(lecture(), practice())
    old_hub_sqlite(path, clash)

    records = ClashRecords(path)
    # The record of the two occurrences is now the record of the two events.
    grouped = record_id(clash)
    assert records.approved([grouped]) == {grouped}
    assert [h.action for h in records.history(grouped)] == ["approved", "detected"]
    assert records.history(grouped)[0].message.as_json() == {"ru": "", "en": ""}
    # Found again as it was (another fingerprint, so the row is rewritten): still approved.
    resync(records, audience_clash(lecture(summary="Лекция (переименована)"), practice()))
    assert status(records, grouped) == "approved"
    records.close()
    # Opened again, nothing to migrate; a move now reopens it.
    records = ClashRecords(path)
    resync(records, audience_clash(lecture(**later(0.5)), practice()))
    assert status(records, grouped) == "open"
    assert records.history(grouped)[0].action == "changed"
