"""The reports page in a real browser (headless Chromium, Playwright) against ``calhub
demo``: the charts are drawn on their canvases by Chart.js, with no console or CSP error,
for the coordinator (every partner) and a partner (its own row). Screenshots go to
tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import DESKTOP, PHONE, Page, checked_page, require

from calhub.web import assets

CHARTS = ("chart-partners", "chart-clashes", "chart-grades")
# How many pixels of a canvas are painted (alpha > 0): a chart drawn has its bars, axes
# and labels; an empty canvas has none.
PAINTED = """(id) => {
  const canvas = document.getElementById(id);
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) { painted += 1; } }
  return painted;
}"""


@pytest.fixture
def tab(browser: Any, demo: Any) -> Iterator[Page]:
    require(assets.chartjs_available(), "Chart.js was not fetched at build time (npm)")
    with checked_page(browser, demo.url, DESKTOP) as page:
        yield page


def drawn(tab: Page) -> None:
    for chart in CHARTS:
        tab.page.wait_for_selector(f"#{chart}[data-drawn='1']")
        assert tab.page.evaluate(PAINTED, chart) > 500, chart


def test_coordinator_charts_are_drawn(tab: Page) -> None:
    tab.sign_in("coordinator")
    tab.goto("/reports")
    drawn(tab)
    rows = tab.page.locator("#report-partners tbody tr")
    assert rows.count() >= 5
    assert tab.page.locator("#charts-missing").count() == 0
    assert int(tab.page.text_content("#fig-events") or "0") > 0
    tab.shot("reports-coordinator")


def test_partner_sees_its_row_and_charts(tab: Page) -> None:
    tab.sign_in("bfu")
    tab.goto("/reports")
    drawn(tab)
    rows = tab.page.locator("#report-partners tbody tr")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-partner") == "bfu"


def test_picking_a_term_reloads_the_report(tab: Page) -> None:
    tab.sign_in("coordinator")
    tab.goto("/reports")
    options = tab.page.locator("#report-preset option")
    assert options.count() >= 3
    second = options.nth(2).get_attribute("value")
    tab.page.select_option("#report-preset", second)
    tab.page.click("#report-range button[type=submit]")
    tab.page.wait_for_url(f"**preset={second}**")
    drawn(tab)


def test_on_a_phone_the_page_does_not_scroll_sideways(browser: Any, demo: Any) -> None:
    require(assets.chartjs_available(), "Chart.js was not fetched at build time (npm)")
    with checked_page(browser, demo.url, PHONE) as phone:
        phone.sign_in("coordinator")
        phone.goto("/reports")
        drawn(phone)
        page = phone.page
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        phone.shot("reports-phone")
