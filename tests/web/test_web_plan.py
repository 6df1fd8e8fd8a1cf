"""The merged plan: month, week and agenda views, filters, the JSON feed, one event, and
hostile event texts that must stay text."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

import pytest
from markupsafe import escape
from web_support import WEEK, XSS_IMG, XSS_SCRIPT, sign_in, text

from calhub.web import assets

MONDAY = WEEK.isoformat()


def events_json(client: Any, **params: str) -> list[dict[str, Any]]:
    query = {"start": MONDAY, "end": (WEEK + dt.timedelta(days=7)).isoformat(), **params}
    response = client.get("/api/events", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    found: list[dict[str, Any]] = response.get_json()
    return found


def uids(found: list[dict[str, Any]]) -> set[str]:
    return {event["id"].split("/")[1] for event in found}


def agenda(client: Any, **params: str) -> str:
    return text(client.get("/plan", query_string={"view": "agenda", "date": MONDAY, **params}))


@pytest.mark.parametrize("view", ["month", "week", "agenda"])
def test_every_view_renders_the_events_server_side(web_client: Any, view: str) -> None:
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/plan", query_string={"view": view, "date": MONDAY}))
    assert "Лекция по физике [10-11]" in page
    assert "Практикум [10А]" in page
    assert 'aria-current="page"' in page
    if view == "agenda":
        assert 'id="calendar"' not in page
    else:
        assert 'id="calendar"' in page
        assert 'data-feed="/api/events' in page


def test_week_view_lists_exactly_that_week(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/plan", query_string={"view": "week", "date": MONDAY}))
    assert "Кружок [7]" in page  # a weekly series: this week's instance
    assert page.count("Кружок [7]") == 1
    later = (WEEK + dt.timedelta(days=7)).isoformat()
    assert f"date={later}" in page, "the 'later' link goes one week on"
    earlier = (WEEK - dt.timedelta(days=7)).isoformat()
    assert f"date={earlier}" in page


def test_today_link_and_month_navigation(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/plan", query_string={"view": "month", "date": "2031-01-15"}))
    assert "date=2030-12-01" in page and "date=2031-02-01" in page
    # "Today" is the hub's day (Europe/Kaliningrad), not the test machine's: they differ
    # for two hours a night, when a date read here in UTC would be yesterday.
    today = dt.datetime.now(zoneinfo.ZoneInfo("Europe/Kaliningrad")).date().isoformat()
    assert f"date={today}" in page
    assert "Январь 2031" in page


def test_agenda_groups_by_day_with_calendar_colour_and_audience(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    page = agenda(web_client)
    assert re.search(r'<li class="ev cal-bfu ev-hard">', page), "the clashing lecture is red"
    assert 'class="ev cal-bfu ev-soft"' in page, "the camp has a travel warning"
    assert "аудитория: 10–11" in page
    assert "Понедельник" in page


def test_filter_by_calendar(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    found = events_json(web_client, calendar="kgtu")
    assert uids(found) == {"w-kgtu-lab", "w-kgtu-trip", "w-kgtu-works", "w-xss-img"}
    page = agenda(web_client, calendar="kgtu")
    assert "Практикум [10А]" in page and "Лекция по физике" not in page


def test_filter_by_grade_uses_audience_intersection(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    found = uids(events_json(web_client, grade="10"))
    # [10-11] and [10А] meet grade 10; the whole-school holiday does too; [9Б], [11А] not.
    assert {"w-bfu-physics", "w-kgtu-lab", "w-holiday"} <= found
    assert not found & {"w-kgtu-trip", "w-bfu-camp", "w-kgtu-works", "w-school-club"}
    page = agenda(web_client, grade="10")
    assert "Экскурсия [9Б]" not in page and "Практикум [10А]" in page


def test_filter_by_class_or_group(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    found = uids(events_json(web_client, group="10Б"))
    # 10Б meets grade range 10-11 but not the class 10А.
    assert "w-bfu-physics" in found and "w-kgtu-lab" not in found
    assert "w-kgtu-lab" in uids(events_json(web_client, group="10A"))  # Latin A is А
    page = agenda(web_client, group="не класс")
    assert "не класс" in page and "не класс и не группа" in page
    bad = web_client.get("/api/events", query_string={"start": MONDAY, "group": "не класс"})
    assert bad.status_code == 400


def test_filter_by_venue_and_free_text(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    assert uids(events_json(web_client, venue="Актовый зал")) == {
        "w-school-concert",
        "w-school-meeting",
    }
    assert uids(events_json(web_client, venue="корпус 3")) == {"w-kgtu-lab", "w-kgtu-trip"}
    assert uids(events_json(web_client, q="ФИЗИКЕ")) == {"w-bfu-physics"}
    assert uids(events_json(web_client, q="КГТУ", grade="9")) == {"w-kgtu-trip", "w-xss-img"}
    page = agenda(web_client, q="физике")
    assert "Лекция по физике" in page and "Практикум" not in page
    assert "Сбросить" in page


def test_bad_filter_values_are_explained_not_fatal(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    page = text(
        web_client.get(
            "/plan", query_string={"grade": "12", "calendar": "nobody", "date": "bad", "view": "x"}
        )
    )
    assert "Параллель «12»" in page and "Календаря «nobody» нет" in page
    assert web_client.get("/api/events", query_string={"start": "yesterday"}).status_code == 400


def test_feed_shape_for_fullcalendar(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    found = {e["id"].split("/")[1]: e for e in events_json(web_client)}
    lecture = found["w-bfu-physics"]
    assert lecture["title"] == "Лекция по физике [10-11]"
    assert lecture["start"] == f"{MONDAY}T15:00" and lecture["end"] == f"{MONDAY}T16:30"
    assert lecture["allDay"] is False
    assert lecture["backgroundColor"].startswith("#")
    assert "clash-hard" in lecture["classNames"] and "cal-bfu" in lecture["classNames"]
    assert lecture["url"].startswith("/plan/event?")
    assert lecture["extendedProps"]["audience"] == "10–11"
    assert "clash-soft" in found["w-bfu-camp"]["classNames"]
    holiday = found["w-holiday"]
    assert holiday["allDay"] is True
    assert holiday["start"] == (WEEK + dt.timedelta(days=6)).isoformat()
    assert holiday["end"] == (WEEK + dt.timedelta(days=7)).isoformat()
    # FullCalendar in its UTC mode sends offsets; they are read as school time.
    shifted = web_client.get(
        "/api/events", query_string={"start": f"{MONDAY}T00:00:00Z", "end": f"{MONDAY}T15:01:00Z"}
    ).get_json()
    assert "w-bfu-physics" in uids(shifted)


def test_marks_follow_the_records_at_once(web_app: Any, web_runtime: Any) -> None:
    """The grid's marks are cached per records version (clashes.MarkCache): an approval
    or a reopen shows on the next request, for the coordinator and for a partner alike."""
    clients = {login: web_app.test_client() for login in ("coordinator", "bfu")}
    for login, client in clients.items():
        sign_in(client, login)

    def lecture_classes(login: str) -> list[str]:
        found = {e["id"].split("/")[1]: e for e in events_json(clients[login])}
        classes: list[str] = found["w-bfu-physics"]["classNames"]
        return classes

    assert "clash-hard" in lecture_classes("coordinator")
    assert "clash-hard" in lecture_classes("bfu")
    records = web_runtime.records
    ids = sorted(records.active_ids_for([("bfu", "w-bfu-physics")]))
    assert ids
    for clash_id in ids:
        if records.get(clash_id, instances=False).status == "open":
            records.approve(clash_id, "coordinator", "Разведены по аудиториям")
    assert "clash-approved" in lecture_classes("coordinator")
    assert "clash-approved" in lecture_classes("bfu")
    records.reopen(ids[0], "coordinator", "Снова")
    assert "clash-approved" not in lecture_classes("coordinator")
    assert "clash-approved" not in lecture_classes("bfu")


def test_event_links_are_what_url_for_builds(web_app: Any) -> None:
    from flask import url_for

    from calhub.web.api import _detail_url

    with web_app.test_request_context("/api/events"):
        base = url_for("plan.event")
        for uid, rid in [
            ("plain", None),
            ("a b+c&d=e/ф@x.org", "20270301T100000Z"),
            ("!$'()*,/:;?@%#", ""),
            ("".join(map(chr, range(1, 128))), "x y"),
            ("\t\n€😀ёЁ\u00a0\u200b", "~-_."),
        ]:
            expected = url_for("plan.event", calendar="bfu", uid=uid, rid=rid or None)
            query = [("calendar", "bfu"), ("uid", uid), ("rid", rid or None)]
            assert _detail_url(base, query) == expected


def test_partners_see_the_whole_plan_but_only_their_own_clashes(web_client: Any) -> None:
    sign_in(web_client, "kgtu")
    found = {e["id"].split("/")[1]: e for e in events_json(web_client)}
    assert {"w-school-concert", "w-bfu-physics", "w-kgtu-lab"} <= set(found)
    assert "clash-hard" in found["w-kgtu-lab"]["classNames"]
    assert "clash-hard" in found["w-bfu-physics"]["classNames"], "its clash with kgtu's event"
    # The school's venue clash is none of kgtu's business.
    assert not any(c.startswith("clash-") for c in found["w-school-concert"]["classNames"])
    assert "ev-hard" not in text(
        web_client.get(
            "/plan", query_string={"view": "agenda", "date": MONDAY, "calendar": "school"}
        )
    )


def test_event_details_from_storage(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    page = text(
        web_client.get("/plan/event", query_string={"calendar": "bfu", "uid": "w-bfu-physics"})
    )
    assert "Приходите с тетрадью." in page
    assert "&lt;b&gt;Не HTML&lt;/b&gt;" in page, "the description is text"
    assert "БФУ, ул. Невского, 14, ауд. 112" in page
    assert "10–11" in page and "метка [в скобках] в названии" in page
    assert "15:00–16:30" in page
    assert "Практикум [10А]" in page, "the clash names the other event"
    assert "<!doctype html>" in page.lower()
    fragment = text(
        web_client.get(
            "/plan/event",
            query_string={"calendar": "bfu", "uid": "w-bfu-physics", "fragment": "1"},
        )
    )
    assert "<html" not in fragment and "Приходите с тетрадью." in fragment


def test_event_of_a_series_and_unknown_events(web_client: Any, web_runtime: Any) -> None:
    sign_in(web_client, "bfu")
    [_first, *rest] = sorted(
        web_runtime.index.occurrences_of("school", "w-school-club"), key=lambda o: o.start
    )
    assert len(rest) == 3
    page = text(
        web_client.get(
            "/plan/event",
            query_string={
                "calendar": "school",
                "uid": "w-school-club",
                "rid": rest[0].recurrence_id,
            },
        )
    )
    assert "Кружок [7]" in page and "Гимназия, каб. 7" in page
    assert "Накладок с вашими мероприятиями нет." in page
    for query in (
        {"calendar": "school", "uid": "nope"},
        {"calendar": "nobody", "uid": "w-school-club"},
        {"calendar": "school", "uid": "w-school-club", "rid": "19990101T000000Z"},
    ):
        assert web_client.get("/plan/event", query_string=query).status_code == 404


def test_hostile_titles_stay_text_in_every_page(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    pages = [
        agenda(web_client),
        text(web_client.get("/plan", query_string={"date": MONDAY})),
        text(
            web_client.get("/plan/event", query_string={"calendar": "bfu", "uid": "w-xss-script"})
        ),
        text(web_client.get("/partners/bfu")),
    ]
    for page in pages:
        assert "<script>window.__xss" not in page
        assert "<img src=x" not in page
    assert str(escape(XSS_SCRIPT)) in pages[0]
    assert str(escape(XSS_IMG)) in pages[0]
    feed = {e["id"].split("/")[1]: e for e in events_json(web_client)}
    assert feed["w-xss-script"]["title"] == XSS_SCRIPT, "JSON carries data; the page renders text"


def test_calendar_colours_are_a_stylesheet(web_client: Any) -> None:
    response = web_client.get("/calendars.css")
    assert response.mimetype == "text/css"
    body = response.get_data(as_text=True)
    assert re.search(r"\.cal-bfu\{--cal:#[0-9A-F]{6};--cal-text:#(000000|FFFFFF)\}", body)
    again = web_client.get("/calendars.css", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_without_fullcalendar_the_plan_says_so_and_lists(
    web_client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setattr(assets, "FULLCALENDAR", tmp_path / "missing")
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/plan", query_string={"view": "month", "date": MONDAY}))
    assert 'id="grid-missing"' in page and "FullCalendar" in page
    assert "vendor/fullcalendar" not in page
    assert "Лекция по физике [10-11]" in page


def test_with_fullcalendar_the_bundle_is_served_from_the_package(web_client: Any) -> None:
    if not assets.fullcalendar_available():
        pytest.skip("FullCalendar was not fetched at build time (no npm)")
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/plan", query_string={"date": MONDAY}))
    assert "/static/vendor/fullcalendar/index.global.min.js" in page
    bundle = web_client.get("/static/vendor/fullcalendar/index.global.min.js")
    assert bundle.status_code == 200 and b"FullCalendar" in bundle.data[:200]
    assert web_client.get("/static/vendor/fullcalendar/locales/ru.global.min.js").status_code == 200
