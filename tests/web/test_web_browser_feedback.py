"""Feedback in a real browser: a student fills the form on a phone-sized screen (headless
Chromium against a real ``calhub demo`` on 127.0.0.1), the coordinator approves the comment
on the dashboard, and the partner then sees it. No console errors (CSP) on the way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import DESKTOP, PHONE, Page

from calhub.feedback.links import LinkTarget, feedback_keys
from calhub.hub import Hub
from calhub.runtime import Runtime

COMMENT = "Браузерный отзыв: очень понравились опыты"


@pytest.fixture
def tabs(browser: Any, demo: Any) -> Iterator[dict[str, Page]]:
    opened = {
        "phone": Page(browser, demo.url, PHONE),
        "coordinator": Page(browser, demo.url, DESKTOP),
        "bfu": Page(browser, demo.url, DESKTOP),
    }
    try:
        yield opened
        for name, tab in opened.items():
            assert tab.problems == [], f"console errors in {name}:\n" + "\n".join(tab.problems)
    finally:
        for tab in opened.values():
            tab.close()


def open_event_link(demo: Any) -> tuple[str, str]:
    """The form path and title of a БФУ event held in the last days (its form is open)."""
    hub = Hub(demo.data_dir)
    runtime = Runtime(hub)
    try:
        now = dt.datetime.now(dt.UTC)
        held = [
            o
            for o in runtime.index.overlapping(now - dt.timedelta(days=10), now)
            if o.calendar == "bfu" and o.end < now
        ]
        assert held, "the demo has БФУ events in the last days"
        occurrence = max(held, key=lambda o: o.end)
        token = feedback_keys(hub).token(
            LinkTarget(occurrence.calendar, occurrence.uid, occurrence.recurrence_id)
        )
        return "/f/" + token, occurrence.summary
    finally:
        runtime.close()


def test_a_phone_answers_and_the_coordinator_approves(demo: Any, tabs: dict[str, Page]) -> None:
    path, title = open_event_link(demo)
    phone = tabs["phone"]
    phone.goto(path)
    page = phone.page
    assert page.text_content("#feedback-title") == title
    # The form fits the phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator("input[name=website]").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 0, "the honeypot is out of sight"
    page.click("label.rating-choice:has(input[value='4'])")
    page.check("input[name=recommend][value=yes]")
    page.fill("textarea[name=comment]", COMMENT)
    phone.shot("feedback-phone-form")
    page.wait_for_timeout(3200)  # [feedback] min_form_seconds = 3: a person takes longer
    page.click("#feedback-send")
    page.wait_for_selector("#feedback-done")
    assert "Спасибо" in (page.text_content("#feedback-done") or "")
    # The same phone again: already answered.
    response = phone.goto(path)
    assert response is not None and response.status == 409
    # Chromium logs every 4xx page load as a console error: this one was asked for.
    phone.problems = [p for p in phone.problems if "409" not in p]

    coordinator = tabs["coordinator"]
    coordinator.sign_in("coordinator")
    coordinator.goto("/feedback/")
    card = coordinator.page.locator(".comment-card", has_text=COMMENT)
    assert card.count() == 1
    coordinator.shot("feedback-moderation")
    card.locator("button[value=approve]").click()
    coordinator.page.wait_for_selector(".flash")
    assert coordinator.page.locator(".comment-card", has_text=COMMENT).count() == 0

    partner = tabs["bfu"]
    partner.sign_in("bfu")
    partner.goto("/feedback/")
    assert partner.page.locator(".feedback-row", has_text=COMMENT).count() == 1
    assert partner.page.locator("#moderation").count() == 0
