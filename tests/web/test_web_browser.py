"""The pages in a real browser: headless Chromium (Debian's), driven by Playwright, against
a real ``calhub demo`` subprocess on 127.0.0.1.

Skipped, with the reason, only when Chromium or Playwright is missing outside CI; in CI
(``CI`` set) a missing browser fails the run instead. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import DESKTOP, PHONE, Page
from helpers import make_event

from calhub.engine import Audience, AudienceParser

XSS_TITLES = (
    "<script>window.__xss = 1</script> [1А]",
    '"><img src=x onerror="window.__xss=2"> [1Б]',
)


@pytest.fixture(scope="module")
def demo(module_hubs: Any) -> Any:
    """``calhub demo`` on a fresh data directory, exactly as a person starts it."""
    hub = module_hubs.serve(module_hubs.tmp_path / "demo", command="demo", timeout=180)
    day = dt.date.today() + dt.timedelta(days=1)
    for number, title in enumerate(XSS_TITLES):
        start = dt.datetime.combine(day, dt.time(21, 0)) + dt.timedelta(hours=number)
        uid = f"xss-{number}"
        body = make_event(
            uid,
            title,
            start,
            start + dt.timedelta(minutes=45),
            description="<script>window.__xss = 3</script>",
        )
        response = hub.request(
            "PUT",
            f"/dav/bfu/calendar/{uid}.ics",
            "bfu",
            "demo-bfu",
            body=body,
            headers={"Content-Type": "text/calendar; charset=utf-8"},
        )
        assert response.status == 201, response.text
    hub.xss_day = day
    return hub


@pytest.fixture
def desktop(browser: Any, demo: Any) -> Iterator[Page]:
    tab = Page(browser, demo.url, DESKTOP)
    try:
        yield tab
        assert tab.problems == [], "console errors (CSP?):\n" + "\n".join(tab.problems)
    finally:
        tab.close()


def first_open_hard_clash(demo: Any) -> dict[str, Any]:
    response = demo.request(
        "GET", "/api/conflicts?status=open&severity=hard", "coordinator", "demo-coordinator"
    )
    records: list[dict[str, Any]] = json.loads(response.text)
    assert records, "the demo has hard clashes"
    return records[0]


def test_coordinator_month_filter_event_and_approve(desktop: Page, demo: Any) -> None:
    page = desktop.page
    desktop.sign_in("coordinator")
    page.wait_for_selector(".fc-daygrid-event")
    before = desktop.open_count()
    assert before == 10, "the demo has ten genuine clashes"
    assert page.locator("#agenda").is_hidden(), "on a desktop the grid replaces the list"
    desktop.shot("month-desktop")

    # Filter by grade: the drop-down applies at once; every event shown meets grade 10.
    everything = page.locator(".fc-event").count()
    page.select_option("select[name=grade]", "10")
    page.wait_for_url(re.compile(r"grade=10"))
    page.wait_for_selector(".fc-daygrid-event")
    shown = page.locator(".fc-event")
    assert 0 < shown.count() < everything
    parser = AudienceParser()
    for tooltip in shown.evaluate_all("els => els.map(e => e.title)"):
        audience = parser.parse(tooltip.rsplit(" · ", 1)[-1])
        assert audience is not None and audience.intersects(Audience(frozenset({10}))), tooltip

    # Open an event that clashes: its details and its clash appear in a dialog.
    record = first_open_hard_clash(demo)
    occurrence = record["occurrences"][0]
    day = dt.datetime.fromisoformat(occurrence["start"].replace("Z", "+00:00")).date()
    desktop.goto(f"/plan?view=month&date={day.isoformat()}")
    page.wait_for_selector(".fc-daygrid-event")
    page.locator(".fc-event.clash-hard", has_text=occurrence["summary"][:20]).first.click()
    dialog = page.locator("#event-dialog")
    dialog.wait_for(state="visible")
    details = dialog.inner_text()
    for label in ("Когда", "Календарь", "Место", "Для", "Накладки"):
        assert label in details
    assert occurrence["summary"] in details
    assert record["message"]["ru"][:30] in details
    desktop.shot("event-dialog-desktop")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    # Approve it with a comment: the count of open clashes drops.
    desktop.goto("/conflicts")
    card = page.locator(f"#clash-{record['id']}")
    card.locator("input[name=comment]").fill("Группы разведены по времени")
    card.locator("button.primary").click()
    page.wait_for_selector(".flash-ok")
    assert desktop.open_count() == before - 1
    assert page.locator(f"#clash-{record['id']}").count() == 0
    desktop.goto(f"/conflicts/{record['id']}")
    assert "Группы разведены по времени" in page.inner_text("main")
    desktop.shot("conflicts-after-approval")


def test_hostile_titles_are_inert_in_the_browser(desktop: Page, demo: Any) -> None:
    page = desktop.page
    desktop.sign_in("coordinator")
    for view in ("month", "week", "agenda"):
        desktop.goto(f"/plan?view={view}&date={demo.xss_day.isoformat()}")
        where = "#agenda .ev-title" if view == "agenda" else "#calendar .fc-event"
        # "attached": in a full month cell the event may sit behind "+N more".
        page.locator(where, has_text="<script>window.__xss = 1</script>").first.wait_for(
            state="attached"
        )
        page.locator(where, has_text='"><img src=x').first.wait_for(state="attached")
        assert page.evaluate("window.__xss") is None, view
        assert page.locator("img[src=x]").count() == 0, view
        assert page.locator("main img").count() == 0, view
    desktop.goto(f"/plan?view=week&date={demo.xss_day.isoformat()}")
    page.locator(".fc-event", has_text="<script>").first.click()
    page.locator("#event-dialog").wait_for(state="visible")
    assert "<script>window.__xss = 3</script>" in page.inner_text("#event-dialog .description")
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x]").count() == 0


def test_a_partner_sees_its_clashes_without_the_approve_buttons(browser: Any, demo: Any) -> None:
    tab = Page(browser, demo.url, DESKTOP)
    try:
        tab.sign_in("kgtu")
        tab.goto("/conflicts")
        page = tab.page
        assert page.locator(".approve-form").count() == 0
        cards = page.locator("article.clash")
        assert cards.count() == tab.open_count() > 0
        for text in cards.all_inner_texts():
            assert "КГТУ" in text
        assert tab.problems == []
        tab.goto("/partners/bfu")
        assert "404" in page.inner_text("main")
    finally:
        tab.close()


def test_find_a_time_form_lists_free_slots(desktop: Page) -> None:
    page = desktop.page
    desktop.sign_in("bfu")
    page.click("nav.mainnav a[href='/slots']")
    page.wait_for_url(re.compile(r"/slots$"))
    assert page.locator(".found-slot").count() == 0
    monday = dt.date.fromisoformat(page.input_value("input[name=from]"))
    assert monday.weekday() == 0
    page.fill("input[name=audience]", "10А")
    page.fill("input[name=duration]", "60")
    page.fill("input[name=to]", (monday + dt.timedelta(days=4)).isoformat())
    page.click("#find-form button[type=submit]")
    page.wait_for_url(re.compile(r"audience=10"))
    page.wait_for_selector(".found-slot")
    assert page.locator(".found-slot").count() == 10
    days = page.locator("h3.found-day").all_inner_texts()
    assert days and all(re.match(r"^[А-Я][а-я]+, \d{1,2} [а-я]+$", d) for d in days), days
    first = page.locator(".found-slot").first.inner_text()
    assert re.match(r"^\d\d:\d\d–\d\d:\d\d", first) and "свободно" in first
    assert page.input_value("input[name=audience]") == "10А"
    desktop.shot("slots-desktop")
    # In print the results stand alone: the form goes, the slots keep their shape and word.
    page.emulate_media(media="print")
    assert page.locator("#find-form").is_hidden()
    printed = page.locator(".found-slot").first
    assert printed.is_visible() and "●" in printed.inner_text()
    page.emulate_media(media="screen")

    # A search the finder cannot read: the page again, 400, with the message and the form.
    page.fill("input[name=duration]", "полтора")
    with page.expect_response(re.compile(r"/slots\?")) as answer:
        page.click("#find-form button[type=submit]")
    assert answer.value.status == 400
    assert "Длительность 'полтора' не понята" in page.inner_text(".find-error")
    assert page.input_value("input[name=duration]") == "полтора"
    # Chromium logs every 4xx page it loads; this one was asked for, any other still fails.
    logged = [p for p in desktop.problems if "status of 400" in p]
    assert len(logged) == 1
    desktop.problems.remove(logged[0])


def first_default_audience_event(demo: Any) -> dict[str, Any]:
    """An event of the demo term that names no audience (the calendar's default is used)."""
    first = dt.date.today().replace(day=1)
    for month in range(6):
        start = (first + dt.timedelta(days=32 * month)).replace(day=1)
        path = f"/api/events?start={start.isoformat()}"
        found = json.loads(demo.request("GET", path, "coordinator", "demo-coordinator").text)
        flagged = [e for e in found if e["default_audience"] and not e["allDay"]]
        if flagged:
            return dict(flagged[0])
    raise AssertionError("the demo term has no event with the default audience")


def test_the_month_grid_marks_default_audience_events(desktop: Page, demo: Any) -> None:
    page = desktop.page
    desktop.sign_in("coordinator")
    event = first_default_audience_event(demo)
    day = event["start"][:10]
    desktop.goto(f"/plan?view=month&date={day}")
    page.wait_for_selector(".fc-daygrid-event")
    # "attached": in a full month cell the event may sit behind "+N more".
    target = page.locator(".fc-event.audience-default", has_text=event["title"][:20]).first
    target.wait_for(state="attached")
    mark = target.locator(".audience-mark")
    assert mark.text_content() == "◌"
    assert mark.get_attribute("role") == "img"
    assert mark.get_attribute("aria-label") == "аудитория по умолчанию"
    assert "[10А]" in (mark.get_attribute("title") or "")
    assert "аудитория по умолчанию" in (target.get_attribute("title") or "")
    # Only flagged events carry it, and the legend shows the same mark with its meaning.
    assert page.locator(".fc-event:not(.audience-default) .audience-mark").count() == 0
    legend = page.locator("details.legend")
    legend.locator("summary").click()
    assert "◌ аудитория по умолчанию" in legend.inner_text()
    desktop.shot("month-default-audience")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_screenshots_of_the_main_pages(browser: Any, demo: Any, viewport: str) -> None:
    """Saved for people to look at (tests/artifacts/); the checks only guard the layout."""
    tab = Page(browser, demo.url, DESKTOP if viewport == "desktop" else PHONE)
    try:
        tab.sign_in("coordinator")
        page = tab.page
        for name, path in (
            ("month", "/plan"),
            ("week", "/plan?view=week"),
            ("conflicts", "/conflicts"),
            ("partner", "/partners/bfu"),
            ("slots", "/slots?audience=10%D0%90&duration=90"),
        ):
            tab.goto(path)
            if name in ("month", "week"):
                page.wait_for_selector(".fc-event")
            if name == "slots":
                page.wait_for_selector(".found-slot")
            tab.shot(f"{name}-{viewport}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= page.viewport_size["width"] + 1, f"{name} scrolls sideways"
        assert tab.problems == []
    finally:
        tab.close()


def test_the_grade_board_on_a_desktop_and_a_phone(browser: Any, demo: Any) -> None:
    """/board at 1366 and 390 px: clash cells, the grade column fixed while the phone scrolls
    sideways, a chip leading to its event; screenshots for people (tests/artifacts/)."""
    occurrence = first_open_hard_clash(demo)["occurrences"][0]
    day = dt.datetime.fromisoformat(occurrence["start"].replace("Z", "+00:00")).date()
    path = f"/board?date={day.isoformat()}"

    tab = Page(browser, demo.url, DESKTOP)
    try:
        tab.sign_in("coordinator")
        page = tab.page
        tab.goto(path)
        assert page.locator(".mainnav a[aria-current=page]").inner_text() == "Доска"
        hard = page.locator("td.cell-hard")
        assert hard.count() > 0, "the demo's hard clash shows on its day"
        assert "накладка" in hard.first.inner_text()
        assert page.locator(".chip.cal-blackout").count() == 0, "closed days are background"
        tab.shot("board-desktop")
        assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"] + 1
        # Printed: the board and its legend, no menus, filters or buttons.
        page.emulate_media(media="print")
        for hidden in (".topbar", ".board-head .toolbar", ".filter-box", ".footer"):
            assert page.locator(hidden).is_hidden(), hidden
        assert page.locator("#board").is_visible() and page.locator(".board-legend").is_visible()
        page.emulate_media(media="screen")
        tab.goto(f"{path}&view=month")
        page.locator("td.cell").first.wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"] + 1
        tab.shot("board-month-desktop")

        # A chip of a clashing event opens that event.
        tab.goto(path)
        chip = page.locator("td.cell-hard a.chip.chip-hard").first
        title = chip.get_attribute("title") or ""
        chip.click()
        page.wait_for_url(re.compile(r"/plan/event\?"))
        heading = page.locator("main h1, main h2").first.inner_text()
        assert heading and heading in title, (heading, title)
        assert tab.problems == []
    finally:
        tab.close()

    phone = Page(browser, demo.url, PHONE)
    try:
        phone.sign_in("coordinator")
        page = phone.page
        phone.goto(f"{path}&view=month")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        phone.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, "the page itself does not scroll sideways"
        scroller = page.locator("#board-scroll")
        assert scroller.evaluate("e => e.scrollWidth > e.clientWidth"), "the board does"
        grade = page.locator("tr.grade-row th.row-head").nth(9)
        monday = page.locator("tr.grade-row").nth(9).locator("td").first
        before_grade, before_day = grade.bounding_box(), monday.bounding_box()
        scroller.evaluate("e => { e.scrollLeft = 300; }")
        page.wait_for_function("document.getElementById('board-scroll').scrollLeft >= 300")
        after_grade, after_day = grade.bounding_box(), monday.bounding_box()
        assert before_grade and after_grade and before_day and after_day
        assert abs(after_grade["x"] - before_grade["x"]) < 1, "the grade column stays put"
        assert before_day["x"] - after_day["x"] > 250, "the days scroll under it"
        scroller.evaluate("e => { e.scrollLeft = 0; }")
        phone.shot("board-phone")
        assert phone.problems == []
    finally:
        phone.close()


def test_a_clash_written_over_caldav_shows_live(desktop: Page, demo: Any) -> None:
    """Issue 15: an open clash list and the badge show a new clash within 2 s, no reload,
    and a card whose comment is being typed stays the very same, with its text."""
    page = desktop.page
    desktop.sign_in("coordinator")
    desktop.goto("/conflicts")
    before = desktop.open_count()
    total_before = page.inner_text("#clash-total")
    # The page's own document: a reload would make a new one, without this mark.
    page.evaluate("window.__sameDocument = true")
    # The board's hook: every change is a DOM event with the new state.
    page.evaluate(
        "window.__changes = []; document.addEventListener('calhub:changed', "
        "e => window.__changes.push(e.detail))"
    )
    card = page.locator("article.clash").first
    card_id = card.get_attribute("id")
    comment = card.locator("input[name=comment]")
    comment.fill("Пишу комментарий")
    card.evaluate("el => { el.__kept = true; }")
    page.wait_for_function("() => window.fetch && document.getElementById('live-status')")
    page.wait_for_timeout(1500)  # live.js opens its stream a moment after the page is up

    start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=1), dt.time(7, 0))
    end = start + dt.timedelta(hours=1)
    written = []
    for login, uid, title in (
        ("bfu", "live-bfu", "Живая лекция [10А]"),
        ("kgtu", "live-kgtu", "Живой практикум [10А]"),
    ):
        response = demo.request(
            "PUT",
            f"/dav/{login}/calendar/{uid}.ics",
            login,
            f"demo-{login}",
            body=make_event(uid, title, start, end),
            headers={"Content-Type": "text/calendar; charset=utf-8"},
        )
        assert response.status == 201, response.text
        written.append((login, uid))
    try:
        # Within 2 s of the second PUT: the badge, the count and the new card.
        page.wait_for_function(
            "n => Number(document.getElementById('open-count').textContent) > n",
            arg=before,
            timeout=2000,
        )
        page.locator("article.clash", has_text="Живой практикум").first.wait_for(timeout=2000)
        assert page.inner_text("#clash-total") != total_before
        assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
        changes = page.evaluate("window.__changes")
        assert changes and changes[-1]["open"] > before, changes
        assert changes[-1]["hard"] + changes[-1]["soft"] == changes[-1]["open"]
        kept = page.locator(f"#{card_id}")
        assert kept.evaluate("el => el.__kept === true"), "the card being typed in was replaced"
        assert kept.locator("input[name=comment]").input_value() == "Пишу комментарий"
        assert kept.locator("input[name=comment]").evaluate("el => el === document.activeElement")
        assert "обновлён" in page.inner_text("#clash-list-status")
        assert page.get_attribute("#live-status", "aria-live") == "polite"
        desktop.shot("conflicts-live")
    finally:
        for login, uid in written:
            demo.request("DELETE", f"/dav/{login}/calendar/{uid}.ics", login, f"demo-{login}")
    # Deleting them resolves the clash: the badge goes back by itself too.
    page.wait_for_function(
        "n => Number(document.getElementById('open-count').textContent) === n",
        arg=before,
        timeout=3000,
    )
    assert page.evaluate("window.__sameDocument") is True


def test_without_server_sent_events_the_page_polls(browser: Any, demo: Any) -> None:
    """Where EventSource is missing (or the stream is refused), live.js polls /api/live
    every 1.5 s with If-None-Match: 304s while nothing changes, the badge within 2 s."""
    tab = Page(browser, demo.url, DESKTOP)
    try:
        tab.context.add_init_script("delete window.EventSource;")
        statuses: list[int] = []
        tab.page.on(
            "response",
            lambda r: statuses.append(r.status) if r.url.endswith("/api/live") else None,
        )
        tab.sign_in("bfu")
        tab.goto("/plan?view=agenda")
        before = tab.open_count()
        tab.page.wait_for_timeout(4000)
        assert 304 in statuses, statuses
        assert all(status in (200, 304) for status in statuses), statuses
        start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=2), dt.time(7, 0))
        end = start + dt.timedelta(hours=1)
        written = []
        for login, uid in (("bfu", "poll-bfu"), ("kgtu", "poll-kgtu")):
            response = demo.request(
                "PUT",
                f"/dav/{login}/calendar/{uid}.ics",
                login,
                f"demo-{login}",
                body=make_event(uid, f"Опрос {login} [9А]", start, end),
                headers={"Content-Type": "text/calendar; charset=utf-8"},
            )
            assert response.status == 201, response.text
            written.append((login, uid))
        try:
            tab.page.wait_for_function(
                "n => Number(document.getElementById('open-count').textContent) > n",
                arg=before,
                timeout=2000,
            )
            assert "Открытых накладок" in (tab.page.text_content("#live-status") or "")
        finally:
            for login, uid in written:
                demo.request("DELETE", f"/dav/{login}/calendar/{uid}.ics", login, f"demo-{login}")
        tab.page.wait_for_function(
            "n => Number(document.getElementById('open-count').textContent) === n",
            arg=before,
            timeout=3000,
        )
        assert tab.problems == []
    finally:
        tab.close()


def test_import_page_upload_report_confirm(desktop: Page) -> None:
    """The coordinator uploads a sheet, reads the report and confirms, in a real browser
    (the page's CSP, the multipart upload, the kept file between the two steps)."""
    day = dt.date.today() + dt.timedelta(days=9)
    sheet = (
        "Дата;Время;Партнёр;Мероприятие;Классы\n"
        f"{day:%d.%m.%Y};19:00–20:00;БФУ;Импорт из браузера;8\n"
    ).encode()
    desktop.sign_in("coordinator")
    desktop.goto("/import")
    desktop.page.set_input_files(
        "input[name=sheet]", files=[{"name": "plan.csv", "mimeType": "text/csv", "buffer": sheet}]
    )
    desktop.page.click("#upload-form button[type=submit]")
    desktop.page.wait_for_selector("#import-report")
    assert desktop.page.text_content("#rows-ok") == "1"
    desktop.shot("import-report-desktop")
    desktop.page.click("#confirm-form button[type=submit]")
    desktop.page.wait_for_selector("#import-done")
    desktop.goto(f"/plan?view=list&date={day:%Y-%m-%d}")
    desktop.page.wait_for_selector("text=Импорт из браузера")
