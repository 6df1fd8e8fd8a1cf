"""The «Найти время» page (``GET /slots``) on the sample week: the form without JavaScript,
the slots grouped by day with their grade as a shape, a word and a colour, the soft clashes
of an amber slot, and every kind of bad input as a readable 400 with the form kept."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from babel.dates import format_date
from web_support import WEEK, sign_in, text

from calhub.runtime import Runtime
from calhub.web.findtime import next_monday

FRIDAY = WEEK + dt.timedelta(days=4)
SEARCH = {"audience": "10А", "duration": "90", "from": str(WEEK), "to": str(FRIDAY)}


def search(client: Any, language: str = "ru", **params: str) -> Any:
    client.set_cookie("calhub_lang", language)
    return client.get("/slots", query_string=SEARCH | params)


def field(page: str, name: str) -> str:
    """The value an input of the form shows."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    assert match, f"no input {name!r} in the page"
    return html.unescape(match.group(1))


def test_the_first_visit_is_the_empty_form_with_the_next_two_weeks(
    web_client: Any, web_runtime: Runtime
) -> None:
    sign_in(web_client, "coordinator")
    response = web_client.get("/slots")
    assert response.status_code == 200
    page = text(response)
    assert "Найти время" in page and 'method="get"' in page
    assert field(page, "audience") == "" and field(page, "duration") == "90"
    assert field(page, "limit") == "10"
    first = dt.date.fromisoformat(field(page, "from"))
    last = dt.date.fromisoformat(field(page, "to"))
    assert first.weekday() == 0 and first > dt.date.today() - dt.timedelta(days=1)
    assert last - first == dt.timedelta(days=13)
    # The grades and the hub's named groups are offered; and the durations.
    assert all(f'<option value="{g}">' in page for g in range(1, 12))
    assert all(f'<option value="{g}">' in page for g in web_runtime.settings.groups)
    assert all(f'<option value="{m}">' in page for m in (45, 60, 90, 120))
    assert 'class="found-slot ' not in page and 'role="alert"' not in page


def test_next_monday_is_always_ahead() -> None:
    monday = dt.date(2027, 2, 1)
    assert next_monday(monday) == dt.date(2027, 2, 8)
    assert next_monday(monday + dt.timedelta(days=2)) == dt.date(2027, 2, 8)
    assert next_monday(monday + dt.timedelta(days=6)) == dt.date(2027, 2, 8)


def test_the_first_slot_is_the_apis_first_under_its_day(web_client: Any) -> None:
    # Monday: Лекция по физике [10-11] 15:00-16:30 and Практикум [10А] 15:30-17:00,
    # as in test_web_slots: the first free 90 minutes are 17:05-18:35.
    sign_in(web_client, "bfu")
    response = search(web_client)
    assert response.status_code == 200
    page = text(response)
    monday = format_date(WEEK, "EEEE, d MMMM", locale="ru")
    heading = page.index(f'<h3 class="day found-day">{monday[:1].upper()}{monday[1:]}</h3>')
    first = page.index('<li class="found-slot ', heading)
    assert re.match(
        r'<li class="found-slot found-green">\s*<span class="found-time">17:05–18:35<', page[first:]
    )
    assert "Свободное время для 10А (10)" in page
    assert page.count('<li class="found-slot ') == 10
    # Kept in the form, for the next search.
    assert field(page, "audience") == "10А" and field(page, "from") == str(WEEK)
    assert "свободно" in page and "●" in page


def test_an_amber_slot_lists_its_soft_clash_in_the_pages_language(web_client: Any) -> None:
    # Friday: Лабораторная работа [11А] ends 17:40 at КГТУ; a slot at БФУ from 17:50 leaves
    # 10 minutes to get there: free, but with the travel warning.
    sign_in(web_client, "coordinator")
    friday = {
        "audience": "11А",
        "duration": "60",
        "from": str(FRIDAY),
        "to": str(FRIDAY),
        "venue": "БФУ, ул. Невского, 14",
        "near": f"{FRIDAY}T17:45",
        "limit": "1",
    }
    for language, grade, reason in (
        ("ru", "свободно, есть мягкие пересечения", "Мало времени на дорогу для 11А"),
        ("en", "free, with soft clashes", "Too little travel time for 11А"),
    ):
        page = text(search(web_client, language, **friday))
        item = page[page.index('<li class="found-slot found-amber">') :]
        item = item[: item.index("</ul>")]
        assert "17:50–18:50" in item and "▲" in item and grade in item
        assert reason in item
        # The engine names the time tried, never the probe's internal calendar id.
        assert ("предлагаемое время" if language == "ru" else "the proposed time") in item
        assert "\x00" not in item
        assert "\x00" not in page and "&#0;" not in page
        assert 'class="found-slot found-green"' not in page


def test_no_free_time_says_how_to_widen_the_search(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    # Sunday of the sample week is a closed day (Выходной) and no lesson day.
    sunday = str(WEEK + dt.timedelta(days=6))
    page = text(search(web_client, **{"from": sunday, "to": sunday}))
    assert 'class="found-slot ' not in page
    assert "свободного времени нет" in page and "сократите длительность" in page
    page = text(search(web_client, "en", **{"from": sunday, "to": sunday}))
    assert "Widen the window" in page and "shorten the duration" in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"audience": "кабинет 12"}, "Аудитория 'кабинет 12' не понята"),
        ({"duration": "полтора"}, "Длительность 'полтора' не понята"),
        ({"duration": "900"}, "Длительность '900' не понята"),
        ({"from": "2027-02-14", "to": "2027-02-01"}, "«to» должно быть не раньше «from»"),
        ({"from": "2027-01-01", "to": "2027-12-31"}, "не дальше 62 дней"),
        ({"to": "завтра"}, "не дата"),
        ({"near": "вечером"}, "не дата и время"),
        ({"limit": "0"}, "limit должно быть целым числом"),
    ],
)
def test_bad_input_is_a_readable_400_with_the_form_kept(
    web_client: Any, params: dict[str, str], message: str
) -> None:
    sign_in(web_client, "coordinator")
    response = search(web_client, **params)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    page = text(response)
    alert = page[page.index('class="problems find-error"') :]
    alert = html.unescape(alert[: alert.index("</div>")])
    assert message in alert and 'class="find-error-hint"' in alert
    assert "Traceback" not in page and 'class="found-slot ' not in page
    for name, value in (SEARCH | params).items():
        assert field(page, name) == value


def test_the_english_page(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    page = text(search(web_client, "en"))
    assert 'lang="en"' in page and "Find a time" in page and "Free times for 10А" in page
    assert f"{format_date(WEEK, 'EEEE, d MMMM', locale='en')}</h3>" in page
    assert "free</span>" in page and "свободно" not in page
    bad = search(web_client, "en", duration="полтора")
    assert bad.status_code == 400
    assert "Duration 'полтора' is not understood" in html.unescape(text(bad))


def test_anonymous_is_sent_to_sign_in(web_client: Any) -> None:
    response = web_client.get("/slots", query_string=SEARCH)
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]
    assert "slots" in response.headers["Location"]


def test_the_navigation_links_the_page(web_client: Any) -> None:
    sign_in(web_client, "bfu")
    page = text(web_client.get("/plan"))
    assert 'href="/slots"' in page and "Найти время" in page
    page = text(web_client.get("/slots"))
    assert re.search(r'href="/slots" aria-current="page"', page)
