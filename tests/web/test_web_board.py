"""The grade board (issue 15): rows of grades, columns of days, chips and cell states, on
the sample week of web_support (a hard audience clash on Monday, a hard venue clash on
Wednesday, a soft travel clash on Friday, a closed day on Sunday)."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from web_support import WEEK, sign_in, text

from calhub.runtime import Runtime

RU = {"Accept-Language": "ru-RU,ru;q=0.9"}
DAYS = [WEEK + dt.timedelta(days=n) for n in range(7)]
MONDAY, WEDNESDAY, FRIDAY, SUNDAY = DAYS[0], DAYS[2], DAYS[4], DAYS[6]
CELL = re.compile(
    r'<td class="(?P<classes>[^"]*)" data-day="(?P<day>[^"]+)" data-row="(?P<row>[^"]+)"'
)
# The open clashes of the sample week, as (row, day) → state.
SAMPLE_STATES = {
    ("10", MONDAY): "hard",  # Лекция по физике [10-11] × Практикум [10А]: 10А's clash
    # (grade 11 is at the lecture too, but no pupil of grade 11 is asked to be in two places:
    # its Monday cell holds the lecture's chip marked, and stays clear)
    ("5", WEDNESDAY): "hard",  # Концерт [5] × Собрание [6] in the assembly hall
    ("6", WEDNESDAY): "hard",
    ("11", FRIDAY): "soft",  # Олимпиадные сборы [11А] → Лабораторная работа [11А], 10 min
}


def board(client: Any, query: str = "") -> str:
    response = client.get(f"/board?date={WEEK.isoformat()}{query}", headers=RU)
    assert response.status_code == 200, response.status_code
    return text(response)


def states(page: str) -> dict[tuple[str, dt.date], str]:
    """(row, day) → the state class of every cell that has one."""
    found = {}
    for match in CELL.finditer(page):
        classes = match["classes"].split()
        state = next(
            (c[5:] for c in classes if c in ("cell-hard", "cell-soft", "cell-approved")), ""
        )
        if state:
            found[(match["row"], dt.date.fromisoformat(match["day"]))] = state
    return found


def closed_cells(page: str) -> set[tuple[str, dt.date]]:
    return {
        (m["row"], dt.date.fromisoformat(m["day"]))
        for m in CELL.finditer(page)
        if "cell-closed" in m["classes"].split()
    }


def cell(page: str, row: str, day: dt.date) -> str:
    """The HTML of one cell."""
    match = re.search(
        rf'<td class="[^"]*" data-day="{day.isoformat()}" data-row="{re.escape(row)}".*?</td>',
        page,
        re.S,
    )
    assert match, (row, day)
    return html.unescape(match.group(0))


def words(fragment: str) -> str:
    """The text of an HTML fragment, spaces squeezed."""
    return " ".join(re.sub(r"<[^>]+>", "", fragment).split())


def test_rows_are_grades_and_columns_the_days_of_the_week(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    page = board(web_client)
    rows = {m["row"] for m in CELL.finditer(page)}
    assert rows == {str(grade) for grade in range(1, 12)}
    assert {dt.date.fromisoformat(m["day"]) for m in CELL.finditer(page)} == set(DAYS)
    assert len(CELL.findall(page)) == 11 * 7
    # The range in words, never an ISO week; the nav link «Доска» is the current page.
    assert "W0" not in page and "неделя 20" not in page
    assert re.search(r'aria-current="page">Доска</a>', page)


def test_cells_show_the_right_clash_states_in_the_right_rows_and_days(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    page = board(web_client)
    assert states(page) == SAMPLE_STATES
    # Shape and word as well as colour.
    assert "✖ накладка" in words(cell(page, "10", MONDAY))
    assert "▲ предупреждение" in words(cell(page, "11", FRIDAY))
    assert "✖" not in cell(page, "9", MONDAY)
    # Grade 11's Monday holds the lecture (its chip marked: the event is in a clash), but
    # the clash is 10А's: the cell says nothing of one.
    eleven = cell(page, "11", MONDAY)
    assert "Лекция по физике" in eleven and "chip-hard" in eleven
    assert "✖ накладка" not in words(eleven)


def test_a_closed_day_is_background_for_every_grade_not_a_clashing_chip(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    page = board(web_client)
    assert closed_cells(page) == {(str(grade), SUNDAY) for grade in range(1, 12)}
    sunday = cell(page, "10", SUNDAY)
    assert "Выходной" in sunday and 'class="chip' not in sunday
    assert ("10", SUNDAY) not in states(page)


def test_chips_link_to_their_events_with_the_full_text_in_the_title(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    page = board(web_client)
    monday = cell(page, "10", MONDAY)
    chips = re.findall(r'<a class="chip ([^"]*)" href="([^"]+)" title="([^"]+)"', monday)
    assert len(chips) == 2, monday
    by_uid = {
        re.search(r"uid=([^&]+)", href).group(1): (classes, tip) for classes, href, tip in chips
    }
    assert set(by_uid) == {"w-bfu-physics", "w-kgtu-lab"}
    classes, tip = by_uid["w-bfu-physics"]
    assert "cal-bfu" in classes and "chip-hard" in classes
    assert "15:00–16:30 Лекция по физике [10-11]" in tip and "БФУ" in tip and "ауд. 112" in tip
    href = next(h for _, h, _ in chips if "w-bfu-physics" in h)
    assert href.startswith("/plan/event?") and "calendar=bfu" in href
    assert web_client.get(href).status_code == 200
    # Grade 9 meets neither (the lecture is for 10–11, the lab for 10А).
    assert 'class="chip' not in cell(page, "9", MONDAY)


def test_a_grade_opens_into_its_classes(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    closed = board(web_client)
    assert 'data-row="10А"' not in closed
    toggle = re.search(r'<a class="row-toggle" href="([^"]+)"[^>]*aria-expanded="false"', closed)
    assert toggle and "open=" in html.unescape(toggle.group(1))
    page = board(web_client, "&open=10&open=11")
    found = states(page)
    assert found[("10А", MONDAY)] == "hard", "the lab and the lecture are both for 10А"
    assert ("11А", MONDAY) not in found, "11А is at the lecture only: not its clash"
    assert found[("11А", FRIDAY)] == "soft"
    assert 'data-row="9Б"' not in page, "grade 9 stays closed"
    everything = board(web_client, "&open=all")
    assert 'data-row="9Б"' in everything and 'data-row="10А"' in everything


def test_named_groups_are_rows_of_the_grades_they_touch(web_client: Any, web_hub: Any) -> None:
    from calhub.hub import configfile

    document = configfile.read_document(web_hub.root)
    document["audience"] = {"groups": {"инженерный профиль": "10А, 11А"}}
    configfile.save_document(web_hub.root, document)
    sign_in(web_client, "coordinator")
    page = board(web_client, "&open=10")
    assert states(page)[("10:инженерный профиль", MONDAY)] == "hard"
    assert "инженерный профиль" in page


def test_an_approved_clash_turns_its_cells_green(web_client: Any, web_runtime: Runtime) -> None:
    from calhub.store.records import Filters

    records = web_runtime.records.page(Filters(status="open"), None).records
    monday = next(r for r in records if r.rule == "audience")
    web_runtime.records.approve(monday.id, "coordinator", "Группы разведены")
    sign_in(web_client, "coordinator")
    page = board(web_client)
    expected = dict(SAMPLE_STATES) | {("10", MONDAY): "approved"}
    assert states(page) == expected
    assert "✓ согласовано" in words(cell(page, "10", MONDAY))


def test_a_partner_sees_the_board_with_the_marks_of_its_own_clashes(web_client: Any) -> None:
    sign_in(web_client, "kgtu")
    page = board(web_client)
    assert "Концерт [5]" in page, "every calendar of the plan is on the partner's board"
    found = states(page)
    assert found == {k: v for k, v in SAMPLE_STATES.items() if k[1] != WEDNESDAY}, (
        "the venue clash is between two school events: not КГТУ's"
    )


@pytest.mark.parametrize(
    ("query", "note"),
    [
        ("date=2027-13-45", "«2027-13-45» — не дата"),
        ("date=yesterday", "«yesterday» — не дата"),
        ("date=0001-01-01", "«0001-01-01» — не дата"),
        ("view=year", "Вида «year» нет"),
    ],
)
def test_a_bad_date_or_view_shows_the_current_week_with_a_note(
    web_client: Any, query: str, note: str
) -> None:
    sign_in(web_client, "coordinator")
    response = web_client.get(f"/board?{query}", headers=RU)
    assert response.status_code == 200
    page = text(response)
    assert note in html.unescape(page)
    today = dt.date.today()
    monday = today - dt.timedelta(days=today.weekday())
    days = {m["day"] for m in CELL.finditer(page)}
    assert days == {(monday + dt.timedelta(days=n)).isoformat() for n in range(7)}


def test_the_range_title_is_in_words(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    week = text(web_client.get("/board?date=2027-02-10", headers=RU))
    assert '<h1 id="range-title">8–14 февраля 2027</h1>' in week
    across = text(web_client.get("/board?date=2027-02-01&view=week", headers=RU))
    assert "1–7 февраля 2027" in across
    month = text(web_client.get("/board?date=2027-02-10&view=month", headers=RU))
    assert '<h1 id="range-title">Февраль 2027</h1>' in month
    assert "<title>Доска: февраль 2027" in month
    assert len({m["day"] for m in CELL.finditer(month)}) == 28
    newyear = text(web_client.get("/board?date=2026-12-30", headers=RU))
    assert "28 декабря 2026 – 3 января 2027" in newyear
    english = text(web_client.get("/board?date=2027-02-10", headers={"Accept-Language": "en"}))
    assert "8–14 February 2027" in english


def test_the_filters_are_kept_in_the_links_and_closed_days_stay(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    page = board(web_client, "&calendar=bfu&open=10")
    assert "Практикум [10А]" not in page and "Лекция по физике" in page
    toolbar = page[
        page.index('<div class="toolbar">') : page.index(
            "</div>", page.index('<div class="toolbar">')
        )
    ]
    navigation = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', toolbar)]
    assert len(navigation) == 5, "earlier, today, later, week, month"
    assert all("calendar=bfu" in h and "open=10" in h for h in navigation), navigation
    toggles = [html.unescape(h) for h in re.findall(r'class="row-toggle" href="([^"]+)"', page)]
    assert toggles and all("calendar=bfu" in h for h in toggles)
    assert closed_cells(page) >= {("10", SUNDAY)}, "a calendar filter keeps the closed days"
    searched = board(web_client, "&q=Лекция&venue=БФУ")
    assert closed_cells(searched) == {(str(grade), SUNDAY) for grade in range(1, 12)}
    assert states(searched) == {("10", MONDAY): "hard"}, "the lecture's clash is 10А's"
    grade = board(web_client, "&grade=9")
    assert {m["row"] for m in CELL.finditer(grade)} == {"9"}
    group = board(web_client, "&group=11А")
    assert {m["row"] for m in CELL.finditer(group)} == {"11"}
    assert states(group) == {("11", FRIDAY): "soft"}


def test_the_board_needs_a_sign_in(web_client: Any) -> None:
    response = web_client.get("/board")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_month_reads_only_the_month(
    web_client: Any, web_runtime: Runtime, monkeypatch: Any
) -> None:
    asked = []
    overlapping = web_runtime.index.overlapping

    def spy(start: dt.datetime, end: dt.datetime) -> Any:
        asked.append(end - start)
        return overlapping(start, end)

    monkeypatch.setattr(web_runtime.index, "overlapping", spy)
    sign_in(web_client, "coordinator")
    board(web_client, "&view=month")
    assert asked and max(asked) <= dt.timedelta(days=31, hours=1)


def test_a_configured_clash_colour_is_shown_as_a_palette_colour(
    web_client: Any, web_hub: Any
) -> None:
    """Old hubs (БФУ in red) are fixed where colours are shown, without editing the config."""
    from calhub.hub import configfile, palette

    document = configfile.read_document(web_hub.root)
    for entry in document["calendars"]:
        if entry["id"] == "bfu":
            entry["color"] = "#D1242F"
        if entry["id"] == "kgtu":
            entry["color"] = "#8250DF"
    configfile.save_document(web_hub.root, document)
    sheet = text(web_client.get("/calendars.css"))
    bfu = re.search(r"\.cal-bfu\{--cal:(#[0-9A-F]{6});--cal-text:(#[0-9A-F]{6})\}", sheet)
    assert bfu, sheet
    assert bfu.group(1) in palette.PALETTE and bfu.group(1) != "#8250DF", "not kgtu's colour"
    assert palette.contrast(bfu.group(1), bfu.group(2)) >= palette.MIN_CONTRAST
    assert ".cal-kgtu{--cal:#8250DF;" in sheet, "a safe colour is kept"
    assert "#D1242F" not in sheet
    sign_in(web_client, "coordinator")
    start, end = WEEK.isoformat(), (WEEK + dt.timedelta(days=7)).isoformat()
    found = web_client.get(f"/api/events?start={start}&end={end}&calendar=bfu").get_json()
    assert found and {event["backgroundColor"] for event in found} == {bfu.group(1)}


def test_an_event_over_several_days_is_on_each_of_them(
    web_client: Any, web_runtime: Runtime
) -> None:
    from helpers import make_event
    from web_support import at

    from calhub.dav.importer import import_objects

    calendar = web_runtime.settings.calendar("bfu")
    assert calendar is not None
    body = make_event("w-bfu-school", "Выездная школа [8]", at(1, 10), at(3, 12))
    import_objects(web_runtime, calendar, [body])
    sign_in(web_client, "coordinator")
    page = board(web_client)
    days = [d for d in DAYS if "Выездная школа" in cell(page, "8", d)]
    assert days == DAYS[1:4]
    assert "10:00" in words(cell(page, "8", DAYS[1]))
    assert "→ Выездная школа" in words(cell(page, "8", DAYS[2]))
    assert "Выездная школа" not in cell(page, "7", DAYS[2])


def test_the_board_offers_its_range_as_files(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    page = text(web_client.get(f"/board?date={WEEK}"))
    links = re.findall(r'href="(/export\?[^"]+)"', page)
    assert len(links) == 4
    assert all(f"from={WEEK}" in html.unescape(link) for link in links)
