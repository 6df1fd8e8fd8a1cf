"""Feeds on the web: ``/feeds/<token>.ics`` without a sign-in (one 404 for every token that
opens nothing, text/calendar with ETag and Last-Modified, 304 while unchanged and 200 after a
change, gzip, HEAD), and the coordinator's feeds page (list, create, revoke, CSRF; partners
get 403)."""

from __future__ import annotations

import gzip
import re
from typing import Any

import icalendar
import pytest
from helpers import make_event
from web_support import at, csrf_in, sign_in, text

from calhub.dav.importer import import_objects
from calhub.feeds.tokens import create_feed
from calhub.runtime import Runtime

BASE = "http://calendar.school.test"


def new_feed(runtime: Runtime, scope: str = "all") -> tuple[int, str]:
    """A feed made as the CLI makes it: its id and its token."""
    created = create_feed(runtime, scope, f"тест {scope}", "coordinator", BASE)
    return created.token.id, created.secret


def revoke(runtime: Runtime, feed_id: int) -> None:
    assert runtime.feeds.revoke(feed_id, "coordinator")


def add_event(runtime: Runtime, uid: str, summary: str) -> None:
    calendar = runtime.settings.calendar("bfu")
    assert calendar is not None
    import_objects(runtime, calendar, [make_event(uid, summary, at(2, 9), at(2, 10))])


# -- serving ------------------------------------------------------------------------------


def test_unknown_revoked_and_garbage_tokens_get_one_and_the_same_404(
    web_client: Any, web_runtime: Runtime
) -> None:
    feed_id, secret = new_feed(web_runtime)
    revoke(web_runtime, feed_id)
    answers = [
        web_client.get(f"/feeds/{secret}.ics"),  # revoked
        web_client.get("/feeds/" + "A" * 32 + ".ics"),  # never existed
        web_client.get("/feeds/not%20a%20token.ics"),
        web_client.get("/feeds/" + "x" * 5000 + ".ics"),
        web_client.get("/feeds/'%3B--.ics"),
        web_client.get(f"/feeds/{secret}"),  # no .ics
        web_client.get(f"/feeds/{secret}.ics/more"),
    ]
    bodies = {a.get_data() for a in answers}
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert len(bodies) == 1, bodies
    body = bodies.pop().decode()
    assert "No such feed" in body and "Нет такой ленты" in body and secret not in body
    assert {a.headers["Content-Type"] for a in answers} == {"text/plain; charset=utf-8"}
    assert all(a.headers["Cache-Control"] == "no-store" for a in answers)


def test_a_feed_is_text_calendar_with_validators_and_needs_no_sign_in(
    web_client: Any, web_runtime: Runtime
) -> None:
    feed_id, secret = new_feed(web_runtime)
    response = web_client.get(f"/feeds/{secret}.ics", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["ETag"])
    assert response.headers["Last-Modified"].endswith(" GMT")
    assert response.headers["Cache-Control"].startswith("private, max-age=")
    assert response.headers["Content-Disposition"] == f'inline; filename="calhub-all-{feed_id}.ics"'
    assert "Accept-Encoding" in response.headers["Vary"]
    assert "Content-Encoding" not in response.headers
    assert "Set-Cookie" not in response.headers, "a feed starts no session"
    calendar = icalendar.Calendar.from_ical(response.get_data())
    summaries = {str(e.get("SUMMARY")) for e in calendar.walk("VEVENT")}
    assert any("Лекция по физике" in s for s in summaries)
    touched = web_runtime.feeds.get(feed_id)
    assert touched is not None and touched.last_used_at is not None


def test_a_conditional_get_is_304_until_an_event_changes(
    web_app: Any, web_client: Any, web_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from calhub.feeds.cache import FeedCache
    from calhub.web.feeds import CACHE_KEY

    _, secret = new_feed(web_runtime)
    url = f"/feeds/{secret}.ics"
    first = web_client.get(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]

    # Nothing is built for a conditional GET that matches, even with nothing kept (a
    # restarted hub): an empty cache, and a build here fails the test.
    def no_build(*args: Any) -> bytes:
        raise AssertionError("a conditional GET built the feed")

    web_app.extensions[CACHE_KEY] = FeedCache()
    monkeypatch.setattr("calhub.web.feeds.build_feed", no_build)
    again = web_client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    listed = web_client.get(url, headers={"If-None-Match": f'"other", W/{etag}'})
    assert listed.status_code == 304
    since = web_client.get(url, headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    monkeypatch.undo()

    add_event(web_runtime, "w-feed-new", "Новая лекция [10]")
    changed = web_client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "Новая лекция" in changed.get_data(as_text=True)
    stale = web_client.get(url, headers={"If-None-Match": '"0000"'})
    assert stale.status_code == 200


def test_gzip_when_the_client_takes_it(web_client: Any, web_runtime: Runtime) -> None:
    _, secret = new_feed(web_runtime)
    url = f"/feeds/{secret}.ics"
    plain = web_client.get(url, headers={"Accept-Encoding": "identity"})
    packed = web_client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.status_code == 200 and packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert packed.headers["ETag"] != plain.headers["ETag"], "two representations, two tags"
    assert "Accept-Encoding" in packed.headers["Vary"]
    refused = web_client.get(url, headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    # Either tag names the version: the gzip one revalidates too.
    tagged = web_client.get(
        url, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}
    )
    assert tagged.status_code == 304


def test_head_answers_the_headers_of_get(web_client: Any, web_runtime: Runtime) -> None:
    _, secret = new_feed(web_runtime)
    url = f"/feeds/{secret}.ics"
    got = web_client.get(url, headers={"Accept-Encoding": "identity"})
    head = web_client.head(url, headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.get_data() == b""
    for name in ("Content-Type", "ETag", "Last-Modified", "Content-Length"):
        assert head.headers[name] == got.headers[name], name
    assert web_client.head("/feeds/" + "B" * 32 + ".ics").status_code == 404


def test_an_audience_feed_holds_only_its_grades(web_client: Any, web_runtime: Runtime) -> None:
    _, secret = new_feed(web_runtime, "audience:5")
    body = web_client.get(f"/feeds/{secret}.ics").get_data(as_text=True)
    assert "Концерт [5]" in body and "Лекция по физике" not in body


# -- the coordinator's page ----------------------------------------------------------------


def test_a_partner_may_not_open_or_use_the_feeds_page(
    web_client: Any, web_runtime: Runtime
) -> None:
    feed_id, _ = new_feed(web_runtime)
    sign_in(web_client, "bfu")
    assert web_client.get("/feeds").status_code == 403
    token = csrf_in(text(web_client.get("/partners/bfu")))
    posted = web_client.post("/feeds", data={"csrf_token": token, "kind": "all"})
    assert posted.status_code == 403
    revoked = web_client.post(f"/feeds/{feed_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 403
    assert web_runtime.feeds.get(feed_id) is not None
    assert web_runtime.feeds.get(feed_id).revoked_at is None  # type: ignore[union-attr]


def test_nobody_signed_in_is_sent_to_sign_in(web_client: Any) -> None:
    response = web_client.get("/feeds")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_coordinator_creates_a_feed_and_sees_its_addresses_once(
    web_client: Any, web_runtime: Runtime
) -> None:
    sign_in(web_client, "coordinator", base_url=BASE)
    page = text(web_client.get("/feeds", base_url=BASE))
    assert "Подписки" in page or "Ленты" in page
    created = web_client.post(
        "/feeds",
        data={"csrf_token": csrf_in(page), "kind": "audience", "value": "10А", "name": "10А"},
        base_url=BASE,
    )
    assert created.status_code == 200
    body = text(created)
    match = re.search(r"http://calendar\.school\.test/feeds/([A-Za-z0-9_-]+)\.ics", body)
    assert match, body[:2000]
    secret = match.group(1)
    assert f"webcal://calendar.school.test/feeds/{secret}.ics" in body
    assert "<svg" in body and "только один раз" in body
    [feed] = [f for f in web_runtime.feeds.query() if f.scope == "audience:10А"]
    assert feed.name == "10А" and feed.created_by == "coordinator"
    # The address works, and the list never shows the token again.
    assert web_client.get(f"/feeds/{secret}.ics").status_code == 200
    listed = text(web_client.get("/feeds", base_url=BASE))
    assert f'id="feed-{feed.id}"' in listed and secret not in listed


def test_the_addresses_use_the_configured_public_url(web_client: Any, web_runtime: Runtime) -> None:
    from calhub.hub import configfile

    document = configfile.read_document(web_runtime.hub.root)
    document["public"] = {"url": "https://calendar.gymnasium.example"}
    configfile.save_document(web_runtime.hub.root, document)
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/feeds"))
    body = text(web_client.post("/feeds", data={"csrf_token": csrf_in(page), "kind": "all"}))
    assert "https://calendar.gymnasium.example/feeds/" in body
    assert "webcal://calendar.gymnasium.example/feeds/" in body


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("audience", "12Щ", "не похоже на параллель, класс или группу"),
        ("calendar", "nosuch", "В хабе нет календаря"),
        ("audience", "", "Укажите календарь, класс или группу"),
        ("weird", "x", "Нет такого вида ленты"),
    ],
)
def test_a_wrong_form_shows_the_error_and_keeps_what_was_typed(
    web_client: Any, web_runtime: Runtime, kind: str, value: str, expected: str
) -> None:
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/feeds"))
    response = web_client.post(
        "/feeds",
        data={"csrf_token": csrf_in(page), "kind": kind, "value": value, "name": "Для родителей"},
    )
    assert response.status_code == 400
    body = text(response)
    assert 'id="feed-error"' in body and expected in body
    assert 'value="Для родителей"' in body and f'value="{value}"' in body
    assert web_runtime.feeds.query() == []


def test_creating_and_revoking_need_the_csrf_token(web_client: Any, web_runtime: Runtime) -> None:
    feed_id, secret = new_feed(web_runtime)
    sign_in(web_client, "coordinator")
    assert web_client.post("/feeds", data={"kind": "all"}).status_code == 400
    assert (
        web_client.post("/feeds", data={"kind": "all", "csrf_token": "x" * 43}).status_code == 400
    )
    assert web_client.post(f"/feeds/{feed_id}/revoke").status_code == 400
    assert [f.id for f in web_runtime.feeds.query()] == [feed_id]
    assert web_client.get(f"/feeds/{secret}.ics").status_code == 200


def test_the_coordinator_revokes_a_feed_and_its_address_is_404(
    web_client: Any, web_runtime: Runtime
) -> None:
    feed_id, secret = new_feed(web_runtime)
    assert web_client.get(f"/feeds/{secret}.ics").status_code == 200
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/feeds"))
    assert f'action="/feeds/{feed_id}/revoke"' in page
    response = web_client.post(f"/feeds/{feed_id}/revoke", data={"csrf_token": csrf_in(page)})
    assert response.status_code == 303 and response.headers["Location"] == "/feeds"
    assert "отозвана" in text(web_client.get("/feeds"))
    assert web_client.get(f"/feeds/{secret}.ics").status_code == 404
    again = web_client.post(f"/feeds/{feed_id}/revoke", data={"csrf_token": csrf_in(page)})
    assert again.status_code == 303
    assert "Нет действующей ленты" in text(web_client.get("/feeds"))
    assert f'id="feed-{feed_id}"' in text(web_client.get("/feeds?all=1"))


def test_the_coordinator_has_a_feeds_link_a_partner_does_not(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    assert 'href="/feeds"' in text(web_client.get("/plan"))
    web_client.post("/logout", data={"csrf_token": csrf_in(text(web_client.get("/plan")))})
    sign_in(web_client, "bfu")
    assert 'href="/feeds"' not in text(web_client.get("/plan"))


def test_the_partner_page_tells_how_to_subscribe_and_whom_to_ask(
    web_client: Any, web_runtime: Runtime
) -> None:
    sign_in(web_client, "bfu")
    page = text(web_client.get("/partners/bfu"))
    section = re.search(r'<section class="subscribe" id="subscribe">.*?</section>', page, re.S)
    assert section, "no subscribe section"
    body = section.group(0)
    for step in ("Outlook", "Google", "iPhone", "ICSx⁵", "DAVx⁵", "координатор"):
        assert step in body, step
    assert "раз в несколько часов" in body, "Google's slow refresh is said plainly"
    assert "/public/" not in body, "no public page while it is off"
    from calhub.hub import configfile

    document = configfile.read_document(web_runtime.hub.root)
    document["public"] = {"enabled": True, "url": "https://calendar.school.example"}
    configfile.save_document(web_runtime.hub.root, document)
    page = text(web_client.get("/partners/bfu"))
    assert 'href="https://calendar.school.example/public/"' in page
