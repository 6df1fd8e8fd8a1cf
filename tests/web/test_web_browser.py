"""The pages in a real browser: headless Chromium (Debian's), driven by Playwright, against
a real ``calhub demo`` subprocess on 127.0.0.1.

Skipped, with the reason, only when Chromium or Playwright is missing outside CI; in CI
(``CI`` set) a missing browser fails the run instead. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import make_event

from calhub.engine import Audience, AudienceParser
from calhub.web import assets

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
XSS_TITLES = (
    "<script>window.__xss = 1</script> [1А]",
    '"><img src=x onerror="window.__xss=2"> [1Б]',
)


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the browser tests: .ci/run installs Chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require(False, "Playwright is missing: pip install -e '.[test]'")
        raise
    _require(assets.fullcalendar_available(), "FullCalendar was not fetched at build time (npm)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


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


class Page:
    """A signed-in tab that records console errors (CSP violations among them)."""

    def __init__(self, browser: Any, base: str, viewport: dict[str, int]) -> None:
        self.context = browser.new_context(viewport=viewport, locale="ru-RU")
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.base = base.rstrip("/")
        self.problems: list[str] = []
        self.page.on(
            "console",
            lambda m: self.problems.append(m.text) if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def sign_in(self, login: str) -> None:
        self.goto("/login")
        self.page.fill("input[name=login]", login)
        self.page.fill("input[name=password]", f"demo-{login}")
        self.page.click("form.stack button[type=submit]")
        self.page.wait_for_url(re.compile(r"/plan"))

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def open_count(self) -> int:
        return int(self.page.text_content("#open-count") or "-1")

    def close(self) -> None:
        self.context.close()


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
        ):
            tab.goto(path)
            if name in ("month", "week"):
                page.wait_for_selector(".fc-event")
            tab.shot(f"{name}-{viewport}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= page.viewport_size["width"] + 1, f"{name} scrolls sideways"
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
