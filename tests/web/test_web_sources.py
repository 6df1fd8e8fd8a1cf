"""The coordinator's sources page: add a source (CSRF), see what its syncs did and its last
error in plain words, ask for a sync now, remove it with its events; partners get 403 and a
bad address a 400 that says what to fix."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sources_support import FeedServer, feed, feed_server, vevent
from web_support import csrf_in, sign_in, text

from calhub.runtime import Runtime
from calhub.sources.sync import sync_source

UID = "web-lecture@bfu.example"
LECTURE = vevent(UID, "Лекция", "20270501T150000", "20270501T160000")


@pytest.fixture
def partner_feed() -> Iterator[FeedServer]:
    yield from feed_server()


def test_the_coordinator_adds_sees_syncs_and_removes_a_source(
    web_client: Any, web_runtime: Runtime, partner_feed: FeedServer
) -> None:
    partner_feed.serve(feed(LECTURE))
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/sources"))
    assert "No sources yet." in page or "Источников пока нет." in page
    posted = web_client.post(
        "/sources",
        data={
            "csrf_token": csrf_in(page),
            "partner": "bfu",
            "url": partner_feed.url,
            "kind": "ics",
            "every": "30m",
        },
    )
    assert posted.status_code == 303, text(posted)[:500]
    [source] = web_runtime.sources.query()
    assert source.interval_seconds == 1800 and source.created_by == "coordinator"

    sync_source(web_runtime, source.id)
    page = text(web_client.get("/sources"))
    row = re.search(rf'<tr id="source-{source.id}".*?</tr>', page, re.S)
    assert row, page
    assert re.search(r"(added|добавлено) 1", row.group(0))

    # The event's page says where it comes from and offers no edit; an edit is refused.
    shown = text(web_client.get("/plan/event", query_string={"calendar": "bfu", "uid": UID}))
    assert f"source {source.id}" in shown or f"источника {source.id}" in shown, shown
    assert "/plan/event/edit" not in shown
    edit = web_client.post(
        "/plan/event/edit",
        data={
            "csrf_token": csrf_in(page),
            "calendar": "bfu",
            "uid": UID,
            "summary": "Правка",
            "date": "2027-05-01",
            "start": "15:00",
            "end": "16:00",
        },
    )
    assert edit.status_code == 403
    assert "127.0.0.1" in html.unescape(text(edit))

    partner_feed.state.status = 500
    web_runtime.sources.forget_versions(source.id)
    sync_source(web_runtime, source.id)
    row = re.search(rf'<tr id="source-{source.id}".*?</tr>', text(web_client.get("/sources")), re.S)
    assert row and "500" in html.unescape(row.group(0)) and "failing" in row.group(0)

    token = csrf_in(page)
    assert (
        web_client.post(f"/sources/{source.id}/sync", data={"csrf_token": token}).status_code == 303
    )
    due = web_runtime.sources.due()
    assert source.id in due
    removed = web_client.post(f"/sources/{source.id}/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    assert web_runtime.sources.query() == []
    assert web_runtime.index.href_of("bfu", "web-lecture@bfu.example") is None


def test_mistakes_and_rights(web_client: Any, web_runtime: Runtime) -> None:
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/sources"))
    bad = web_client.post(
        "/sources",
        data={"csrf_token": csrf_in(page), "partner": "bfu", "url": "ftp://x.example/a.ics"},
    )
    assert bad.status_code == 400
    assert "http" in text(bad) and 'id="source-error"' in text(bad)
    no_csrf = web_client.post("/sources", data={"partner": "bfu", "url": "https://x.example/a"})
    assert no_csrf.status_code == 400
    assert web_runtime.sources.query() == []

    partner = web_client.application.test_client()
    sign_in(partner, "bfu")
    assert partner.get("/sources").status_code == 403
