"""Issue 11, finding 9: bad input gets a 4xx with a reason, never a 500, and no answer shows
a path of the server's disk.

Against a real hub: XML with a DTD or entities and XML nested too deep, in every method whose
body Radicale parses as XML; a REPORT that expands recurrences over the years 1 to 9999;
``/api/events`` over those years; names in an address over 255 bytes; a chunk size of 2^72;
a TZID of 20,000 characters and TZIDs that name directories of the zone database. After each,
the hub still answers and nothing was created. The number of cases is recorded for
docs/reliability.md.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import socket
import sys
import time
from typing import Any

import pytest
from helpers import PASSWORDS
from reliability_support import ICS, XML, at, day, event, get, healthy, put, record, run_threads

COORDINATOR = ("coordinator", PASSWORDS["coordinator"])
CALDAV = "urn:ietf:params:xml:ns:caldav"
TOTALS: dict[str, int] = {}


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    return module_hubs()


def dav(hub: Any, method: str, path: str, body: str | bytes, headers: dict[str, str]) -> Any:
    return hub.request(method, path, *COORDINATOR, body=body, headers=headers, timeout=30)


def assert_clear_4xx(answer: Any, case: str) -> None:
    assert 400 <= answer.status < 500, (case, answer.status, answer.text[:300])
    assert answer.text.strip(), (case, "empty body")
    assert_no_path(answer.text, case)


def assert_no_path(text: str, case: str) -> None:
    for secret in (sys.prefix, "site-packages", "/zoneinfo/", "/tmp/", "collection-root"):
        assert secret not in text, (case, secret, text[:600])


def count(kind: str, cases: int) -> None:
    TOTALS[kind] = TOTALS.get(kind, 0) + cases
    record("bad input 4xx", **TOTALS)


# -- XML: DTDs, entities, depth ------------------------------------------------------------

PROPFIND = '<D:propfind xmlns:D="DAV:"><D:prop>{inner}<D:getetag/></D:prop></D:propfind>'
DOCTYPES = {
    "internal entity": '<!DOCTYPE D:propfind [<!ENTITY a "aaaa">]>',
    "external entity": '<!DOCTYPE D:propfind [<!ENTITY a SYSTEM "file:///etc/passwd">]>',
    "parameter entity": '<!DOCTYPE D:propfind [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x">%p;]>',
    "external DTD": '<!DOCTYPE D:propfind SYSTEM "http://127.0.0.1:9/x.dtd">',
    "bare DOCTYPE": "<!DOCTYPE D:propfind>",
    "billion laughs": '<!DOCTYPE D:propfind [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">' for n in range(8))
    + "]>",
}


def xml_targets() -> list[tuple[str, str, dict[str, str], str]]:
    """(method, path, headers, body template with {doctype} and {inner})."""
    propertyupdate = (
        '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
        "<D:displayname>{inner}x</D:displayname></D:prop></D:set></D:propertyupdate>"
    )
    query = (
        f'<C:calendar-query xmlns:D="DAV:" xmlns:C="{CALDAV}"><D:prop><D:getetag/>{{inner}}'
        '</D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>'
    )
    mkcalendar = (
        f'<C:mkcalendar xmlns:D="DAV:" xmlns:C="{CALDAV}"><D:set><D:prop>'
        "<D:displayname>{inner}x</D:displayname></D:prop></D:set></C:mkcalendar>"
    )
    return [
        ("PROPFIND", "/dav/bfu/calendar/", {"Depth": "0", **XML}, PROPFIND),
        ("PROPFIND", "/dav/coordinator/", {"Depth": "1", **XML}, PROPFIND),
        ("PROPPATCH", "/dav/bfu/calendar/", XML, propertyupdate),
        ("REPORT", "/dav/bfu/calendar/", {"Depth": "1", **XML}, query),
        ("MKCALENDAR", "/dav/coordinator/xml-made/", XML, mkcalendar),
        ("MKCOL", "/dav/coordinator/xml-made/", XML, mkcalendar),
    ]


def test_xml_with_a_dtd_or_entities_is_refused_before_it_is_parsed(hub: Any) -> None:
    cases = 0
    for method, path, headers, template in xml_targets():
        for name, doctype in DOCTYPES.items():
            uses = "&a;" if "ENTITY a" in doctype else ("&i;" if "ENTITY i" in doctype else "")
            if name == "billion laughs":
                uses = "&i;"
            body = '<?xml version="1.0" encoding="utf-8"?>' + doctype + template.format(inner=uses)
            answer = dav(hub, method, path, body, headers)
            assert answer.status == 400, (method, name, answer.status, answer.text[:300])
            assert "DTD" in answer.text and "DOCTYPE" in answer.text, answer.text[:300]
            cases += 1
        # The same in UTF-16: the check reads what the XML parser would read.
        body16 = '<?xml version="1.0" encoding="utf-16"?>' + DOCTYPES["internal entity"]
        body16 += template.format(inner="&a;")
        answer = dav(hub, method, path, body16.encode("utf-16"), headers)
        assert answer.status == 400, (method, "utf-16", answer.status, answer.text[:300])
        cases += 1
    assert get(hub, "/dav/coordinator/xml-made/").status == 404
    assert healthy(hub)
    count("xml_dtd", cases)


def test_xml_nested_too_deep_is_refused(hub: Any) -> None:
    cases = 0
    for method, path, headers, template in xml_targets():
        for depth in (70, 1_000, 100_000):
            inner = "<D:x>" * depth + "</D:x>" * depth
            answer = dav(hub, method, path, template.format(inner=inner), headers)
            assert answer.status == 400, (method, depth, answer.status, answer.text[:300])
            assert "64" in answer.text, answer.text[:300]
            cases += 1
        # Real clients nest a few levels: a body 8 levels deep still gets its answer.
        inner = "<D:x>" * 6 + "</D:x>" * 6
        answer = dav(hub, method, path, template.format(inner=inner), headers)
        assert answer.status < 500 and "64" not in answer.text, (method, answer.text[:300])
        if answer.status in (200, 201):
            assert dav(hub, "DELETE", path, b"", {}).status in (200, 204)
    assert healthy(hub)
    count("xml_depth", cases)


# -- wide ranges -----------------------------------------------------------------------------


def expand_query(start: str, end: str) -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" '
        f'xmlns:C="{CALDAV}"><D:prop><C:calendar-data><C:expand start="{start}" end="{end}"/>'
        '</C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
        f'<C:comp-filter name="VEVENT"><C:time-range start="{start}" end="{end}"/>'
        "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    )


def test_a_report_expanding_over_years_1_to_9999_is_refused(hub: Any) -> None:
    start = at(day(2), 9)
    text = event("wide-expand", "Кружок [7]", start).replace(
        "SUMMARY", "RRULE:FREQ=WEEKLY;COUNT=5\r\nSUMMARY", 1
    )
    assert put(hub, "bfu", "/dav/bfu/calendar/wide-expand.ics", text).status == 201
    wide = [
        ("00010101T000000Z", "99991231T235959Z"),
        ("00010101T000000Z", "20300101T000000Z"),
        ("20200101T000000Z", "99991231T235959Z"),
        ("18000101T000000Z", "20300101T000000Z"),
    ]
    for path in ("/dav/bfu/calendar/", "/dav/coordinator/hub-bfu/"):
        for low, high in wide:
            answer = dav(hub, "REPORT", path, expand_query(low, high), {"Depth": "1", **XML})
            assert_clear_4xx(answer, f"expand {low}-{high}")
            assert "expand" in answer.text, answer.text[:300]
    # A filter's time-range alone may be that wide; an expand of a school year works.
    first = (start - dt.timedelta(days=30)).strftime("%Y%m%dT000000Z")
    last = (start + dt.timedelta(days=60)).strftime("%Y%m%dT000000Z")
    answer = dav(
        hub, "REPORT", "/dav/bfu/calendar/", expand_query(first, last), {"Depth": "1", **XML}
    )
    assert answer.status == 207, answer.text[:300]
    assert answer.text.count("RECURRENCE-ID") == 5, answer.text[:600]
    assert healthy(hub)
    count("report_expand", 2 * len(wide))


def test_api_events_over_years_1_to_9999_is_a_400(hub: Any) -> None:
    queries = [
        "start=0001-01-01&end=9999-12-31",
        "start=0001-01-01",
        "start=9999-12-31",
        "start=2026-01-01&end=9999-12-31",
        "start=0001-01-01T00:00:00&end=0001-01-02T00:00:00",
        "start=9999-12-31T23:59:59Z&end=9999-12-31T23:59:59Z",
        "start=1899-12-31&end=1900-01-31",
    ]
    for query in queries:
        answer = hub.request("GET", f"/api/events?{query}", *COORDINATOR)
        assert answer.status == 400, (query, answer.status, answer.text[:300])
        assert "1900" in answer.text and "2200" in answer.text, answer.text[:300]
    ok = hub.request("GET", "/api/events?start=2027-01-01&end=2027-02-01", *COORDINATOR)
    assert ok.status == 200, ok.text[:300]
    count("api_events_range", len(queries))


def test_other_date_filters_over_years_1_to_9999_are_no_500(hub: Any) -> None:
    api = [
        "from=0001-01-01&to=9999-12-31",
        "from=9999-12-31",
        "to=0001-01-01",
        "from=9999-12-31T23:59:59",
    ]
    for query in api:
        answer = hub.request("GET", f"/api/conflicts?{query}", *COORDINATOR)
        assert answer.status == 400, (query, answer.status, answer.text[:300])
        assert "1900" in answer.text and "2200" in answer.text, answer.text[:300]
    # The pages fall back to today's plan and the unfiltered list.
    pages = [
        "/plan?date=0001-01-01",
        "/plan?date=9999-12-31",
        "/plan?view=week&date=9999-12-31",
        "/plan?view=list&date=0001-01-01",
        "/conflicts?from=0001-01-01&to=9999-12-31",
        "/conflicts?to=0001-01-01",
    ]
    for path in pages:
        answer = hub.request("GET", path, *COORDINATOR)
        assert answer.status == 200, (path, answer.status)
    count("date_filters", len(api) + len(pages))


# -- names, chunk sizes, time zones ------------------------------------------------------------


def test_a_name_over_255_bytes_in_an_address_is_a_400(hub: Any) -> None:
    start = at(day(4), 12)
    long_names = ["a" * 256, "я" * 128, "b" * 1000]
    cases = 0
    for name in long_names:
        quoted = "".join(f"%{byte:02X}" for byte in name.encode()) if name[0] == "я" else name
        for method, path, body, headers in (
            ("PUT", f"/dav/bfu/calendar/{quoted}.ics", event("long-name", "x", start), ICS),
            ("MKCALENDAR", f"/dav/coordinator/{quoted}/", b"", {}),
            ("MKCOL", f"/dav/coordinator/{quoted}/", b"", {}),
            ("GET", f"/dav/bfu/calendar/{quoted}.ics", b"", {}),
            ("PROPFIND", f"/dav/bfu/{quoted}/", b"", {"Depth": "0"}),
            ("DELETE", f"/dav/bfu/calendar/{quoted}.ics", b"", {}),
        ):
            login = ("bfu", PASSWORDS["bfu"]) if method == "PUT" else COORDINATOR
            answer = hub.request(method, path, *login, body=body, headers=headers)
            assert answer.status == 400, (method, len(name), answer.status, answer.text[:300])
            assert "255" in answer.text, answer.text[:300]
            cases += 1
        moved = hub.request(
            "MOVE",
            "/dav/bfu/calendar/none.ics",
            "bfu",
            PASSWORDS["bfu"],
            headers={"Destination": hub.url + f"dav/bfu/calendar/{quoted}.ics"},
        )
        assert moved.status == 400, (len(name), moved.status, moved.text[:300])
        cases += 1
    # 255 bytes is still a name.
    fits = "c" * 251
    text = event("fits-255", "Лекция [5]", start)
    assert put(hub, "bfu", f"/dav/bfu/calendar/{fits}.ics", text).status == 201
    assert healthy(hub)
    count("long_names", cases)


def test_an_unreadable_charset_a_long_href_and_a_non_utf8_destination_are_4xx(
    hub: Any,
) -> None:
    start = at(day(6), 14)
    propfind = '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>'
    cases = 0
    for charset in ("nonexistent", "utf-16", "utf-32", "x" * 300):
        for method, path, body, extra, login in (
            ("PUT", "/dav/bfu/calendar/cs.ics", event("cs", "x", start), {}, "bfu"),
            ("PROPFIND", "/dav/bfu/calendar/", propfind, {"Depth": "0"}, "coordinator"),
        ):
            content_type = "text/calendar" if method == "PUT" else "application/xml"
            headers = {"Content-Type": f"{content_type}; charset={charset}", **extra}
            answer = hub.request(method, path, login, PASSWORDS[login], body=body, headers=headers)
            assert answer.status == 415, (method, charset[:20], answer.status, answer.text[:300])
            assert "UTF-8" in answer.text, answer.text[:300]
            cases += 1
    # Charsets that read ASCII as ASCII still work.
    for n, charset in enumerate(("utf-8", "UTF8", "us-ascii")):
        uid = f"cs-ok-{n}"
        headers = {"Content-Type": f"text/calendar; charset={charset}"}
        text = event(uid, "Лекция [5]" if "8" in charset else "Lecture [5]", at(day(6), 8 + n))
        stored = put(hub, "bfu", f"/dav/bfu/calendar/{uid}.ics", text, headers=headers)
        assert stored.status == 201, (charset, stored.status, stored.text[:300])
    multiget = (
        f'<C:calendar-multiget xmlns:D="DAV:" xmlns:C="{CALDAV}"><D:prop><D:getetag/></D:prop>'
        "<D:href>/dav/bfu/calendar/{name}.ics</D:href></C:calendar-multiget>"
    )
    for name in ("a" * 256, "%D1%8F" * 128, "b" * 5000):
        answer = dav(
            hub, "REPORT", "/dav/bfu/calendar/", multiget.format(name=name), {"Depth": "1", **XML}
        )
        assert answer.status == 400, (len(name), answer.status, answer.text[:300])
        assert "255" in answer.text, answer.text[:300]
        cases += 1
    fine = dav(
        hub, "REPORT", "/dav/bfu/calendar/", multiget.format(name="cs-ok-0"), {"Depth": "1", **XML}
    )
    assert fine.status == 207 and "cs-ok-0" in fine.text, fine.text[:300]
    for target in ("%ff%fe.ics", "%C3%28.ics", "%80"):
        moved = hub.request(
            "MOVE",
            "/dav/bfu/calendar/cs-ok-0.ics",
            "bfu",
            PASSWORDS["bfu"],
            headers={"Destination": hub.url + f"dav/bfu/calendar/{target}"},
        )
        assert moved.status == 400, (target, moved.status, moved.text[:300])
        assert "UTF-8" in moved.text, moved.text[:300]
        cases += 1
    assert get(hub, "/dav/bfu/calendar/cs-ok-0.ics").status == 200
    assert healthy(hub)
    count("charset_href_destination", cases)


def raw_chunked(hub: Any, size_line: bytes, login: tuple[str, str] | None) -> bytes:
    head = [
        b"PUT /dav/bfu/calendar/chunky.ics HTTP/1.1",
        f"Host: 127.0.0.1:{hub.port}".encode(),
        b"Transfer-Encoding: chunked",
        b"Content-Type: text/calendar",
        b"Connection: close",
    ]
    if login:
        token = base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode()
        head.append(f"Authorization: Basic {token}".encode())
    with socket.create_connection(("127.0.0.1", hub.port), timeout=CHUNK_WAIT) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + size_line + b"\r\nBEGIN:VCAL\r\n")
        received = b""
        while data := sock.recv(65536):
            received += data
    return received


# The server answers a chunk larger than the body limit at once (413), a size that is no
# number 400; before, 2^72 was a 500 (cheroot), then no answer for 60 s (waitress).
CHUNK_WAIT = 30.0


def test_a_chunk_size_of_2_to_the_72_is_a_4xx(hub: Any) -> None:
    sizes = [format(2**72, "x"), format(2**64, "x"), "f" * 40, format(2**63 - 1, "x"), "zz"]
    cases = [(size, login) for size in sizes for login in (("bfu", PASSWORDS["bfu"]), None)]
    answers: dict[tuple[str, bool], bytes] = {}

    def send(size: str, login: tuple[str, str] | None) -> None:
        answers[(size, login is not None)] = raw_chunked(hub, size.encode(), login)

    # All at once: a server that waited for each chunk would cost one wait, not ten.
    started = time.monotonic()
    run_threads([functools.partial(send, size, login) for size, login in cases])
    for (size, signed_in), received in answers.items():
        status = int(received.split(b" ", 2)[1])
        assert status in (400, 413), (size, signed_in, received[:300])
        assert received.partition(b"\r\n\r\n")[2].strip(), (size, received[:300])
    assert len(answers) == len(cases)
    assert time.monotonic() - started < 10, "the chunk sizes were not answered at once"
    assert healthy(hub)
    count("chunk_size", len(cases))


def tzid_event(uid: str, tzid: str) -> str:
    stamp = at(day(5), 10).strftime("%Y%m%dT%H%M%S")
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calhub tests//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;TZID={tzid}:{stamp}\r\n"
        f"DURATION:PT1H\r\nSUMMARY:Пояс [6]\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def test_a_tzid_gets_a_4xx_that_names_no_path_of_the_server(hub: Any) -> None:
    tzids = ["A" * 20_000, "A" * 300, "America", "Europe/", "Etc", "posix/Europe"]
    for n, tzid in enumerate(tzids):
        uid = f"tzid-{n}"
        answer = put(hub, "bfu", f"/dav/bfu/calendar/{uid}.ics", tzid_event(uid, tzid))
        assert_clear_4xx(answer, f"TZID {tzid[:20]}")
        assert "time zone" in answer.text, answer.text[:300]
        assert len(answer.text) < 4000, len(answer.text)  # the name is not echoed back
        assert get(hub, f"/dav/bfu/calendar/{uid}.ics").status == 404
    assert healthy(hub)
    count("tzid", len(tzids))
