"""A damaged ``index.sqlite`` never stops the hub (issue 11, finding 5).

The index is a cache of Radicale's storage. Random bytes written into a real index file (its
header, or whole pages in the middle) must lead to one warning and a rebuild from storage:
``calhub serve`` starts and answers, a PUT is clash-checked against every calendar, ``calhub
index verify`` reports the damage (exit 1) and ``--repair`` and ``rebuild`` fix it. The clash
records and their approvals live in ``hub.sqlite`` and stay as they were.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers import make_event
from reliability_support import api_json, calhub_cli, conflict_snapshot, put, record

from calhub.dav.importer import import_objects
from calhub.dav.maintenance import open_runtime
from calhub.hub import Hub

PAGE = 4096
APPROVAL = "Разные группы: проверено"
# A week ahead at 10:00 in Kaliningrad, inside every horizon, on whatever day the suite runs.
DAY = dt.date.today() + dt.timedelta(days=7)


def at(days: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(DAY + dt.timedelta(days=days), dt.time(hour))


def lesson(uid: str, summary: str, days: int, hour: int) -> str:
    return make_event(uid, summary, at(days, hour), at(days, hour) + dt.timedelta(hours=1))


@pytest.fixture(scope="module")
def pristine(module_hubs: Any) -> tuple[Path, str]:
    """A hub with 60 events in three calendars (an index of dozens of pages), one hard
    clash between bfu and kgtu, approved by the coordinator; never served."""
    root = module_hubs.create()
    hub = Hub(root)
    runtime = open_runtime(hub)
    try:
        texts: dict[str, list[str]] = {"bfu": [], "kgtu": [], "school": []}
        for n in range(20):
            for offset, calendar in enumerate(texts):
                uid = f"{calendar}-{n}"
                # One a week each, for different grades: no clash, no overload.
                texts[calendar].append(lesson(uid, f"Занятие {uid} [{5 + offset}]", 7 * n, 9))
        texts["bfu"].append(lesson("bfu-clash", "Лекция [10]", 30, 10))
        texts["kgtu"].append(lesson("kgtu-clash", "Семинар [10А]", 30, 10))
        for calendar_id, calendar_texts in texts.items():
            calendar = hub.settings.calendar(calendar_id)
            assert calendar is not None
            import_objects(runtime, calendar, calendar_texts)
        (clash_id,) = runtime.records.all_active_ids()
        runtime.records.approve(clash_id, "coordinator", APPROVAL)
    finally:
        runtime.close()
    assert (root / "index.sqlite").stat().st_size > 20 * PAGE
    return root, clash_id


def damage(index: Path, case: str) -> None:
    """Overwrite part of the file with seeded random bytes: the header, or whole pages."""
    rnd = random.Random(case)
    pages = index.stat().st_size // PAGE
    with index.open("r+b") as handle:
        if case == "header":
            handle.write(rnd.randbytes(100))
            return
        fraction = {"quarter": 0.25, "middle": 0.5, "three-quarters": 0.75}[case]
        first = max(2, int(pages * fraction))
        handle.seek(first * PAGE)
        handle.write(rnd.randbytes(3 * PAGE))


CASES = ["header", "quarter", "middle", "three-quarters"]


def damaged_copy(pristine: tuple[Path, str], tmp_path: Path, case: str) -> Path:
    root = tmp_path / f"case-{case}"
    shutil.copytree(pristine[0], root)
    damage(root / "index.sqlite", case)
    return root


def approval_of(root: Path, clash_id: str) -> tuple[str, str]:
    runtime = open_runtime(Hub(root))
    try:
        found = runtime.records.get(clash_id)
    finally:
        runtime.close()
    assert found is not None
    return found.status, found.approval.comment


def assert_no_crash(output: str) -> None:
    assert "This is a bug" not in output and "Traceback" not in output, output[-3000:]


@pytest.mark.parametrize("case", CASES)
def test_index_commands_work_on_a_damaged_file(
    pristine: tuple[Path, str], tmp_path: Path, case: str
) -> None:
    clash_id = pristine[1]
    root = damaged_copy(pristine, tmp_path, case)
    verify = calhub_cli(root, "index", "verify")
    assert_no_crash(verify.stdout + verify.stderr)
    assert verify.returncode == 1, verify
    assert "damaged" in verify.stdout and "--repair" in verify.stdout, verify.stdout

    repaired = calhub_cli(root, "index", "verify", "--repair")
    assert_no_crash(repaired.stdout + repaired.stderr)
    assert repaired.returncode == 0, repaired
    assert "damaged" in repaired.stdout
    again = calhub_cli(root, "index", "verify")
    assert again.returncode == 0, again
    assert "62 objects" in again.stdout, again.stdout

    rebuilt_root = damaged_copy(pristine, tmp_path / "rebuild", case)
    rebuilt = calhub_cli(rebuilt_root, "index", "rebuild")
    assert_no_crash(rebuilt.stdout + rebuilt.stderr)
    assert rebuilt.returncode == 0, rebuilt
    assert "62 objects" in rebuilt.stdout, rebuilt.stdout
    assert calhub_cli(rebuilt_root, "index", "verify").returncode == 0

    for data in (root, rebuilt_root):
        assert approval_of(data, clash_id) == ("approved", APPROVAL)
    record("damaged index: commands", **{case: "verify 1, repair 0, rebuild 0"})


@pytest.mark.parametrize("case", ["header", "middle"])
def test_an_import_on_a_damaged_file_rebuilds_it_first(
    pristine: tuple[Path, str], tmp_path: Path, case: str
) -> None:
    """A bulk write (an import; a source sync takes the same path) finds the index damaged
    under the storage lock it holds: the index is rebuilt there, once, and the rows go in
    (a rebuild that asked for the lock again would wait for itself for ever)."""
    clash_id = pristine[1]
    root = damaged_copy(pristine, tmp_path, case)
    day = DAY + dt.timedelta(days=2)
    sheet = tmp_path / "plan.csv"
    sheet.write_text(
        "Дата;Начало;Окончание;Мероприятие;Классы\n"
        f"{day:%d.%m.%Y};15:00;16:00;Экскурсия на завод;8\n",
        encoding="utf-8",
    )
    imported = calhub_cli(root, "import", str(sheet), "--calendar", "bfu")
    assert_no_crash(imported.stdout + imported.stderr)
    assert imported.returncode == 0, imported
    verified = calhub_cli(root, "index", "verify")
    assert verified.returncode == 0 and "63 objects" in verified.stdout, verified.stdout
    assert approval_of(root, clash_id) == ("approved", APPROVAL)
    record("damaged index: import", **{case: "rebuilt under the import's lock, row stored"})


def damage_lines(stderr: str) -> list[str]:
    """The log lines that report damage (warnings and errors, not paths or access lines)."""
    return [
        line
        for line in stderr.splitlines()
        if (" WARNING " in line or " ERROR " in line)
        and ("damaged (" in line or "unusable (" in line)
    ]


@pytest.mark.parametrize("case", CASES)
def test_serve_starts_on_a_damaged_file_and_a_put_is_checked(
    pristine: tuple[Path, str], tmp_path: Path, module_hubs: Any, case: str
) -> None:
    clash_id = pristine[1]
    root = damaged_copy(pristine, tmp_path, case)
    hub = module_hubs.serve(root)
    assert api_json(hub, "/healthz")["status"] == "ok"
    before = conflict_snapshot(hub)
    assert {(r[0], r[3], r[4]) for r in before} == {(clash_id, "approved", APPROVAL)}
    # Against the rebuilt index the new event clashes with kgtu's: every calendar is in it.
    response = put(hub, "bfu", "/dav/bfu/calendar/new.ics", lesson("new", "Опыт [10А]", 30, 10))
    assert response.status == 201, response.text
    after = api_json(hub, "/api/conflicts")
    pairs = {frozenset(o["uid"] for o in r["occurrences"]) for r in after}
    assert frozenset({"new", "kgtu-clash"}) in pairs
    assert before <= conflict_snapshot(hub)
    stderr = hub.stderr()
    assert_no_crash(stderr)
    assert len(damage_lines(stderr)) == 1, damage_lines(stderr)
    assert calhub_cli(root, "index", "verify").returncode == 0
    record("damaged index: serve", **{case: "started, PUT 201, clash found"})


def overwrite_roots(index: Path, tables: tuple[str, ...], seed: str) -> None:
    """Random bytes over the root pages of ``tables`` of a served index."""
    with sqlite3.connect(index) as db:
        # Everything into the main file; the reset WAL makes the server's connections
        # drop the pages they hold, as any later write by another process would.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        roots = dict(db.execute("SELECT name, rootpage FROM sqlite_master WHERE rootpage > 0"))
    rnd = random.Random(seed)
    with index.open("r+b") as handle:
        for table in tables:
            handle.seek((roots[table] - 1) * PAGE)
            handle.write(rnd.randbytes(PAGE))


def test_damage_met_by_a_web_read_is_rebuilt_there(
    pristine: tuple[Path, str], tmp_path: Path, module_hubs: Any
) -> None:
    """A web page or API read holds no storage lock: it takes one and rebuilds."""
    root = tmp_path / "web"
    shutil.copytree(pristine[0], root)
    hub = module_hubs.serve(root)
    events = api_json(hub, "/api/events")
    overwrite_roots(root / "index.sqlite", ("occurrences", "occurrence_spans_node"), "web")
    assert api_json(hub, "/api/events") == events
    assert api_json(hub, "/healthz")["index"]["items"] == 62
    stderr = hub.stderr()
    assert_no_crash(stderr)
    assert len(damage_lines(stderr)) == 1, damage_lines(stderr)
    assert calhub_cli(root, "index", "verify").returncode == 0


def test_damage_found_while_serving_is_rebuilt_once(
    pristine: tuple[Path, str], tmp_path: Path, module_hubs: Any
) -> None:
    """Damage that appears under a running hub: the first read that meets it rebuilds."""
    clash_id = pristine[1]
    root = tmp_path / "running"
    shutil.copytree(pristine[0], root)
    hub = module_hubs.serve(root)
    assert api_json(hub, "/api/conflicts")
    overwrite_roots(root / "index.sqlite", ("calendars", "items", "occurrences"), "running")
    response = put(hub, "bfu", "/dav/bfu/calendar/live.ics", lesson("live", "Опыт [10А]", 30, 10))
    assert response.status == 201, response.text
    pairs = {frozenset(o["uid"] for o in r["occurrences"]) for r in api_json(hub, "/api/conflicts")}
    assert frozenset({"live", "kgtu-clash"}) in pairs
    assert approval_of(root, clash_id) == ("approved", APPROVAL)
    for _ in range(5):
        assert api_json(hub, "/api/events")
    stderr = hub.stderr()
    assert_no_crash(stderr)
    assert len(damage_lines(stderr)) == 1, damage_lines(stderr)
    assert calhub_cli(root, "index", "verify").returncode == 0
