"""The audit log in a real browser (issue 19): headless Chromium against a real ``calhub
demo``. A partner's phone writes an event over CalDAV; the coordinator finds it on «Журнал
изменений» with the login and address, filters by calendar and downloads the CSV; a partner
has no such link and sees only its own calendar's entries. No console errors (CSP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import DESKTOP, Page, checked_page
from helpers import dav_client, make_event, unique_slot


@pytest.fixture
def tab(browser: Any, demo: Any) -> Iterator[Page]:
    with checked_page(browser, demo.url, DESKTOP) as opened:
        yield opened


def phone_writes(demo: Any, login: str, uid: str, title: str) -> None:
    client = dav_client(demo.url + "dav/", login, f"demo-{login}")
    calendar = client.calendar(url=demo.url + f"dav/{login}/calendar/")
    calendar.save_event(make_event(uid, title, *unique_slot()))


def test_the_coordinator_finds_a_phone_write_filters_and_downloads(tab: Page, demo: Any) -> None:
    phone_writes(demo, "bfu", "browser-audit-1", "Открытая лекция по химии [10]")
    tab.sign_in("coordinator")
    tab.page.click("nav.mainnav >> text=Журнал изменений")
    tab.page.wait_for_url("**/audit")
    row = tab.page.locator("table.audit-log tr", has_text="Открытая лекция по химии")
    assert row.count() == 1
    assert "127.0.0.1" in row.inner_text() and "создано" in row.inner_text()
    tab.shot("audit-log")
    tab.page.select_option("select[name=calendar]", "bfu")
    tab.page.click("form.filters button[type=submit]")
    tab.page.wait_for_url("**/audit?*calendar=bfu*")
    assert tab.page.locator("table.audit-log tr", has_text="Открытая лекция по химии").count()
    with tab.page.expect_download() as waiting:
        tab.page.click("text=Скачать CSV")
    download = waiting.value
    path = download.path()
    assert path is not None
    body = Path(path).read_text(encoding="utf-8-sig")
    assert "Открытая лекция по химии" in body and "browser-audit-1" in body


def test_a_partner_sees_only_its_own_entries(tab: Page, demo: Any) -> None:
    phone_writes(demo, "kgtu", "browser-audit-2", "Экскурсия в порт [9]")
    phone_writes(demo, "bfu", "browser-audit-3", "Семинар БФУ [11]")
    tab.sign_in("kgtu")
    assert tab.page.locator("nav.mainnav >> text=Журнал изменений").count() == 0
    tab.goto("/audit")
    table = tab.page.locator("table.audit-log").inner_text()
    assert "Экскурсия в порт" in table and "Семинар БФУ" not in table
