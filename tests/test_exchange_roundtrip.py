"""The round trip of issue 16: the demo hub exported to XLSX, that file imported into an
empty hub of the same calendars, exported again: the same rows and the same clashes.

What "the same" means (docs/exchange.md, "Round trip"): the plan sheet lists occurrences,
so a series comes back as one event per occurrence — the rows are equal as occurrences, and
the clash set is equal by its sides, times and rules (the conflicts sheet lists each clash
by rule, severity, status, first start and its sides by title, calendar and time). UIDs,
descriptions and the series' RRULE are not in the sheet and do not come back. All-day
events, those over several days and a timed event past midnight come back as they were.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
from helpers import run_cli

from calhub.cli.serve import create_demo
from calhub.dav.importer import import_objects
from calhub.dav.maintenance import open_runtime
from calhub.demo.term import TERM_WEEKS

SHEETS = ("План", "Конфликты", "Доска")

# Not in the demo term: a timed event over midnight, which the export writes as
# "18:00–22.11 12:00" and the import must read back as one event.
OVERNIGHT = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//round trip//EN\r
BEGIN:VEVENT\r
UID:overnight-roundtrip@test\r
DTSTAMP:20260101T000000Z\r
DTSTART;TZID=Europe/Kaliningrad:{start}T180000\r
DTEND;TZID=Europe/Kaliningrad:{end}T120000\r
SUMMARY:Ночь в обсерватории [10А]\r
LOCATION:Обсерватория БФУ\r
END:VEVENT\r
END:VCALENDAR\r
"""


def sheets(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    return {name: [tuple(row) for row in book[name].iter_rows(values_only=True)] for name in SHEETS}


def export(root: Path, target: Path, first: dt.date, last: dt.date) -> dict[str, list[Any]]:
    span = ["--from", first.isoformat(), "--to", last.isoformat()]
    code, _, err = run_cli(
        ["export", "--format", "xlsx", *span, "-o", str(target), "--data", str(root)]
    )
    assert code == 0, err
    return sheets(target)


def test_demo_to_xlsx_to_an_empty_hub_and_back(tmp_path: Path) -> None:
    today = dt.date.today()
    first = today - dt.timedelta(days=today.weekday() + 14)  # where create_demo lays the term
    last = first + dt.timedelta(weeks=TERM_WEEKS) + dt.timedelta(days=6)
    demo = create_demo(tmp_path / "demo", today)
    night = first + dt.timedelta(days=17)
    runtime = open_runtime(demo)
    try:
        bfu = demo.settings.calendar("bfu")
        assert bfu is not None
        text = OVERNIGHT.format(
            start=f"{night:%Y%m%d}", end=f"{night + dt.timedelta(days=1):%Y%m%d}"
        )
        import_objects(runtime, bfu, [text])
    finally:
        runtime.close()
    before = export(tmp_path / "demo", tmp_path / "before.xlsx", first, last)

    plan = before["План"][1:]
    times = [row[2] for row in plan]
    # What the round trip has to carry, or it proves little.
    assert "весь день" in times
    assert any(t.startswith("весь день по ") for t in times)  # an all-day event over days
    assert f"18:00–{night + dt.timedelta(days=1):%d.%m} 12:00" in times
    series = Counter((row[3], row[4]) for row in plan)
    assert max(series.values()) >= 5  # a weekly series, one row per occurrence
    rules = Counter(row[3] for row in before["Конфликты"][1:])
    assert len(rules) >= 3, rules

    empty = create_demo(tmp_path / "empty", today, term=False)
    code, out, err = run_cli(
        ["import", str(tmp_path / "before.xlsx"), "--json", "--data", str(empty.root)]
    )
    report = json.loads(out)
    assert code == 0, (err, report["errors"][:5])
    assert (report["rows"], report["ok"], report["errors"]) == (len(plan), len(plan), [])
    assert report["written"] == len(plan)
    # The report's clashes are the ones the hub then holds, rule by rule.
    assert Counter(c["rule"] for c in report["clashes"]) == rules

    after = export(empty.root, tmp_path / "after.xlsx", first, last)
    for name in SHEETS:
        assert after[name] == before[name], name

    # The file again: nothing changes, nothing is written twice.
    code, out, err = run_cli(
        ["import", str(tmp_path / "before.xlsx"), "--json", "--data", str(empty.root)]
    )
    again = json.loads(out)
    assert code == 0, err
    assert (again["unchanged"], again["new"], again["written"]) == (len(plan), 0, 0)
