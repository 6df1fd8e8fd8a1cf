"""``/reports`` and ``/reports/export`` with the Flask test client on the sample week: the
coordinator's rows and a partner's own row only, the range picker, bad input as a readable
400, the files, "no feedback yet", and the note when Chart.js is missing."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import Any

import openpyxl
import pytest
from web_support import WEEK, sign_in

from calhub.web import assets

RANGE = {"from": WEEK.isoformat(), "to": (WEEK + dt.timedelta(days=6)).isoformat()}


def rows_of(html: str, table: str) -> list[str]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'data-partner="([^"]+)"', body) or re.findall(r'data-grade="(\d+)"', body)


def test_coordinator_sees_every_partner(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    page = web_client.get("/reports", query_string=RANGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert rows_of(html, "report-partners") == ["school", "bfu", "kgtu"]
    assert rows_of(html, "report-grades") == [str(g) for g in range(1, 12)]
    assert "нет отзывов" in html
    # The partner filter is offered to the coordinator, and narrows to one row.
    assert 'name="partner"' in html
    one = web_client.get("/reports", query_string={**RANGE, "partner": "kgtu"})
    assert rows_of(one.get_data(as_text=True), "report-partners") == ["kgtu"]


def test_partner_sees_its_own_row_only(web_client: Any) -> None:
    sign_in(web_client, "bfu")
    html = web_client.get("/reports", query_string={**RANGE, "partner": "kgtu"}).get_data(
        as_text=True
    )
    assert rows_of(html, "report-partners") == ["bfu"]
    assert 'name="partner"' not in html
    assert "КГТУ" not in html.split('id="report-partners"', 1)[1]
    data = web_client.get("/reports/export", query_string={**RANGE, "format": "json"})
    assert data.status_code == 200
    found = json.loads(data.get_data(as_text=True))
    assert [row["partner"] for row in found["partners"]] == ["bfu"]
    assert found["scope"] == "bfu"


def test_the_page_needs_a_sign_in(web_client: Any) -> None:
    answer = web_client.get("/reports")
    assert answer.status_code in (302, 303)
    assert "/login" in answer.headers["Location"]
    assert web_client.get("/reports/export?format=json").status_code in (302, 303)


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"from": "2027-13-01", "to": "2027-02-01"}, "не понята"),
        ({"from": "2027-03-01"}, "обе даты"),
        ({"from": "2027-03-01", "to": "2027-02-01"}, "раньше"),
        ({"preset": "1999-1"}, "1999-1"),
        ({**RANGE, "partner": "ghost"}, "ghost"),
    ],
)
def test_bad_input_is_a_readable_400(web_client: Any, query: dict[str, str], fragment: str) -> None:
    sign_in(web_client, "coordinator")
    for path, extra in (("/reports", {}), ("/reports/export", {"format": "json"})):
        answer = web_client.get(path, query_string={**query, **extra})
        assert answer.status_code == 400
        assert fragment in answer.get_data(as_text=True)


def test_an_unknown_format_is_a_400(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    answer = web_client.get("/reports/export", query_string={**RANGE, "format": "docx"})
    assert answer.status_code == 400
    assert "docx" in answer.get_data(as_text=True)


def test_the_files_from_the_page(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    html = web_client.get("/reports", query_string=RANGE).get_data(as_text=True)
    for kind in ("xlsx", "pdf", "json"):
        assert f'id="report-{kind}"' in html
    xlsx = web_client.get("/reports/export", query_string={**RANGE, "format": "xlsx"})
    assert xlsx.status_code == 200
    assert xlsx.headers["Cache-Control"] == "private, no-store"
    assert "attachment" in xlsx.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    names = [row[0] for row in book["Партнёры"].iter_rows(min_row=2, values_only=True)]
    assert "БФУ им. И. Канта" in names and "КГТУ" in names
    pdf = web_client.get("/reports/export", query_string={**RANGE, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_the_sample_week_figures(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    data = web_client.get("/reports/export", query_string={**RANGE, "format": "json"})
    found = json.loads(data.get_data(as_text=True))
    rows = {row["partner"]: row for row in found["partners"]}
    # The sample week's clashes (tests/web/web_support.py): bfu × kgtu on Monday (audience,
    # hard) and on Friday (travel, soft); the school's own two events on Wednesday (venue).
    assert rows["bfu"]["clashes"] == 2 and rows["kgtu"]["clashes"] >= 2
    assert rows["school"]["clash_figures"]["open"] >= 1
    assert found["school_figures"]["clashes"]["found"] >= 3


def test_charts_when_chartjs_is_there_and_a_note_when_not(
    web_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(web_client, "coordinator")
    html = web_client.get("/reports", query_string=RANGE).get_data(as_text=True)
    if assets.chartjs_available():
        assert 'id="chart-partners"' in html and "vendor/chartjs/chart.umd.min.js" in html
        data = html.split('id="report-data">', 1)[1].split("</script>", 1)[0]
        assert json.loads(data)["grades"] == [str(g) for g in range(1, 12)]
    # No inline script: every <script> is a file of ours or the JSON data block.
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    monkeypatch.setattr(assets, "chartjs_available", lambda: False)
    html = web_client.get("/reports", query_string=RANGE).get_data(as_text=True)
    assert 'id="charts-missing"' in html
    assert "chart-partners" not in html and "chart.umd" not in html
    assert 'id="report-partners"' in html


def test_a_write_makes_a_new_report(web_client: Any, web_runtime: Any) -> None:
    from helpers import make_event
    from web_support import at

    from calhub.dav.importer import import_objects

    sign_in(web_client, "coordinator")

    def events() -> int:
        answer = web_client.get("/reports/export", query_string={**RANGE, "format": "json"})
        found: int = json.loads(answer.get_data(as_text=True))["school_figures"]["events"]
        return found

    before = events()
    assert events() == before  # the same report, from the cache
    calendar = web_runtime.settings.calendar("kgtu")
    import_objects(
        web_runtime,
        calendar,
        [make_event("w-report-new", "Мастер-класс [7А]", at(2, 16), at(2, 17))],
    )
    assert events() == before + 1


def test_the_page_in_english(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    html = web_client.get(
        "/reports", query_string=RANGE, headers={"Accept-Language": "en-GB,en;q=0.9"}
    ).get_data(as_text=True)
    assert "Per partner" in html and "Per grade" in html and "no feedback yet" in html
    assert "First half of" in html or "Second half of" in html
    assert "По партнёрам" not in html
