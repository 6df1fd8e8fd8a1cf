"""``calhub report``: the JSON (per-partner rows with ``partner``, ``events``, ``hours`` and
``clashes``, per-grade rows, the school-wide figures), the XLSX read back with openpyxl
(a name that looks like a formula stays text) and the PDF read with pdftotext (Cyrillic),
on the small term of tests/reports/small_term; bad input gets a message and exit code."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from helpers import run_cli
from small_term_support import EXPECTED_PARTNERS, write_term

from calhub.hub import Hub, configfile
from calhub.runtime import Runtime
from calhub.store.feedback import NewAnswer

KALININGRAD = zoneinfo.ZoneInfo("Europe/Kaliningrad")
APRIL_ANSWERS = [("bfu", 5, 5, True), ("bfu", 12, 4, False), ("kgtu", 7, 3, None)]
SPAN = ["--from", "2027-03-01", "--to", "2027-03-28"]
# kgtu's display name here begins like a formula: it must reach the sheet as text.
TRICKY_NAME = "=КГТУ+1"


@pytest.fixture(scope="module")
def term_hub(module_hubs) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    root = module_hubs.create()
    document = configfile.read_document(root)
    configfile.set_calendar_key(document, "kgtu", "name", TRICKY_NAME)
    configfile.save_document(root, document)
    server = module_hubs.serve(root)
    write_term(server.url)
    yield root


def report_json(root: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    code, out, err = run_cli(["report", *SPAN, "--format", "json", *extra, "--data", str(root)])
    assert code == 0, err
    found: dict = json.loads(out)  # type: ignore[type-arg]
    return found


def test_json_has_the_partner_rows(term_hub: Path) -> None:
    found = report_json(term_hub)
    assert (found["from"], found["to"]) == ("2027-03-01", "2027-03-28")
    rows = {row["partner"]: row for row in found["partners"]}
    assert sorted(rows) == ["bfu", "kgtu", "school"]
    for partner, expected in EXPECTED_PARTNERS.items():
        events, cancelled, hours, grades = expected[:4]
        row = rows[partner]
        assert (row["events"], row["cancelled"], row["hours"], row["grades"]) == (
            events,
            cancelled,
            hours,
            grades,
        )
        assert row["clashes"] == expected[-1][0]
    assert rows["kgtu"]["name"] == TRICKY_NAME
    assert [row["grade"] for row in found["grades"]] == list(range(1, 12))
    school = found["school_figures"]
    assert (school["events"], school["hours"], school["clashes"]["found"]) == (9, 13.5, 2)
    assert school["published_on_time_share"] == 88.9
    assert found["feedback_available"] is True  # the hub's feedback store, no answers yet
    assert {row["partner"]: row["ratings"]["count"] for row in found["partners"]} == {
        "bfu": 0,
        "kgtu": 0,
        "school": 0,
    }
    assert found["settings"] == {"late_change_days": 7, "publish_days_before": 14}


def test_the_report_reads_the_hubs_feedback_answers(term_hub: Path) -> None:
    """Answers stored in the hub's feedback store reach the report (April: after the term
    the other tests read, which these answers leave alone)."""
    runtime = Runtime(Hub(term_hub))
    try:
        for device, (calendar, day, rating, recommend) in enumerate(APRIL_ANSWERS):
            at = dt.datetime(2027, 4, day, 15, 0, tzinfo=KALININGRAD)
            runtime.feedback.add(
                NewAnswer(calendar, f"{calendar}-april", "", at, f"d{device}", rating, recommend)
            )
    finally:
        runtime.close()
    april = report_json(term_hub, "--from", "2027-04-01", "--to", "2027-04-30")
    ratings = {row["partner"]: row["ratings"] for row in april["partners"]}
    # Worked by hand: bfu 5 and 4 (one yes, one no: loyalty 50 - 50 = 0), kgtu one 3 (the
    # question skipped: no loyalty), the school none.
    assert (ratings["bfu"]["count"], ratings["bfu"]["average"], ratings["bfu"]["loyalty"]) == (
        2,
        4.5,
        0,
    )
    assert (ratings["kgtu"]["count"], ratings["kgtu"]["average"]) == (1, 3.0)
    assert ratings["kgtu"]["loyalty"] is None and ratings["school"]["count"] == 0
    assert report_json(term_hub)["school_figures"]["ratings"]["count"] == 0  # March untouched


def test_json_of_one_partner(term_hub: Path) -> None:
    found = report_json(term_hub, "--partner", "kgtu")
    assert [row["partner"] for row in found["partners"]] == ["kgtu"]
    assert found["scope"] == "kgtu"
    assert found["school_figures"]["events"] == 2


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--from", "2027-03-01"], "обе даты"),
        (["--from", "2027-02-30", "--to", "2027-03-01"], "не понята"),
        (["--from", "2027-03-01", "--to", "2027-02-01"], "раньше"),
        ([*SPAN, "--partner", "ghost"], "ghost"),
        ([*SPAN, "-o", "/nonexistent/dir/report.json"], "/nonexistent/dir"),
    ],
)
def test_bad_input_is_a_message(term_hub: Path, argv: list[str], fragment: str) -> None:
    code, out, err = run_cli(["report", *argv, "--data", str(term_hub)])
    assert code != 0
    assert fragment in err, err
    assert not out


def test_xlsx_opens_in_openpyxl(term_hub: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.xlsx"
    code, out, err = run_cli(
        ["report", *SPAN, "--format", "xlsx", "-o", str(target), "--data", str(term_hub)]
    )
    assert code == 0, err
    assert "report.xlsx" in out
    book = openpyxl.load_workbook(io.BytesIO(target.read_bytes()))
    assert book.sheetnames == ["Партнёры", "Классы", "Школа"]
    rows = list(book["Партнёры"].iter_rows(values_only=True))
    assert rows[0][:5] == ("Партнёр", "Мероприятий", "Проведено", "Отменено", "Часов")
    by_name = {row[0]: row for row in rows[1:]}
    # (the "held" column depends on today: the term is in March 2027)
    bfu = by_name["БФУ им. И. Канта"]
    assert (bfu[1], bfu[3], bfu[4], bfu[5]) == (5, 1, 9.5, "9, 10А, 10Б, 11")
    kgtu = book["Партнёры"].cell(row=[r[0] for r in rows].index(TRICKY_NAME) + 1, column=1)
    assert (kgtu.value, kgtu.data_type) == (TRICKY_NAME, "s")
    grades = list(book["Классы"].iter_rows(values_only=True))
    assert len(grades) == 12
    tenth = grades[10]
    found_tenth = (tenth[0], tenth[1], tenth[3], tenth[4], tenth[6])
    assert found_tenth == ("10 классы", 4, 1, 4.5, "10А, 10Б")
    school = {row[0]: row[1] for row in book["Школа"].iter_rows(values_only=True) if row[0]}
    assert school["Конфликтов решено до события"] == "1 (50 %)"
    assert school["Отзывы"] == "нет отзывов"


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_pdf_reads_with_pdftotext(term_hub: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    code, _, err = run_cli(
        ["report", *SPAN, "--format", "pdf", "-o", str(target), "--data", str(term_hub)]
    )
    assert code == 0, err
    assert target.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", str(target), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    for fragment in ("Итоги по школе", "По партнёрам", "По параллелям", "БФУ им. И. Канта"):
        assert fragment in text
    assert "нет отзывов" in text
    assert "01.03.2027–28.03.2027" in text
