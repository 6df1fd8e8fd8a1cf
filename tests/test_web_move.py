"""Moving an event from the website (``POST /api/events/move``) against a running hub: the
move is a CalDAV write (clash check, index, records), keeps what it does not change, is seen
by a phone's next sync, and is refused with a readable reason when it may not happen."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from clash_support import at, conflicts, involving, own_week, put_event, put_text, set_policy
from helpers import PASSWORDS, dav_client

ZONE = ZoneInfo("Europe/Kaliningrad")
BFU = "/bfu/calendar/"
KGTU = "/kgtu/calendar/"


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    return module_hubs()


def move(hub: Any, login: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = hub.request(
        "POST",
        "/api/events/move",
        login,
        PASSWORDS[login],
        body=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    return response.status, json.loads(response.text)


def stored(hub: Any, login: str, path: str, uid: str) -> Any:
    response = hub.request("GET", f"/dav{path}{uid}.ics", login, PASSWORDS[login])
    assert response.status == 200, response.text
    etag = response.header("ETag")
    assert etag
    return icalendar.Calendar.from_ical(response.text), etag


def events_of(calendar: Any) -> list[Any]:
    return list(calendar.walk("VEVENT"))


RICH_EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//calhub tests//move//RU
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20250101T000000Z
DTSTART;TZID=Europe/Kaliningrad:{start}
DTEND;TZID=Europe/Kaliningrad:{end}
SUMMARY:Практикум [10А]
LOCATION:Корпус 2\\, ауд. 14
DESCRIPTION:Взять лабораторные тетради
X-PARTNER-NOTE:keep me
CATEGORIES:Практикум,Физика
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Скоро практикум
TRIGGER:-PT30M
END:VALARM
END:VEVENT
END:VCALENDAR
"""


def rich_event(uid: str, start: dt.datetime, end: dt.datetime) -> str:
    return RICH_EVENT.format(
        uid=uid, start=f"{start:%Y%m%dT%H%M%S}", end=f"{end:%Y%m%dT%H%M%S}"
    ).replace("\n", "\r\n")


def clash_between(hub: Any, *uids: str) -> dict[str, Any]:
    [record] = [r for r in involving(conflicts(hub), *uids) if r["rule"] == "audience"]
    return record


def test_a_move_to_a_suggested_slot_settles_the_clash_and_keeps_the_rest(hub: Any) -> None:
    monday = own_week()
    assert (
        put_event(
            hub, "bfu", BFU, "mv-lecture", "Лекция [10А]", at(monday, 15), at(monday, 16, 30)
        ).status
        == 201
    )
    text = rich_event("mv-lab", at(monday, 15, 30), at(monday, 17))
    assert put_text(hub, "kgtu", KGTU, "mv-lab", text).status == 201
    record = clash_between(hub, "mv-lecture", "mv-lab")
    assert record["status"] == "open"

    # A phone has synced the calendar before the move.
    client = dav_client(hub.dav_url, "kgtu")
    calendar = client.calendar(url=hub.dav_url + "kgtu/calendar/")
    synced = calendar.objects_by_sync_token(load_objects=False)
    token = synced.sync_token

    slots = hub.request(
        "GET", f"/api/conflicts/{record['id']}/slots", "coordinator", PASSWORDS["coordinator"]
    )
    assert slots.status == 200, slots.text
    sides = {s["uid"]: s for s in json.loads(slots.text)["sides"]}
    assert set(sides) == {"mv-lecture", "mv-lab"}
    lab = sides["mv-lab"]
    assert lab["may_move"] and len(lab["slots"]) == 3
    assert all("move_url" in s for s in lab["slots"])
    first = lab["slots"][0]
    # Nearest first: the first slot is the one nearest the event's own start.
    starts = [dt.datetime.fromisoformat(s["start"]) for s in lab["slots"]]
    wished = at(monday, 15, 30).replace(tzinfo=ZONE)
    assert [abs(s - wished) for s in starts] == sorted(abs(s - wished) for s in starts)

    _, etag = stored(hub, "kgtu", KGTU, "mv-lab")
    status, body = move(
        hub,
        "coordinator",
        {
            "calendar": "kgtu",
            "uid": "mv-lab",
            "start": first["start"],
            "end": first["end"],
            "etag": etag,
        },
    )
    assert status == 200, body
    assert body["etag"] and body["etag"] != etag

    after, new_etag = stored(hub, "kgtu", KGTU, "mv-lab")
    assert new_etag == body["etag"]
    [event] = events_of(after)
    assert event["DTSTART"].dt == dt.datetime.fromisoformat(first["start"])
    assert event["DTEND"].dt == dt.datetime.fromisoformat(first["end"])
    assert str(event["DTSTART"].params["TZID"]) == "Europe/Kaliningrad"
    assert str(event["DESCRIPTION"]) == "Взять лабораторные тетради"
    assert str(event["LOCATION"]) == "Корпус 2, ауд. 14"
    assert str(event["X-PARTNER-NOTE"]) == "keep me"
    assert [str(c) for c in event["CATEGORIES"].cats] == ["Практикум", "Физика"]
    [alarm] = event.walk("VALARM")
    assert str(alarm["TRIGGER"].to_ical().decode()) == "-PT30M"
    assert int(event["SEQUENCE"]) == 1

    # The clash is gone by itself: the write went through the clash book.
    resolved = {r["id"] for r in conflicts(hub, query="?status=resolved")}
    assert record["id"] in resolved
    # The phone's next sync sees the change.
    changed = calendar.objects_by_sync_token(sync_token=token, load_objects=False)
    assert any(str(o.url).endswith("/mv-lab.ics") for o in changed.objects)


def test_a_partner_moves_its_own_events_only(hub: Any) -> None:
    monday = own_week()
    assert (
        put_event(hub, "bfu", BFU, "own-a", "Семинар [9Б]", at(monday, 15), at(monday, 16)).status
        == 201
    )
    assert (
        put_event(
            hub, "kgtu", KGTU, "own-b", "Олимпиада [9Б]", at(monday, 15), at(monday, 16)
        ).status
        == 201
    )
    later = {"start": f"{monday}T18:00", "end": f"{monday}T19:00"}
    status, body = move(hub, "bfu", {"calendar": "kgtu", "uid": "own-b", **later})
    assert status == 403 and "partner" in body["error"]
    _, unchanged = stored(hub, "kgtu", KGTU, "own-b")
    status, body = move(hub, "bfu", {"calendar": "bfu", "uid": "own-a", **later})
    assert status == 200, body
    again, etag = stored(hub, "kgtu", KGTU, "own-b")
    assert etag == unchanged
    [event] = events_of(again)
    assert event["DTSTART"].dt.hour == 15


def test_bad_moves_are_refused_with_a_reason_and_store_nothing(hub: Any) -> None:
    monday = own_week()
    assert (
        put_event(hub, "bfu", BFU, "bad-a", "Кружок [7]", at(monday, 15), at(monday, 16)).status
        == 201
    )
    _, etag = stored(hub, "bfu", BFU, "bad-a")
    base = {"calendar": "bfu", "uid": "bad-a"}
    cases = [
        ({**base, "start": f"{monday}T18:00", "end": f"{monday}T17:00"}, 400, "after the start"),
        ({**base, "start": "завтра", "end": f"{monday}T17:00"}, 400, "not a date"),
        (
            {**base, "start": f"{monday}T18:00", "end": f"{monday}T19:00", "etag": '"stale"'},
            409,
            "changed",
        ),
        (
            {
                "calendar": "bfu",
                "uid": "no-such",
                "start": f"{monday}T18:00",
                "end": f"{monday}T19:00",
            },
            404,
            "no such",
        ),
        (
            {
                "calendar": "nope",
                "uid": "bad-a",
                "start": f"{monday}T18:00",
                "end": f"{monday}T19:00",
            },
            404,
            "no such",
        ),
    ]
    for body, status, words in cases:
        got, answer = move(hub, "coordinator", body)
        assert got == status, (body, answer)
        assert words in answer["error"].lower(), answer
    not_json = hub.request(
        "POST",
        "/api/events/move",
        "coordinator",
        PASSWORDS["coordinator"],
        body="start=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert not_json.status == 400 and "JSON" in json.loads(not_json.text)["error"]
    anonymous = hub.request("POST", "/api/events/move", body="{}")
    assert anonymous.status == 401
    _, after = stored(hub, "bfu", BFU, "bad-a")
    assert after == etag


def test_a_reject_calendar_refuses_a_move_into_a_hard_clash(hub: Any) -> None:
    monday = own_week()
    assert (
        put_event(hub, "bfu", BFU, "rej-a", "Лекция [11Б]", at(monday, 15), at(monday, 16)).status
        == 201
    )
    assert (
        put_event(hub, "kgtu", KGTU, "rej-b", "Кружок [11Б]", at(monday, 17), at(monday, 18)).status
        == 201
    )
    set_policy(hub, "kgtu", "reject")
    try:
        status, body = move(
            hub,
            "coordinator",
            {
                "calendar": "kgtu",
                "uid": "rej-b",
                "start": f"{monday}T15:30",
                "end": f"{monday}T16:30",
            },
        )
        assert status == 409, body
        assert "Лекция [11Б]" in body["error"]
        [event] = events_of(stored(hub, "kgtu", KGTU, "rej-b")[0])
        assert event["DTSTART"].dt.hour == 17
    finally:
        set_policy(hub, "kgtu", "record")


WEEKLY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//calhub tests//move//RU
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20250101T000000Z
DTSTART;TZID=Europe/Kaliningrad:{start}
DTEND;TZID=Europe/Kaliningrad:{end}
RRULE:FREQ=WEEKLY;COUNT=4
SUMMARY:Робототехника [8В]
END:VEVENT
END:VCALENDAR
"""


def test_moving_one_date_of_a_series_adds_an_override(hub: Any) -> None:
    monday = own_week()
    start, end = at(monday, 16), at(monday, 17)
    text = WEEKLY.format(
        uid="mv-series", start=f"{start:%Y%m%dT%H%M%S}", end=f"{end:%Y%m%dT%H%M%S}"
    )
    assert put_text(hub, "bfu", BFU, "mv-series", text.replace("\n", "\r\n")).status == 201
    second = (start + dt.timedelta(weeks=1)).replace(tzinfo=ZONE).astimezone(dt.UTC)
    rid = f"{second:%Y%m%dT%H%M%SZ}"
    day = (monday + dt.timedelta(weeks=1, days=1)).isoformat()
    status, body = move(
        hub,
        "bfu",
        {
            "calendar": "bfu",
            "uid": "mv-series",
            "recurrence_id": rid,
            "start": f"{day}T18:00",
            "end": f"{day}T19:00",
        },
    )
    assert status == 200, body
    calendar, _ = stored(hub, "bfu", BFU, "mv-series")
    master, override = events_of(calendar)
    assert "RRULE" in master and master["DTSTART"].dt.hour == 16
    assert override["RECURRENCE-ID"].dt == second.astimezone(ZONE)
    assert override["DTSTART"].dt == dt.datetime.fromisoformat(f"{day}T18:00").replace(tzinfo=ZONE)
    assert str(override["SUMMARY"]) == "Робототехника [8В]" and "RRULE" not in override
    # Moving the same date again changes its override, and adds no second one.
    status, body = move(
        hub,
        "bfu",
        {
            "calendar": "bfu",
            "uid": "mv-series",
            "recurrence_id": rid,
            "start": f"{day}T17:30",
            "end": f"{day}T18:30",
        },
    )
    assert status == 200, body
    calendar, _ = stored(hub, "bfu", BFU, "mv-series")
    assert len(events_of(calendar)) == 2
    assert events_of(calendar)[1]["DTSTART"].dt.minute == 30


BERLIN = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//calhub tests//move//RU
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:mv-berlin
DTSTAMP:20250101T000000Z
DTSTART;TZID=Europe/Berlin:20270326T100000
DTEND;TZID=Europe/Berlin:20270326T113000
SUMMARY:Онлайн-встреча с партнёром из Берлина [11А]
END:VEVENT
END:VCALENDAR
"""


def test_a_move_across_the_dst_change_keeps_the_events_own_zone(hub: Any) -> None:
    # Berlin changes to summer time on 28 March 2027; Kaliningrad does not.
    assert put_text(hub, "bfu", BFU, "mv-berlin", BERLIN.replace("\n", "\r\n")).status == 201
    # At 10:00 on Friday 26 March Berlin is at +01:00, an hour behind Kaliningrad (+02:00);
    # 12:00 in Kaliningrad on Monday 29 March is 12:00 in Berlin, at +02:00 by then.
    status, body = move(
        hub,
        "bfu",
        {
            "calendar": "bfu",
            "uid": "mv-berlin",
            "start": "2027-03-29T12:00",
            "end": "2027-03-29T13:30",
        },
    )
    assert status == 200, body
    [event] = events_of(stored(hub, "bfu", BFU, "mv-berlin")[0])
    assert str(event["DTSTART"].params["TZID"]) == "Europe/Berlin"
    assert event["DTSTART"].dt.replace(tzinfo=None) == dt.datetime(2027, 3, 29, 12, 0)
    assert event["DTEND"].dt.replace(tzinfo=None) == dt.datetime(2027, 3, 29, 13, 30)
