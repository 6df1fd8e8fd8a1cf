"""Bodies that cost CPU by their counts are refused by the limits in calhub.toml (issue 11,
finding 7).

Before: 9,000 changed instances (RECURRENCE-ID) in 1.4 MB took 15-61 s, 150,000 RDATEs 9 s,
150,000 EXDATEs 12 s, a PROPFIND naming 20,000 properties 11.5 s, and the 20-alarm limit was
counted per parent, so alarms wrapped in X- components or in each other went through. Each
count is now bounded at any depth, and a request over a limit gets a 4xx naming the limit
and its [hub] key, stores nothing and costs no more than the scan up to the limit.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from helpers import PASSWORDS
from reliability_support import XML, collection_hrefs, get, healthy, put, record

from calhub.engine.rawscan import MAX_ALARMS, MAX_DATES, MAX_OVERRIDES

CALENDAR = "/dav/bfu/calendar/"
HANG = 20.0  # seconds: a refusal takes milliseconds; only parsing the whole body takes more
START = dt.datetime.combine(dt.date.today() + dt.timedelta(days=14), dt.time(10), dt.UTC)


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def series(uid: str, inside: str = "", after: str = "") -> str:
    """A daily series of ``uid`` (with ``inside`` in its master), then ``after``."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calhub//heavy//RU\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:{stamp(START)}\r\nDTEND:{stamp(START + dt.timedelta(hours=1))}\r\n"
        f"RRULE:FREQ=DAILY;COUNT=600\r\nSUMMARY:Курс {uid} [10]\r\n{inside}END:VEVENT\r\n"
        f"{after}END:VCALENDAR\r\n"
    )


def overrides(uid: str, count: int, wrap: str = "") -> str:
    """``count`` changed instances of ``uid``, each inside ``BEGIN:wrap`` if given."""
    parts = []
    for n in range(count):
        moment = START + dt.timedelta(days=n)
        event = (
            f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
            f"RECURRENCE-ID:{stamp(moment)}\r\nDTSTART:{stamp(moment + dt.timedelta(hours=2))}\r\n"
            f"DTEND:{stamp(moment + dt.timedelta(hours=3))}\r\nSUMMARY:Перенос [10]\r\n"
            "END:VEVENT\r\n"
        )
        parts.append(f"BEGIN:{wrap}\r\n{event}END:{wrap}\r\n" if wrap else event)
    return "".join(parts)


def dates(name: str, count: int, per_line: int) -> str:
    values = [stamp(START + dt.timedelta(days=n, minutes=30)) for n in range(count)]
    return "".join(
        f"{name}:{','.join(values[at : at + per_line])}\r\n" for at in range(0, count, per_line)
    )


ALARM = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:x\r\nEND:VALARM\r\n"


def wrapped_alarms(count: int) -> str:
    """``count`` alarms, one per X- wrapper (the old limit counted per parent)."""
    return f"BEGIN:X-WRAP\r\n{ALARM}END:X-WRAP\r\n" * count


def nested_alarms(count: int) -> str:
    """``count`` alarms, each inside the one before."""
    opening = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:x\r\n"
    return opening * count + "END:VALARM\r\n" * count


# (case, body, the limit the refusal names, the property or key it names)
REFUSED = [
    (
        "overrides-501",
        series("o1", after=overrides("o1", MAX_OVERRIDES + 1)),
        "max_overrides_per_event",
    ),
    ("overrides-9000", series("o2", after=overrides("o2", 9000)), "max_overrides_per_event"),
    (
        "overrides-x-wrapped",
        series("o3", after=overrides("o3", MAX_OVERRIDES + 1, wrap="X-GROUP")),
        "max_overrides_per_event",
    ),
    ("rdate-1001", series("r1", inside=dates("RDATE", MAX_DATES + 1, 50)), "max_dates_per_event"),
    ("rdate-150000", series("r2", inside=dates("RDATE", 150_000, 150_000)), "max_dates_per_event"),
    ("exdate-1001", series("e1", inside=dates("EXDATE", MAX_DATES + 1, 1)), "max_dates_per_event"),
    ("exdate-150000", series("e2", inside=dates("EXDATE", 150_000, 1000)), "max_dates_per_event"),
    (
        "rdate-in-overrides",
        # 21 changed instances with 50 RDATEs each: over the limit for the UID together.
        series(
            "r3",
            after=overrides("r3", 21).replace("END:VEVENT", dates("RDATE", 50, 50) + "END:VEVENT"),
        ),
        "max_dates_per_event",
    ),
    ("alarms-x-wrapped-9000", series("a1", inside=wrapped_alarms(9000)), "VALARM"),
    ("alarms-x-wrapped-21", series("a2", inside=wrapped_alarms(MAX_ALARMS + 1)), "VALARM"),
    ("alarms-nested-21", series("a3", inside=nested_alarms(MAX_ALARMS + 1)), "VALARM"),
    ("alarms-outside-events", series("a4", after=wrapped_alarms(MAX_ALARMS + 1)), "VALARM"),
]


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    return module_hubs()


@pytest.mark.parametrize(("case", "body", "named"), REFUSED, ids=[r[0] for r in REFUSED])
def test_heavy_body_is_refused_naming_the_limit(hub: Any, case: str, body: str, named: str) -> None:
    before = collection_hrefs(hub, CALENDAR)
    started = time.monotonic()
    response = put(hub, "bfu", f"{CALENDAR}{case}.ics", body, timeout=HANG)
    seconds = time.monotonic() - started
    assert response.status == 403, (case, response.status, response.text[:500])
    assert "valid-calendar-object-resource" in response.text
    assert named in response.text, response.text[:800]
    assert "Событие не сохранено" in response.text and "The event was not saved" in response.text
    assert get(hub, f"{CALENDAR}{case}.ics").status == 404
    assert collection_hrefs(hub, CALENDAR) == before
    assert healthy(hub)
    record("heavy bodies refused", **{case: f"{len(body) / 1e6:.2f} MB in {seconds:.2f} s"})


def test_bodies_within_the_limits_are_taken(hub: Any) -> None:
    cases = {
        "overrides-500": series("ok1", after=overrides("ok1", MAX_OVERRIDES)),
        "rdate-exdate-1000": series(
            "ok2", inside=dates("RDATE", MAX_DATES, 100) + dates("EXDATE", MAX_DATES, 100)
        ),
        "alarms-20-wrapped": series("ok3", inside=wrapped_alarms(MAX_ALARMS)),
    }
    for case, body in cases.items():
        response = put(hub, "bfu", f"{CALENDAR}{case}.ics", body, timeout=60)
        assert response.status == 201, (case, response.status, response.text[:500])
        assert get(hub, f"{CALENDAR}{case}.ics").status == 200


def propfind(count: int) -> str:
    props = "".join(f"<X:p{n}/>" for n in range(count))
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<D:propfind xmlns:D="DAV:" xmlns:X="urn:example:props">'
        f"<D:prop><D:getetag/>{props}</D:prop></D:propfind>"
    )


def calendar_query(count: int) -> str:
    props = "".join(f"<X:p{n}/>" for n in range(count))
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
        f'xmlns:X="urn:example:props"><D:prop><D:getetag/>{props}</D:prop>'
        '<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>'
    )


def proppatch(count: int) -> str:
    """Sets the display name and ``count - 1`` dead properties."""
    props = "".join(f"<X:p{n}>x</X:p{n}>" for n in range(count - 1))
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:example:props"><D:set><D:prop>'
        f"<D:displayname>БФУ</D:displayname>{props}</D:prop></D:set></D:propertyupdate>"
    )


def dav(hub: Any, method: str, body: str, depth: str = "1") -> Any:
    return hub.request(
        method,
        CALENDAR,
        "bfu",
        PASSWORDS["bfu"],
        body=body,
        headers={"Depth": depth, **XML},
        timeout=HANG,
    )


COUNTED = [
    ("PROPFIND", 200),
    ("PROPFIND", 201),
    ("PROPFIND", 20_000),
    ("REPORT", 200),
    ("REPORT", 201),
    ("REPORT", 20_000),
    # Within the limit, dead properties on a hub calendar meet the property guard (403).
    ("PROPPATCH", 201),
    ("PROPPATCH", 20_000),
]


@pytest.mark.parametrize(("method", "count"), COUNTED)
def test_properties_named_in_a_request_are_bounded(hub: Any, method: str, count: int) -> None:
    # getetag (displayname) and ``count - 1`` more: 200 in all is the default limit.
    if method == "PROPPATCH":
        body = proppatch(count)
    else:
        body = propfind(count - 1) if method == "PROPFIND" else calendar_query(count - 1)
    started = time.monotonic()
    response = dav(hub, method, body, depth="0" if method == "PROPPATCH" else "1")
    seconds = time.monotonic() - started
    if count <= 200:
        assert response.status == 207, response.text[:500]
        return
    assert response.status == 403, (response.status, response.text[:500])
    assert "max-properties" in response.text
    assert "max_properties_per_request" in response.text
    assert "Запрос не принят" in response.text and "The request was refused" in response.text
    record("heavy requests refused", **{f"{method}-{count}": f"{seconds:.2f} s"})


def test_limits_come_from_calhub_toml(fresh_hub: Any) -> None:
    hub = fresh_hub(
        hub_settings={
            "max_overrides_per_event": 3,
            "max_dates_per_event": 5,
            "max_components_per_object": 40,
            "max_properties_per_request": 10,
        }
    )
    taken = {
        "three-overrides": series("t1", after=overrides("t1", 3)),
        "five-dates": series("t2", inside=dates("RDATE", 5, 5)),
        "forty-components": series("t3", inside="BEGIN:X-F\r\nEND:X-F\r\n" * 38),
    }
    refused = {
        "four-overrides": (series("t4", after=overrides("t4", 4)), "max_overrides_per_event"),
        "six-dates": (series("t5", inside=dates("EXDATE", 6, 2)), "max_dates_per_event"),
        "41-components": (
            series("t6", inside="BEGIN:X-F\r\nEND:X-F\r\n" * 39),
            "max_components_per_object",
        ),
    }
    for case, body in taken.items():
        response = put(hub, "bfu", f"{CALENDAR}{case}.ics", body)
        assert response.status == 201, (case, response.status, response.text[:500])
    for case, (body, named) in refused.items():
        response = put(hub, "bfu", f"{CALENDAR}{case}.ics", body)
        assert response.status == 403, (case, response.status, response.text[:500])
        assert named in response.text
    assert dav(hub, "PROPFIND", propfind(9)).status == 207
    refusal = dav(hub, "PROPFIND", propfind(10))
    assert refusal.status == 403 and "max_properties_per_request" in refusal.text
    # A partner may relabel its own calendar; setting many properties at once is refused.
    assert dav(hub, "PROPPATCH", proppatch(1), depth="0").status == 207
    refusal = dav(hub, "PROPPATCH", proppatch(11), depth="0")
    assert refusal.status == 403 and "max_properties_per_request" in refusal.text


def test_a_whole_calendar_upload_has_its_own_component_limit(fresh_hub: Any) -> None:
    """Issue 21: a restore of a whole calendar (outside the hub's calendars, where whole
    PUTs are refused anyway) is bounded by max_components_per_calendar in all and by
    max_components_per_object for each event in it; a refused one stores nothing."""
    hub = fresh_hub(
        hub_settings={"max_components_per_object": 40, "max_components_per_calendar": 120}
    )
    alarm = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:x\r\nEND:VALARM\r\n"

    def calendar(count: int, inside: str = "") -> str:
        events = "".join(
            f"BEGIN:VEVENT\r\nUID:restore-{n}\r\nDTSTAMP:20260101T000000Z\r\n"
            f"DTSTART:{stamp(START + dt.timedelta(days=n))}\r\n"
            f"DTEND:{stamp(START + dt.timedelta(days=n, hours=1))}\r\n"
            f"SUMMARY:Занятие {n}\r\n{alarm}{inside if n == 0 else ''}END:VEVENT\r\n"
            for n in range(count)
        )
        head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calhub//restore//RU\r\n"
        return f"{head}{events}END:VCALENDAR\r\n"

    taken = put(hub, "coordinator", "/dav/coordinator/restored/", calendar(50))  # 101
    assert taken.status == 201, (taken.status, taken.text[:500])
    assert len(collection_hrefs(hub, "/dav/coordinator/restored/")) == 50
    for path, body, named in (
        ("/dav/coordinator/too-many/", calendar(60), "max_components_per_calendar"),  # 121
        (
            "/dav/coordinator/heavy-event/",
            calendar(3, "BEGIN:X-F\r\nEND:X-F\r\n" * 39),  # restore-0: 41
            "max_components_per_object",
        ),
    ):
        refused = put(hub, "coordinator", path, body)
        assert refused.status == 403, (path, refused.status, refused.text[:500])
        assert named in refused.text, refused.text[:500]
        assert get(hub, path).status == 404, path
    assert healthy(hub)
