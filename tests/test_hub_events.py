"""Events through the real caldav client: create, read, update, delete, search.

Partners work on their own calendar, the coordinator on the school's. Every test uses its
own UIDs and time slots and deletes what it created, so the shared server stays clean.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import pytest
from caldav.lib.error import NotFoundError
from helpers import creds, dav_client, make_event, request, simple_event, unique_slot

KALININGRAD = zoneinfo.ZoneInfo("Europe/Kaliningrad")

# (login, calendar path) pairs where the login may write.
WRITERS = [
    ("bfu", "bfu/calendar"),
    ("kgtu", "kgtu/calendar"),
    ("coordinator", "school/calendar"),
    ("coordinator", "school/blackout"),
    ("coordinator", "bfu/calendar"),
]


def new_uid(prefix: str = "ev") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@calhub-tests"


def etag_over_http(hub_server, url: str, login: str) -> str:
    path = url[len(hub_server.url) - 1 :]
    response = request(hub_server.url, "GET", path, *creds(login))
    assert response.status == 200, response
    return response.header("etag")


@pytest.mark.parametrize(("login", "path"), WRITERS, ids=[f"{lg}-{p}" for lg, p in WRITERS])
def test_create_read_update_delete(hub_server, login, path):
    client = dav_client(hub_server.dav_url, login)
    calendar = client.calendar(url=hub_server.dav_url + path + "/")
    uid = new_uid()
    start, end = unique_slot()

    created = calendar.add_event(make_event(uid, "Лекция по робототехнике [10-11]", start, end))
    assert str(created.url).startswith(hub_server.dav_url + path + "/")

    # read back, by UID, with the local time zone intact
    event = calendar.get_event_by_uid(uid)
    component = event.icalendar_component
    assert str(component["summary"]) == "Лекция по робототехнике [10-11]"
    assert component.decoded("dtstart") == start.replace(tzinfo=KALININGRAD)
    assert component.decoded("dtend") == end.replace(tzinfo=KALININGRAD)
    first_etag = etag_over_http(hub_server, str(event.url), login)
    assert first_etag

    # update: same URL, new content, new ETag
    event.icalendar_component["summary"] = "Лекция перенесена"
    event.save()
    reread = calendar.get_event_by_uid(uid)
    assert str(reread.icalendar_component["summary"]) == "Лекция перенесена"
    assert str(reread.url) == str(event.url)
    second_etag = etag_over_http(hub_server, str(event.url), login)
    assert second_etag and second_etag != first_etag

    # delete: gone for everyone
    reread.delete()
    with pytest.raises(NotFoundError):
        calendar.get_event_by_uid(uid)
    assert (
        request(
            hub_server.url, "GET", str(event.url)[len(hub_server.url) - 1 :], *creds(login)
        ).status
        == 404
    )


@pytest.mark.parametrize(("login", "path"), WRITERS[:3], ids=[lg for lg, _ in WRITERS[:3]])
def test_time_range_search(hub_server, login, path):
    client = dav_client(hub_server.dav_url, login)
    calendar = client.calendar(url=hub_server.dav_url + path + "/")
    inside_uid, outside_uid = new_uid("in"), new_uid("out")
    inside_start, inside_end = unique_slot(hours=2)
    outside_start, outside_end = unique_slot()
    calendar.add_event(make_event(inside_uid, "Внутри", inside_start, inside_end))
    calendar.add_event(make_event(outside_uid, "Снаружи", outside_start, outside_end))
    try:
        found = calendar.search(
            start=inside_start.replace(tzinfo=KALININGRAD) + dt.timedelta(minutes=30),
            end=inside_start.replace(tzinfo=KALININGRAD) + dt.timedelta(minutes=60),
            event=True,
        )
        uids = {str(e.icalendar_component["uid"]) for e in found}
        assert inside_uid in uids
        assert outside_uid not in uids

        both = calendar.search(
            start=inside_start.replace(tzinfo=KALININGRAD) - dt.timedelta(hours=1),
            end=outside_end.replace(tzinfo=KALININGRAD) + dt.timedelta(hours=1),
            event=True,
        )
        assert {inside_uid, outside_uid} <= {str(e.icalendar_component["uid"]) for e in both}
    finally:
        for uid in (inside_uid, outside_uid):
            calendar.get_event_by_uid(uid).delete()


def test_utc_and_all_day_events_round_trip(hub_server):
    client = dav_client(hub_server.dav_url, "bfu")
    calendar = client.calendar(url=hub_server.dav_url + "bfu/calendar/")
    start, _ = unique_slot()
    utc_uid, day_uid = new_uid("utc"), new_uid("day")
    utc_start = start.replace(tzinfo=dt.UTC)
    calendar.add_event(make_event(utc_uid, "UTC", utc_start, utc_start + dt.timedelta(hours=1)))
    day = start.date()
    calendar.add_event(make_event(day_uid, "Весь день", day, day + dt.timedelta(days=1)))
    try:
        utc_event = calendar.get_event_by_uid(utc_uid).icalendar_component
        assert utc_event.decoded("dtstart") == utc_start
        day_event = calendar.get_event_by_uid(day_uid).icalendar_component
        assert day_event.decoded("dtstart") == day
        found = calendar.search(
            start=dt.datetime.combine(day, dt.time(12), KALININGRAD),
            end=dt.datetime.combine(day, dt.time(13), KALININGRAD),
            event=True,
        )
        assert day_uid in {str(e.icalendar_component["uid"]) for e in found}
    finally:
        for uid in (utc_uid, day_uid):
            calendar.get_event_by_uid(uid).delete()


def test_partners_read_each_others_and_the_schools_events(hub_server):
    coordinator = dav_client(hub_server.dav_url, "coordinator")
    bfu = dav_client(hub_server.dav_url, "bfu")
    school_uid, kgtu_uid = new_uid("school"), new_uid("kgtu")
    school = coordinator.calendar(url=hub_server.dav_url + "school/calendar/")
    kgtu = dav_client(hub_server.dav_url, "kgtu").calendar(
        url=hub_server.dav_url + "kgtu/calendar/"
    )
    school.add_event(simple_event(school_uid, "Родительское собрание"))
    kgtu.add_event(simple_event(kgtu_uid, "День открытых дверей КГТУ"))
    try:
        for path, uid in (("school/calendar", school_uid), ("kgtu/calendar", kgtu_uid)):
            seen = bfu.calendar(url=hub_server.dav_url + path + "/")
            assert str(seen.get_event_by_uid(uid).icalendar_component["uid"]) == uid
            assert uid in {str(e.icalendar_component["uid"]) for e in seen.events()}
    finally:
        school.get_event_by_uid(school_uid).delete()
        kgtu.get_event_by_uid(kgtu_uid).delete()


def test_put_with_stale_etag_is_refused(hub_server):
    """If-Match protects a partner's edit from overwriting a newer version."""
    uid = new_uid("etag")
    path = f"/dav/bfu/calendar/{uid}.ics"
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    first = request(
        hub_server.url, "PUT", path, *creds("bfu"), body=simple_event(uid), headers=headers
    )
    assert first.status == 201
    etag = etag_over_http(hub_server, hub_server.url + path[1:], "bfu")
    second = request(
        hub_server.url, "PUT", path, *creds("bfu"), body=simple_event(uid, "v2"), headers=headers
    )
    assert 200 <= second.status < 300
    stale = request(
        hub_server.url,
        "PUT",
        path,
        *creds("bfu"),
        body=simple_event(uid, "v3"),
        headers={**headers, "If-Match": etag},
    )
    assert stale.status == 412
    assert "v2" in request(hub_server.url, "GET", path, *creds("bfu")).text
    assert request(hub_server.url, "DELETE", path, *creds("bfu")).status in (200, 204)
