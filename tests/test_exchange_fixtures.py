"""Each fixture sheet of tests/sheets/ and its expected report: ``calhub import --dry-run
--json`` on a fresh hub's data directory (partners bfu «БФУ им. И. Канта», kgtu «КГТУ»).

The fixtures are made by tests/sheets/make_sheets.py; a test makes them again and checks
they are the files committed, so the expectations below are about reproducible files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

SHEETS = Path(__file__).parent / "sheets"
sys.path.insert(0, str(SHEETS))
import make_sheets  # noqa: E402 - the generator lives beside the sheets

# name → what the dry run reports: its format facts, counts, errors as (row, column),
# and the (title, calendar, local start, local end) of every good row.
EXPECTED: dict[str, dict[str, Any]] = {
    "russian_headers.xlsx": {
        "format": "xlsx", "sheet": "План", "rows": 3, "ok": 3, "errors": [],
        "columns": {"date": "Дата", "start": "Начало", "end": "Окончание",
                    "partner": "Партнёр", "title": "Мероприятие", "audience": "Классы",
                    "venue": "Место", "contact": "Ответственный", "notes": "Примечание"},
        "carried_out": True,
    },
    "merged_cells.xlsx": {
        "format": "xlsx", "sheet": "Февраль", "rows": 3, "ok": 3, "errors": [],
        "header_row": 2, "carried_out": True,
    },
    "excel_serial_dates.xlsx": {
        "format": "xlsx", "rows": 3, "ok": 3, "errors": [], "carried_out": True,
    },
    "formulas.xlsx": {
        "format": "xlsx", "rows": 3, "ok": 2, "errors": [(4, "Дата")], "carried_out": False,
    },
    "empty_rows.csv": {
        "format": "csv", "encoding": "utf-8", "delimiter": ",", "rows": 2, "ok": 2,
        "empty_rows": 5, "errors": [], "carried_out": True,
    },
    "windows1251.csv": {
        "format": "csv", "encoding": "cp1251", "delimiter": ";", "rows": 2, "ok": 2,
        "errors": [], "carried_out": True,
    },
    "semicolon.csv": {
        "format": "csv", "encoding": "utf-8-sig", "delimiter": ";", "rows": 4, "ok": 2,
        "errors": [(4, "Партнёр"), (5, "Время")], "unknown": ["Неизвестный вуз"],
        "carried_out": False,
    },
}  # fmt: skip

# The events the good rows make: (calendar, title, start, end) in the hub's zone.
EVENTS: dict[str, set[tuple[str, str, str, str]]] = {
    "russian_headers.xlsx": {
        ("bfu", "Лекция по робототехнике", "2027-02-08T15:00", "2027-02-08T16:30"),
        ("kgtu", "Экскурсия в лабораторию", "2027-02-09T14:30", "2027-02-09T16:00"),
        ("bfu", "Мастер-класс по химии", "2027-02-10T15:00", "2027-02-10T16:00"),
    },
    "merged_cells.xlsx": {
        ("kgtu", "Олимпиада по физике", "2027-02-15T10:00", "2027-02-15T11:30"),
        ("kgtu", "Разбор задач", "2027-02-15T12:00", "2027-02-15T13:00"),
        ("kgtu", "Награждение", "2027-02-15T14:00", "2027-02-15T15:00"),
    },
    "excel_serial_dates.xlsx": {
        ("bfu", "Serial date lecture", "2027-02-08T15:00", "2027-02-08T16:30"),
        ("kgtu", "Serial date as text", "2027-02-09T16:00", "2027-02-09T17:30"),
        ("bfu", "Serial date float", "2027-02-10T12:00", "2027-02-10T13:30"),
    },
    "formulas.xlsx": {
        ("bfu", "Первое занятие", "2027-02-22T15:00", "2027-02-22T16:00"),
        # The formula's cached value, never its text, never evaluated.
        ("bfu", "Второе занятие", "2027-02-23T15:00", "2027-02-23T16:00"),
    },
    "empty_rows.csv": {
        ("kgtu", "Встреча с выпускниками", "2027-03-01T15:00", "2027-03-01T16:30"),
        ("bfu", "Лекция по истории", "2027-03-02T15:00", "2027-03-02T16:00"),
    },
    "windows1251.csv": {
        ("bfu", "Лекция «Химия вокруг нас»", "2027-03-03T15:00", "2027-03-03T16:30"),
        ("kgtu", "Ярмарка профессий", "2027-03-04T14:00", "2027-03-04T15:30"),
    },
    "semicolon.csv": {
        # «5 марта» has no year: the sheet's dated row (6 марта 2027) sets school year 2026/27.
        ("bfu", "Семинар, часть 1", "2027-03-05T15:00", "2027-03-05T15:45"),
        ("kgtu", "Семинар; часть 2", "2027-03-06T15:00", "2027-03-06T16:00"),
    },
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, hub_template: Path) -> Path:
    import shutil

    root = tmp_path_factory.mktemp("fixtures") / "data"
    shutil.copytree(hub_template, root)
    return root


def test_the_fixtures_are_what_the_generator_makes(tmp_path: Path) -> None:
    make_sheets.main(["make_sheets.py", str(tmp_path)])
    for name in make_sheets.FIXTURES:
        assert (tmp_path / name).read_bytes() == (SHEETS / name).read_bytes(), name
    assert set(EXPECTED) == set(make_sheets.FIXTURES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_report(name: str, data_dir: Path, runner: Any) -> None:
    expected = EXPECTED[name]
    code, out, err = runner(
        "import", str(SHEETS / name), "--dry-run", "--json", "--data", str(data_dir)
    )
    report = json.loads(out)
    assert code == (0 if expected["carried_out"] else 1), err
    for key in ("format", "encoding", "delimiter", "sheet", "rows", "ok", "empty_rows",
                "header_row", "columns"):  # fmt: skip
        if key in expected:
            assert report[key] == expected[key], key
    assert [(e["row"], e["column"]) for e in report["errors"]] == expected["errors"]
    assert all(e["reason"] for e in report["errors"])
    assert [u["name"] for u in report["unknown_partners"]] == expected.get("unknown", [])
    assert report["new"] == expected["ok"] and report["written"] == 0
    assert report["dry_run"] is True and report["carried_out"] is False


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_fixture_events(name: str, data_dir: Path, runner: Any, tmp_path: Path) -> None:
    """The good rows, imported with --skip-bad, are these events in the index."""
    import shutil

    from calhub.dav.maintenance import open_runtime
    from calhub.hub import Hub

    root = tmp_path / "data"
    shutil.copytree(data_dir, root)
    code, _, err = runner("import", str(SHEETS / name), "--skip-bad", "--data", str(root))
    assert code == 0, err
    runtime = open_runtime(Hub(root))
    try:
        zone = runtime.parts.config.zone
        occurrences = {
            (
                o.calendar,
                o.summary,
                o.start.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
                o.end.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
            )
            for o in runtime.index.all_occurrences()
        }
    finally:
        runtime.close()
    assert occurrences == EVENTS[name]
