"""What the browser tests share: Debian's Chromium driven by Playwright, a signed-in tab that
records console errors (CSP violations among them), and where screenshots go.

Skipped, with the reason, only when Chromium or Playwright is missing outside CI; in CI
(``CI`` set) a missing browser fails the run instead.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the browser tests: .ci/run installs Chromium)")
    pytest.skip(reason)


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium for one test module."""
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "Playwright is missing: pip install -e '.[test]'")
        raise
    require(assets.fullcalendar_available(), "FullCalendar was not fetched at build time (npm)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


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


@contextlib.contextmanager
def checked_page(browser: Any, base_url: str, viewport: dict[str, int]) -> Iterator[Page]:
    """A page for one test that fails it on any console error or page error (CSP included)
    seen while the test ran, and is closed whatever happens."""
    opened = Page(browser, base_url, viewport)
    try:
        yield opened
        assert opened.problems == [], "console errors (CSP?):\n" + "\n".join(opened.problems)
    finally:
        opened.close()
