"""The public page (``[public] enabled``): off by default (404), on it lists the coming weeks'
events per grade without a sign-in or a cookie, may be framed where ``frame_ancestors``
allows, marks events of an open hard clash as not settled, hides private events' text, and
serves each grade's feed through the feed path (ETag, 304)."""

from __future__ import annotations

import re
from typing import Any

import icalendar
import pytest
from helpers import make_event
from web_support import at, text

from calhub.dav.importer import import_objects
from calhub.hub import configfile
from calhub.runtime import Runtime


def set_public(runtime: Runtime, **values: Any) -> None:
    document = configfile.read_document(runtime.hub.root)
    document["public"] = values
    configfile.save_document(runtime.hub.root, document)


def grade_section(page: str, grade: int) -> str:
    match = re.search(rf'<section class="grade" id="grade-{grade}".*?</section>', page, re.S)
    assert match, f"no section of grade {grade}"
    return match.group(0)


@pytest.fixture
def public_on(web_runtime: Runtime) -> Runtime:
    """The sample hub with the public page on, embeddable by the school's site."""
    set_public(
        web_runtime,
        enabled=True,
        weeks=8,
        frame_ancestors="https://school.example",
        url="https://calendar.school.example",
    )
    return web_runtime


def test_the_public_page_and_its_feeds_are_404_while_off(web_client: Any) -> None:
    for path in ("/public/", "/public", "/public/10.ics"):
        assert web_client.get(path).status_code == 404, path


def test_the_public_page_lists_each_grades_events_without_a_sign_in(
    web_client: Any, public_on: Runtime
) -> None:
    response = web_client.get("/public/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers, "an embedded page must not start a session"
    page = text(response)
    assert "csrf_token" not in page
    tenth = grade_section(page, 10)
    assert "Лекция по физике [10-11]" in tenth and "Практикум [10А]" in tenth
    assert "БФУ, ул. Невского, 14, ауд. 112" in tenth
    assert "Концерт [5]" not in tenth and "Концерт [5]" in grade_section(page, 5)
    assert "Выходной" not in page, "blackout periods are not events"
    # The grade's feed, as https and webcal, with its QR code.
    assert "https://calendar.school.example/public/10.ics" in tenth
    assert 'href="webcal://calendar.school.example/public/10.ics"' in tenth
    assert "<svg" in tenth
    # Titles are escaped like everywhere else.
    assert "<script>window.__xss" not in page


def test_the_public_page_may_be_framed_where_the_settings_allow(
    web_client: Any, public_on: Runtime
) -> None:
    response = web_client.get("/public/")
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors https://school.example" in policy
    assert "frame-ancestors 'none'" not in policy
    assert response.headers["X-Frame-Options"] != "DENY"
    assert response.headers["Cache-Control"].startswith("public")
    # Every other page still refuses to be framed.
    other = web_client.get("/login")
    assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"]
    assert other.headers["X-Frame-Options"] == "DENY"


def test_with_the_default_frame_ancestors_nobody_may_frame_it(
    web_client: Any, web_runtime: Runtime
) -> None:
    set_public(web_runtime, enabled=True)
    response = web_client.get("/public/")
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_an_event_in_an_open_hard_clash_is_marked_until_approved(
    web_client: Any, public_on: Runtime
) -> None:
    tenth = grade_section(text(web_client.get("/public/")), 10)
    lecture = re.search(r'<li class="ev[^"]*">(?:(?!</li>).)*Лекция по физике.*?</li>', tenth, re.S)
    assert lecture and "ev-unsettled" in lecture.group(0)
    assert "время ещё не согласовано" in lecture.group(0)
    seventh = grade_section(text(web_client.get("/public/")), 7)
    assert "Кружок [7]" in seventh and "ev-unsettled" not in seventh, "the club is in no clash"

    record = _open_audience_clash(public_on)
    public_on.records.approve(record.id, "coordinator", "Группы разделены")
    tenth = grade_section(text(web_client.get("/public/")), 10)
    assert "ev-unsettled" not in tenth and "Лекция по физике" in tenth


def _open_audience_clash(runtime: Runtime) -> Any:
    from calhub.store.records import Filters

    found = [r for r in runtime.records.query(Filters(status="open")) if r.rule == "audience"]
    assert len(found) == 1
    return found[0]


def test_a_private_event_is_shown_as_busy_only(web_client: Any, public_on: Runtime) -> None:
    calendar = public_on.settings.calendar("kgtu")
    assert calendar is not None
    body = make_event("w-secret", "Секретная встреча [8]", at(1, 9), at(1, 10), location="Тайник")
    body = body.replace("BEGIN:VEVENT\r\n", "BEGIN:VEVENT\r\nCLASS:PRIVATE\r\n")
    assert "CLASS:PRIVATE" in body
    import_objects(public_on, calendar, [body])
    eighth = grade_section(text(web_client.get("/public/")), 8)
    assert "Секретная встреча" not in eighth and "Тайник" not in eighth
    assert "Занято" in eighth


def test_the_grade_feed_is_the_audience_feed_with_validators(
    web_client: Any, public_on: Runtime
) -> None:
    response = web_client.get("/public/5.ics", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"].startswith("public")
    calendar = icalendar.Calendar.from_ical(response.get_data())
    summaries = {str(e.get("SUMMARY")) for e in calendar.walk("VEVENT")}
    assert any("Концерт [5]" in s for s in summaries)
    assert not any("Лекция по физике" in s for s in summaries)
    again = web_client.get("/public/5.ics", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert web_client.head("/public/5.ics").status_code == 200
    for wrong in ("/public/0.ics", "/public/12.ics", "/public/x.ics"):
        assert web_client.get(wrong).status_code == 404, wrong


def test_one_grade_may_be_shown_alone(web_client: Any, public_on: Runtime) -> None:
    page = text(web_client.get("/public/?grade=9"))
    assert 'id="grade-9"' in page and 'id="grade-10"' not in page
    assert "Экскурсия [9Б]" in page
    everything = text(web_client.get("/public/?grade=99"))
    assert 'id="grade-1"' in everything and 'id="grade-11"' in everything


def test_the_page_shows_the_weeks_it_is_set_to(web_client: Any, web_runtime: Runtime) -> None:
    # The sample week is three weeks ahead: one week shown leaves it out.
    set_public(web_runtime, enabled=True, weeks=1)
    page = text(web_client.get("/public/"))
    assert "Лекция по физике" not in page
    assert 'id="grade-10"' in page


def test_the_servers_header_layer_keeps_the_public_pages_frame_rule(
    web_app: Any, public_on: Runtime
) -> None:
    """Through calhub.server.stack.SecurityHeaders, as served: it adds DENY only to answers
    without an X-Frame-Options of their own, so the public page stays embeddable and the
    rest does not."""
    from werkzeug.test import Client

    from calhub.server.stack import SecurityHeaders

    client = Client(SecurityHeaders(web_app.wsgi_app))
    public = client.get("/public/")
    assert public.status_code == 200
    assert public.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert "frame-ancestors https://school.example" in public.headers["Content-Security-Policy"]
    feed = client.get("/public/10.ics")
    assert feed.status_code == 200 and feed.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert client.get("/login").headers.getlist("X-Frame-Options") == ["DENY"]
