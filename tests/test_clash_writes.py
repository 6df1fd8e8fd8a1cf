"""Every write path is checked: PUT of one event, MOVE, whole-calendar PUT, DELETE; the
``reject`` policy refuses new hard clashes (409 with a DAV:error body) and stores nothing,
also when two writers race; recurring events with EXDATE and moved overrides."""

from __future__ import annotations

import datetime as dt
import threading
import xml.etree.ElementTree as ET
from typing import Any

import caldav
import pytest
from caldav.lib import error as caldav_error
from clash_support import (
    at,
    conflicts,
    involving,
    own_week,
    put_event,
    put_text,
    rules_between,
    set_policy,
)
from helpers import PASSWORDS, dav_client, make_event, vtimezone

CALHUB_NS = "urn:calhub:ns:clash"


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    hub = module_hubs()
    set_policy(hub, "kgtu", "reject")
    return hub


def get_status(hub: Any, login: str, path: str) -> int:
    return int(hub.request("GET", f"/dav{path}", login, PASSWORDS[login]).status)


def test_reject_policy_refuses_a_new_hard_clash_with_409_and_stores_nothing(hub: Any) -> None:
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "rj-a", "Лекция [10-11]", at(day, 15), at(day, 16))
    refused = put_event(
        hub, "kgtu", "/kgtu/calendar/", "rj-b", "Мастер-класс [10А]", at(day, 15), at(day, 16)
    )
    assert refused.status == 409
    assert refused.header("content-type").startswith("application/xml")
    root = ET.fromstring(refused.text)
    assert root.tag == "{DAV:}error"
    precondition = root.find(f"{{{CALHUB_NS}}}no-new-clash")
    assert precondition is not None
    clash = precondition.find(f"{{{CALHUB_NS}}}clash")
    assert clash is not None and clash.get("rule") == "audience"
    events = {e.get("uid"): e for e in clash}
    assert events["rj-a"].get("calendar") == "bfu"
    assert events["rj-a"].text == "Лекция [10-11]"
    text = root.findtext("{DAV:}responsedescription") or ""
    assert "Лекция [10-11]" in text and "The event was not saved" in text
    assert get_status(hub, "kgtu", "/kgtu/calendar/rj-b.ics") == 404
    assert involving(conflicts(hub), "rj-a", "rj-b") == []


def test_reject_policy_accepts_soft_clashes_and_clash_free_events(hub: Any) -> None:
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "soft-a", "Лекция [9]", at(day, 14), at(day, 15))
    travel = put_event(
        hub,
        "kgtu",
        "/kgtu/calendar/",
        "soft-b",
        "Практикум [9]",
        at(day, 15, 10),
        at(day, 16),
        location="КГТУ",
    )
    assert travel.status == 201


def test_caldav_client_raises_put_error_with_the_precondition(hub: Any) -> None:
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "cl-a", "Лекция [8]", at(day, 15), at(day, 16))
    client = dav_client(hub.url, "kgtu")
    calendar = client.calendar(url=hub.url + "dav/kgtu/calendar/")
    text = make_event("cl-b", "Экскурсия [8Б]", at(day, 15, 30), at(day, 17))
    with pytest.raises(caldav_error.PutError) as raised:
        calendar.add_event(text)
    assert f"{{{CALHUB_NS}}}no-new-clash" in raised.value.preconditions
    assert get_status(hub, "kgtu", "/kgtu/calendar/cl-b.ics") == 404


def test_an_edit_that_keeps_an_existing_clash_is_not_refused(hub: Any) -> None:
    day = own_week()
    # The clash exists before kgtu turns on 'reject' for this pair: bfu adds it later.
    put_event(hub, "kgtu", "/kgtu/calendar/", "keep-b", "Лекция [7]", at(day, 15), at(day, 16))
    put_event(hub, "bfu", "/bfu/calendar/", "keep-a", "Лекция [7А]", at(day, 15), at(day, 16))
    assert "audience" in rules_between(hub, "keep-a", "keep-b")
    edited = put_event(
        hub,
        "kgtu",
        "/kgtu/calendar/",
        "keep-b",
        "Лекция (перенос) [7]",
        at(day, 15, 30),
        at(day, 16),
    )
    assert edited.status == 204
    moved_away = put_event(
        hub, "kgtu", "/kgtu/calendar/", "keep-b", "Лекция [7]", at(day, 17), at(day, 18)
    )
    assert moved_away.status == 204


def test_an_approved_clash_is_not_new(hub: Any) -> None:
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "ap-a", "Лекция [6]", at(day, 15), at(day, 16))
    set_policy(hub, "kgtu", "record")
    try:
        put_event(hub, "kgtu", "/kgtu/calendar/", "ap-b", "Практикум [6]", at(day, 15), at(day, 16))
    finally:
        set_policy(hub, "kgtu", "reject")
    [record] = [r for r in involving(conflicts(hub), "ap-a", "ap-b") if r["rule"] == "audience"]
    approved = hub.request(
        "POST",
        f"/api/conflicts/{record['id']}/approve",
        "coordinator",
        PASSWORDS["coordinator"],
        body='{"comment": "Разные группы, согласовано"}',
        headers={"Content-Type": "application/json"},
    )
    assert approved.status == 200
    # Delete and put back: the clash comes back, approved, and is not refused.
    hub.request("DELETE", "/dav/kgtu/calendar/ap-b.ics", "kgtu", PASSWORDS["kgtu"])
    again = put_event(
        hub, "kgtu", "/kgtu/calendar/", "ap-b", "Практикум [6]", at(day, 15), at(day, 16)
    )
    assert again.status == 201
    [record] = [r for r in involving(conflicts(hub), "ap-a", "ap-b") if r["rule"] == "audience"]
    assert record["status"] == "approved"


def test_racing_clashing_puts_in_reject_mode_exactly_one_wins(hub: Any) -> None:
    set_policy(hub, "bfu", "reject")
    try:
        for trial in range(10):
            day = own_week()
            barrier = threading.Barrier(2)
            statuses: dict[str, int] = {}

            def writer(
                login: str,
                text: str,
                barrier: threading.Barrier = barrier,
                statuses: dict[str, int] = statuses,
            ) -> None:
                uid = text.split("UID:", 1)[1].split("\r\n", 1)[0]
                barrier.wait()
                statuses[login] = put_text(hub, login, f"/{login}/calendar/", uid, text).status

            threads = [
                threading.Thread(
                    target=writer,
                    args=(
                        login,
                        make_event(
                            f"race{trial}-{login}", f"Гонка {trial} [5]", at(day, 15), at(day, 16)
                        ),
                    ),
                )
                for login in ("bfu", "kgtu")
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert sorted(statuses.values()) == [201, 409], (trial, statuses)
            stored = [
                get_status(hub, login, f"/{login}/calendar/race{trial}-{login}.ics")
                for login in ("bfu", "kgtu")
            ]
            assert sorted(stored) == [200, 404]
    finally:
        set_policy(hub, "bfu", "record")


def test_move_between_calendars_is_checked_and_recorded(hub: Any) -> None:
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "mv-a", "Лекция [11]", at(day, 15), at(day, 16))
    put_event(
        hub,
        "coordinator",
        "/school/calendar/",
        "mv-b",
        "Классный час [11Б]",
        at(day, 9),
        at(day, 10),
    )
    # The coordinator moves the school event into kgtu's calendar, at a time that clashes.
    put_event(
        hub,
        "coordinator",
        "/school/calendar/",
        "mv-b",
        "Классный час [11Б]",
        at(day, 15),
        at(day, 16),
    )
    assert "audience" in rules_between(hub, "mv-a", "mv-b")
    set_policy(hub, "kgtu", "record")
    try:
        moved = hub.request(
            "MOVE",
            "/dav/school/calendar/mv-b.ics",
            "coordinator",
            PASSWORDS["coordinator"],
            headers={"Destination": hub.url + "dav/kgtu/calendar/mv-b.ics"},
        )
    finally:
        set_policy(hub, "kgtu", "reject")
    assert moved.status in (201, 204), moved.text
    records = [r for r in involving(conflicts(hub), "mv-a", "mv-b") if r["rule"] == "audience"]
    by_calendar = {
        next(o["calendar"] for o in r["occurrences"] if o["uid"] == "mv-b"): r["status"]
        for r in records
    }
    assert by_calendar == {"school": "resolved", "kgtu": "open"}


def test_move_into_a_reject_calendar_is_refused_when_it_clashes(hub: Any) -> None:
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "mvr-a", "Лекция [10]", at(day, 15), at(day, 16))
    put_event(
        hub, "coordinator", "/school/calendar/", "mvr-b", "Собрание [10В]", at(day, 15), at(day, 16)
    )
    moved = hub.request(
        "MOVE",
        "/dav/school/calendar/mvr-b.ics",
        "coordinator",
        PASSWORDS["coordinator"],
        headers={"Destination": hub.url + "dav/kgtu/calendar/mvr-b.ics"},
    )
    assert moved.status == 409
    assert get_status(hub, "coordinator", "/school/calendar/mvr-b.ics") == 200
    assert get_status(hub, "coordinator", "/kgtu/calendar/mvr-b.ics") == 404


def whole_calendar(*events: str) -> str:
    """One VCALENDAR holding the VEVENTs of several ``make_event`` texts."""
    bodies = []
    for text in events:
        start = text.index("BEGIN:VEVENT")
        end = text.index("END:VEVENT") + len("END:VEVENT")
        bodies.append(text[start:end])
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calhub tests//EN\r\n"
    return head + vtimezone("Europe/Kaliningrad") + "\r\n".join(bodies) + "\r\nEND:VCALENDAR\r\n"


def test_whole_calendar_put_into_a_hub_calendar_is_refused(fresh_hub: Any) -> None:
    """Nobody, the coordinator included, replaces a hub calendar whole: the PUT would
    delete every event not in the body (issue 11). Events go in one PUT each."""
    hub = fresh_hub()
    day = own_week()
    put_event(hub, "kgtu", "/kgtu/calendar/", "wc-a", "Лекция [9]", at(day, 15), at(day, 16))
    body = whole_calendar(
        make_event("wc-b", "Практикум [9А]", at(day, 15), at(day, 16)),
        make_event("wc-c", "Экскурсия [5]", at(day, 10), at(day, 11)),
    )
    for calendar in ("kgtu/calendar", "school/calendar", "school/blackout"):
        replaced = hub.request(
            "PUT",
            f"/dav/{calendar}/",
            "coordinator",
            PASSWORDS["coordinator"],
            body=body,
            headers={"Content-Type": "text/calendar"},
        )
        assert replaced.status == 403, (calendar, replaced.status, replaced.text[:300])
        assert "PUT" in replaced.text, replaced.text[:300]
    # Nothing changed: wc-a is still there, wc-b and wc-c never arrived.
    assert get_status(hub, "kgtu", "/kgtu/calendar/wc-a.ics") == 200
    assert get_status(hub, "kgtu", "/kgtu/calendar/wc-b.ics") == 404
    assert get_status(hub, "coordinator", "/school/calendar/wc-c.ics") == 404


RECURRING = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//calhub tests//EN\r
{tz}BEGIN:VEVENT\r
UID:series\r
DTSTAMP:20250101T000000Z\r
DTSTART;TZID=Europe/Kaliningrad:{start}\r
DTEND;TZID=Europe/Kaliningrad:{end}\r
RRULE:FREQ=WEEKLY;COUNT=4\r
EXDATE;TZID=Europe/Kaliningrad:{exdate}\r
SUMMARY:Кружок робототехники [8]\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:series\r
DTSTAMP:20250101T000000Z\r
RECURRENCE-ID;TZID=Europe/Kaliningrad:{moved_from}\r
DTSTART;TZID=Europe/Kaliningrad:{moved_to}\r
DTEND;TZID=Europe/Kaliningrad:{moved_to_end}\r
SUMMARY:Кружок робототехники (перенос) [8]\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_recurring_event_with_exdate_and_moved_override(fresh_hub: Any) -> None:
    hub = fresh_hub()
    monday = own_week()
    fmt = "%Y%m%dT%H%M%S"

    def week(n: int, hour: int) -> dt.datetime:
        return at(monday + dt.timedelta(weeks=n, days=2), hour)

    text = RECURRING.format(
        tz=vtimezone("Europe/Kaliningrad"),
        start=week(0, 15).strftime(fmt),
        end=week(0, 16).strftime(fmt),
        exdate=week(1, 15).strftime(fmt),
        moved_from=week(2, 15).strftime(fmt),
        moved_to=week(2, 17).strftime(fmt),
        moved_to_end=week(2, 18).strftime(fmt),
    )
    assert put_text(hub, "bfu", "/bfu/calendar/", "series", text).status == 201
    slots = {
        "w0": (week(0, 15), True),  # a normal occurrence
        "w1": (week(1, 15), False),  # excluded by EXDATE
        "w2-old": (week(2, 15), False),  # the occurrence moved away from here
        "w2-new": (week(2, 17), True),  # ... to here
        "w3": (week(3, 15), True),
    }
    for uid, (start, _) in slots.items():
        put_event(
            hub,
            "kgtu",
            "/kgtu/calendar/",
            uid,
            f"Лекция {uid} [8А]",
            start,
            start + dt.timedelta(hours=1),
        )
    for uid, (_, clashes) in slots.items():
        assert ("audience" in rules_between(hub, "series", uid)) is clashes, uid
    [record] = [r for r in involving(conflicts(hub), "series", "w2-new") if r["rule"] == "audience"]
    series = next(o for o in record["occurrences"] if o["uid"] == "series")
    assert series["recurrence_id"] and series["summary"].startswith(
        "Кружок робототехники (перенос)"
    )


def test_unreadable_calendar_data_gets_403_with_a_reason(hub: Any) -> None:
    """RFC 4791 §1.3: a precondition that will always fail is a 403 naming it."""
    broken = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:broken\r\n"
        "DTSTART:not-a-date\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    response = put_text(hub, "bfu", "/bfu/calendar/", "broken", broken)
    assert response.status == 403
    assert "calhub cannot read this event" in response.text
    assert "valid-calendar-object-resource" in response.text
    assert get_status(hub, "bfu", "/bfu/calendar/broken.ics") == 404
    day = own_week()
    bad_order = make_event("backwards", "Лекция [9]", at(day, 16), at(day, 15))
    response = put_text(hub, "bfu", "/bfu/calendar/", "backwards", bad_order)
    assert response.status == 403
    assert "DTEND" in response.text
    assert get_status(hub, "bfu", "/bfu/calendar/backwards.ics") == 404
    not_ical = put_text(hub, "bfu", "/bfu/calendar/", "junk", "hello, world")
    assert not_ical.status == 403 and "not valid iCalendar" in not_ical.text
    assert "valid-calendar-data" in not_ical.text
    assert hub.request("GET", "/healthz").status == 200


def test_caldav_client_events_round_trip_in_reject_calendar(hub: Any) -> None:
    client = dav_client(hub.url, "kgtu")
    calendar: caldav.Calendar = client.calendar(url=hub.url + "dav/kgtu/calendar/")
    day = own_week() + dt.timedelta(days=5)
    event = calendar.add_event(make_event("rt-1", "Суббота [5]", at(day, 10), at(day, 11)))
    assert event.url is not None
    found = calendar.search(start=at(day, 0), end=at(day, 23), event=True)
    assert "rt-1" in {e.icalendar_component["uid"] for e in found}


def test_overload_made_hard_refuses_the_sixth_event_and_lists_the_whole_week(
    fresh_hub: Any,
) -> None:
    """A check only counts a grade-week; the refusal still names every event in it."""
    from calhub.hub import configfile

    hub = fresh_hub()
    document = configfile.read_document(hub.data_dir)
    document["rules"]["overload"]["severity"] = "hard"  # type: ignore[index]
    configfile.save_document(hub.data_dir, document)
    set_policy(hub, "kgtu", "reject")
    monday = own_week()
    for n in range(5):
        day = monday + dt.timedelta(days=n)
        created = put_event(
            hub, "bfu", "/bfu/calendar/", f"week-{n}", f"Занятие {n} [7Г]", at(day, 9), at(day, 10)
        )
        assert created.status == 201
    sixth = put_event(
        hub, "kgtu", "/kgtu/calendar/", "week-5", "Экскурсия [7]", at(monday, 14), at(monday, 15)
    )
    assert sixth.status == 409, sixth.text
    root = ET.fromstring(sixth.text)
    clash = root.find(f"{{{CALHUB_NS}}}no-new-clash/{{{CALHUB_NS}}}clash")
    assert clash is not None and clash.get("rule") == "overload"
    assert sorted(e.get("uid") for e in clash) == [f"week-{n}" for n in range(6)]
    assert "6 событий" in (root.findtext("{DAV:}responsedescription") or "")
    assert get_status(hub, "kgtu", "/kgtu/calendar/week-5.ics") == 404
