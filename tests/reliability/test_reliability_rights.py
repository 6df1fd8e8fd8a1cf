"""Auth and rights under pressure: delayed wrong passwords (also in parallel), the rights
matrix re-checked under every HTTP method, and path and Destination tricks.

What this proves:
- every failed login, whatever the endpoint (CalDAV or the JSON API) and however many
  arrive at once, is answered 401 after at least ~1 s (failed_login_delay);
- whatever method bfu uses (the WebDAV ones, unknown ones, OPTIONS, TRACE ...), it can read
  kgtu's hub calendar (partners see every hub calendar) but never change it, and never read
  or change a private collection under kgtu's principal;
- no path trick (``..``, ``%2e%2e``, ``%2F``, ``//``, backslashes, look-alike letters,
  other principals, the read-only shares) and no Destination of MOVE/COPY (absolute URLs,
  other host names, encoded dots, shares) lets bfu read kgtu's private data or write
  kgtu's calendar: kgtu's calendar and private collection are unchanged after each, the
  secret text never appears in an answer, and no file mentioning bfu's events appears in
  kgtu's storage.

tests/test_hub_rights.py has the full matrix (every account on every calendar); this
module re-checks its partner-on-other-partner rows across methods and tricks.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from helpers import PASSWORDS, creds, mkcalendar_body, request
from reliability_support import (
    ICS,
    XML,
    at,
    collection_hrefs,
    day,
    event,
    get,
    healthy,
    put,
    raw_request,
    record,
)

SECRET = "СЕКРЕТ-kgtu-7f3a"
PRIVATE = "/dav/kgtu/private-notes/"
VICTIM = "/dav/kgtu/calendar/victim.ics"
PROPFIND = (
    '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
)
REPORT = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
    '<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>'
)
PROPPATCH = (
    '<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
    "<D:displayname>Взломан</D:displayname></D:prop></D:set></D:propertyupdate>"
)


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    """kgtu has an event in its hub calendar and, under its principal, a private calendar
    (made by the coordinator) holding a secret."""
    hub = module_hubs()
    victim = event("victim", "Лекция КГТУ [10]", at(day(1), 12))
    assert put(hub, "kgtu", VICTIM, victim).status == 201
    made = hub.request(
        "MKCALENDAR", PRIVATE, *creds("coordinator"), body=mkcalendar_body(f"Заметки {SECRET}")
    )
    assert made.status == 201, made.text
    secret = event("secret-1", f"{SECRET} приватно", at(day(1), 9))
    assert put(hub, "coordinator", f"{PRIVATE}secret-1.ics", secret).status == 201
    return hub


def snapshot(hub: Any) -> tuple[Any, ...]:
    """kgtu's hub calendar and private calendar as the coordinator sees them."""
    names = []
    for path in ("/dav/kgtu/calendar/", PRIVATE):
        response = hub.request(
            "PROPFIND", path, *creds("coordinator"), body=PROPFIND, headers={"Depth": "0", **XML}
        )
        assert response.status == 207, response.text[:300]
        names.append(response.text.split("displayname>", 1)[1].split("<", 1)[0])
    return (
        tuple(names),
        tuple(sorted(collection_hrefs(hub, "/dav/kgtu/calendar/").items())),
        tuple(sorted(collection_hrefs(hub, PRIVATE).items())),
    )


def ascii_path(path: str) -> str:
    """Non-ASCII characters percent-encoded as UTF-8, as a client would send them."""
    return quote(path, safe="".join(chr(c) for c in range(33, 127)))


def both_ways(
    hub: Any, method: str, path: str, body: str | None, headers: dict[str, str]
) -> list[Any]:
    """The request with the path as given (non-ASCII percent-encoded) and, when it has
    non-ASCII characters, once more with them as raw UTF-8 bytes on the request line."""
    answers = [
        request(hub.url, method, ascii_path(path), *creds("bfu"), body=body, headers=headers)
    ]
    if not path.isascii():
        data = body.encode() if body else b""
        answers.append(raw_request(hub, method, path, creds("bfu"), data, headers))
    return answers


def kgtu_traces(data_dir: Path, uid: str) -> list[Path]:
    folder = data_dir / "storage" / "collection-root" / "kgtu"
    return [
        p
        for p in folder.rglob("*")
        if p.is_file() and (uid in p.name or uid.encode() in p.read_bytes())
    ]


# -- failed logins ---------------------------------------------------------------------------

WRONG = [
    ("GET", "/dav/bfu/calendar/", "bfu", "wrong-password"),
    ("PROPFIND", "/dav/", "nobody", "any-password"),
    ("PUT", "/dav/kgtu/calendar/x.ics", "kgtu", PASSWORDS["bfu"]),
    ("GET", "/api/conflicts", "coordinator", "wrong-password"),
    ("REPORT", "/dav/kgtu/calendar/", "kgtu", ""),
    ("GET", "/dav/school/calendar/", "coordinator", "coordinator-pass-1x"),
]


def timed_failure(hub: Any, method: str, path: str, login: str, password: str) -> float:
    started = time.monotonic()
    response = request(hub.url, method, path, login, password, headers={"Depth": "0"})
    elapsed = time.monotonic() - started
    assert response.status == 401, (method, path, login, response.status)
    return elapsed


def test_wrong_passwords_are_delayed_one_by_one_and_in_parallel(hub: Any) -> None:
    one_by_one = [timed_failure(hub, *attempt) for attempt in WRONG[:3]]
    barrier = threading.Barrier(len(WRONG))
    parallel: list[float] = []

    def attempt(args: tuple[str, str, str, str]) -> None:
        barrier.wait(30)
        parallel.append(timed_failure(hub, *args))

    threads = [threading.Thread(target=attempt, args=(a,), daemon=True) for a in WRONG]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(parallel) == len(WRONG), "some attempts did not finish"
    delays = one_by_one + parallel
    assert min(delays) >= 0.95, f"a failed login took only {min(delays):.3f} s"
    assert get(hub, "/dav/bfu/calendar/", "bfu").status == 200, "right password still works"
    record(
        "rights.failed_logins",
        sequential=len(one_by_one),
        parallel=len(parallel),
        min_delay_s=round(min(delays), 2),
        max_delay_s=round(max(delays), 2),
    )


# -- every method ----------------------------------------------------------------------------

READ_METHODS = {"GET", "HEAD", "OPTIONS", "PROPFIND", "REPORT"}
METHODS = [
    "GET",
    "HEAD",
    "OPTIONS",
    "PROPFIND",
    "REPORT",
    "PUT",
    "DELETE",
    "POST",
    "PROPPATCH",
    "MKCOL",
    "MKCALENDAR",
    "MOVE",
    "COPY",
    "LOCK",
    "UNLOCK",
    "ACL",
    "PATCH",
    "TRACE",
    "SEARCH",
    "BIND",
    "FOOBAR",
]


def send_as(hub: Any, who: str, method: str, path: str, uid: str) -> Any:
    """``method`` on ``path`` as ``who`` with a body and headers that suit the method."""
    headers: dict[str, str] = {"Depth": "1"}
    body: str | None = None
    if method == "PUT":
        body, headers = event(uid, "Чужое [10]", at(day(1), 16)), ICS
    elif method in ("PROPFIND",):
        body, headers = PROPFIND, {"Depth": "1", **XML}
    elif method == "REPORT":
        body, headers = REPORT, {"Depth": "1", **XML}
    elif method in ("PROPPATCH", "POST", "PATCH"):
        body, headers = PROPPATCH, XML
    elif method in ("MOVE", "COPY", "BIND"):
        headers = {"Destination": f"{hub.url}dav/bfu/calendar/{uid}.ics", "Overwrite": "T"}
    login = () if who == "anonymous" else creds(who)
    return request(hub.url, method, path, *login, body=body, headers=headers)


def test_rights_hold_under_every_method(hub: Any) -> None:
    before = snapshot(hub)
    checked = 0
    for who in ("bfu", "anonymous"):
        for method in METHODS:
            for path in (VICTIM, "/dav/kgtu/calendar/", PRIVATE, f"{PRIVATE}secret-1.ics"):
                uid = f"m-{uuid.uuid4().hex[:10]}"
                response = send_as(hub, who, method, path, uid)
                checked += 1
                where = (who, method, path, response.status)
                assert response.status < 500 or response.status in (501,), where
                assert SECRET not in response.text, where
                reading_hub_calendar = not path.startswith(PRIVATE) and who == "bfu"
                if method in READ_METHODS and reading_hub_calendar:
                    assert 200 <= response.status < 300, where
                elif method != "OPTIONS":
                    assert not 200 <= response.status < 300, where
                assert snapshot(hub) == before, where
                assert kgtu_traces(hub.data_dir, uid) == [], where
                if response.status // 100 == 2:
                    # the one allowed write is into bfu's own calendar (MOVE/COPY target)
                    assert get(hub, f"/dav/bfu/calendar/{uid}.ics").status == 404, where
    assert healthy(hub)
    record("rights.methods", requests=checked, methods=len(METHODS), changes_to_kgtu=0)


# -- path tricks -------------------------------------------------------------------------------

READ_TRICKS = [
    "/dav/bfu/../kgtu/private-notes/",
    "/dav/bfu/%2e%2e/kgtu/private-notes/",
    "/dav/bfu/%2E%2E/kgtu/private-notes/secret-1.ics",
    "/dav/bfu%2F..%2Fkgtu%2Fprivate-notes/",
    "/dav/bfu/calendar/..%2F..%2Fkgtu%2Fprivate-notes%2Fsecret-1.ics",
    "/dav/bfu/calendar/%252e%252e/%252e%252e/kgtu/private-notes/",
    "//dav/kgtu/private-notes/",
    "/dav//kgtu//private-notes//",
    "/dav/./kgtu/./private-notes/secret-1.ics",
    "/dav/bfu/calendar/..\\..\\kgtu\\private-notes\\",
    "/dav/bfu/..;/kgtu/private-notes/",
    "/dav/KGTU/private-notes/",
    "/dav/kgtu/PRIVATE-NOTES/",
    "/dav/\u043agtu/private-notes/",  # Cyrillic к
    "/dav/kgtu\uff0fprivate-notes/",  # fullwidth solidus
    "/dav/kgtu%EF%BC%8Fprivate-notes/",
    "/dav/kgtu%E2%80%8B/private-notes/",  # zero-width space
    "/dav/bfu/%C0%AE%C0%AE/kgtu/private-notes/",  # overlong UTF-8 dots
    "/dav/kgtu/private-notes%00/",
    "/dav/kgtu/calendar/../private-notes/",
    "/dav/kgtu/calendar/../../bfu/calendar/",  # resolves to bfu's own calendar: fine
    "/dav/bfu/hub-kgtu/../../kgtu/private-notes/",
    "/dav/bfu/hub-private-notes/",
    "/dav/coordinator/hub-kgtu/../../kgtu/private-notes/",
    "/dav/kgtu/",
    "/dav/coordinator/",
    "/dav/../dav/kgtu/private-notes/",
    "/.well-known/caldav/../../dav/kgtu/private-notes/",
    "/api/../dav/kgtu/private-notes/",
]

WRITE_TRICKS = [
    "/dav/bfu/../kgtu/calendar/{uid}.ics",
    "/dav/bfu/calendar/../../kgtu/calendar/{uid}.ics",
    "/dav/bfu/%2e%2e/kgtu/calendar/{uid}.ics",
    "/dav/bfu%2F..%2Fkgtu/calendar/{uid}.ics",
    "/dav/bfu/calendar/..%2F..%2Fkgtu%2Fcalendar%2F{uid}.ics",
    "//dav/kgtu/calendar/{uid}.ics",
    "/dav//kgtu//calendar//{uid}.ics",
    "/dav/bfu/calendar/..\\..\\kgtu\\calendar\\{uid}.ics",
    "/dav/\u043agtu/calendar/{uid}.ics",
    "/dav/kgtu\uff0fcalendar/{uid}.ics",
    "/dav/KGTU/calendar/{uid}.ics",
    "/dav/bfu/hub-kgtu/{uid}.ics",
    "/dav/bfu/hub-kgtu/%2e%2e/%2e%2e/kgtu/calendar/{uid}.ics",
    "/dav/coordinator/hub-kgtu/{uid}.ics",
    "/dav/kgtu/private-notes/{uid}.ics",
    "/dav/kgtu/calendar/{uid}.ics%00.ics",
    "/dav/kgtu/calendar/../../kgtu/calendar/{uid}.ics",
]


@pytest.mark.parametrize("method", ["GET", "PROPFIND", "REPORT"])
def test_path_tricks_never_read_kgtus_private_data(hub: Any, method: str) -> None:
    sent = 0
    for path in READ_TRICKS:
        body = {"PROPFIND": PROPFIND, "REPORT": REPORT}.get(method)
        for response in both_ways(hub, method, path, body, {"Depth": "1", **XML}):
            sent += 1
            assert response.status < 500, (method, path, response.status, response.text[:200])
            assert SECRET not in response.text, (method, path, response.status)
            assert "secret-1" not in response.text, (method, path, response.status)
    assert healthy(hub)
    record(f"rights.read_tricks.{method}", paths=len(READ_TRICKS), requests=sent, leaks=0)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PROPPATCH", "MKCOL", "MKCALENDAR"])
def test_path_tricks_never_write_kgtus_calendar(hub: Any, method: str) -> None:
    before = snapshot(hub)
    sent = 0
    for template in WRITE_TRICKS:
        uid = f"trick-{uuid.uuid4().hex[:10]}"
        path = template.format(uid=uid)
        if method in ("DELETE", "PROPPATCH"):
            path = path.replace(f"{uid}.ics", "victim.ics")
        if method in ("MKCOL", "MKCALENDAR"):
            path = path.replace(f"{uid}.ics", f"{uid}/")
        body = {
            "PUT": event(uid, "Подлог [10]", at(day(1), 18)),
            "PROPPATCH": PROPPATCH,
        }.get(method)
        for response in both_ways(hub, method, path, body, ICS):
            sent += 1
            where = (method, path, response.status, response.text[:200])
            assert response.status < 500, where
            assert snapshot(hub) == before, where
            assert kgtu_traces(hub.data_dir, uid) == [], where
            if 200 <= response.status < 300:
                # Only possible where the trick resolved to bfu's own calendar.
                own = hub.data_dir / "storage" / "collection-root" / "bfu" / "calendar"
                assert any(uid in p.name for p in own.iterdir()), where
                request(hub.url, "DELETE", f"/dav/bfu/calendar/{uid}.ics", *creds("bfu"))
    assert healthy(hub)
    record(
        f"rights.write_tricks.{method}",
        paths=len(WRITE_TRICKS),
        requests=sent,
        changes_to_kgtu=0,
    )


def destinations(hub: Any) -> list[str]:
    host, port = "127.0.0.1", hub.port
    return [
        f"http://{host}:{port}/dav/kgtu/calendar/{{uid}}.ics",
        f"http://localhost:{port}/dav/kgtu/calendar/{{uid}}.ics",
        f"http://{host}:{port}/dav/bfu/calendar/../../kgtu/calendar/{{uid}}.ics",
        f"http://{host}:{port}/dav/bfu/calendar/%2e%2e/%2e%2e/kgtu/calendar/{{uid}}.ics",
        f"http://{host}:{port}/dav/bfu%2F..%2F..%2Fkgtu%2Fcalendar%2F{{uid}}.ics",
        f"http://{host}:{port}//dav//kgtu//calendar//{{uid}}.ics",
        f"http://{host}:{port}/dav/bfu/calendar/..\\..\\kgtu\\calendar\\{{uid}}.ics",
        f"http://{host}:{port}/dav/bfu/hub-kgtu/{{uid}}.ics",
        f"http://{host}:{port}/dav/coordinator/hub-kgtu/{{uid}}.ics",
        f"http://{host}:{port}/dav/kgtu/private-notes/{{uid}}.ics",
        f"http://{host}:{port}/kgtu/calendar/{{uid}}.ics",
        f"http://bfu:x@{host}:{port}/dav/kgtu/calendar/{{uid}}.ics",
        f"https://{host}:{port}/dav/kgtu/calendar/{{uid}}.ics",
        f"http://{host}:{port + 1}/dav/kgtu/calendar/{{uid}}.ics",
        f"http://{host}/dav/kgtu/calendar/{{uid}}.ics",
        "/dav/kgtu/calendar/{uid}.ics",
        "/dav/bfu/calendar/../../kgtu/calendar/{uid}.ics",
        "../../kgtu/calendar/{uid}.ics",
        f"http://{host}:{port}/dav/kgtu/calendar/../../bfu/calendar/{{uid}}.ics",  # bfu's own
    ]


@pytest.mark.parametrize("method", ["MOVE", "COPY"])
def test_destination_tricks_never_write_kgtus_calendar(hub: Any, method: str) -> None:
    before = snapshot(hub)
    outcomes = 0
    for template in destinations(hub):
        uid = f"dest-{uuid.uuid4().hex[:10]}"
        source = f"/dav/bfu/calendar/{uid}.ics"
        assert put(hub, "bfu", source, event(uid, "Своё [10]", at(day(1), 19))).status == 201
        response = request(
            hub.url,
            method,
            source,
            *creds("bfu"),
            headers={"Destination": template.format(uid=uid), "Overwrite": "T"},
        )
        where = (method, template, response.status, response.text[:200])
        assert response.status < 500 or response.status == 502, where
        assert snapshot(hub) == before, where
        assert kgtu_traces(hub.data_dir, uid) == [], where
        own = hub.data_dir / "storage" / "collection-root" / "bfu" / "calendar"
        for leftover in [p for p in own.iterdir() if uid in p.name]:
            request(hub.url, "DELETE", f"/dav/bfu/calendar/{leftover.name}", *creds("bfu"))
        outcomes += 1
    # And the other way round: bfu cannot move kgtu's event out of kgtu's calendar.
    for source in (VICTIM, "/dav/bfu/../kgtu/calendar/victim.ics", "/dav/bfu/hub-kgtu/victim.ics"):
        response = request(
            hub.url,
            method,
            source,
            *creds("bfu"),
            headers={"Destination": f"{hub.url}dav/bfu/calendar/stolen.ics"},
        )
        assert not 200 <= response.status < 300 or method == "COPY", (source, response.status)
        assert snapshot(hub) == before, source
        request(hub.url, "DELETE", "/dav/bfu/calendar/stolen.ics", *creds("bfu"))
    assert healthy(hub)
    record(f"rights.destination_tricks.{method}", destinations=outcomes, changes_to_kgtu=0)


# -- the order of checks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "path", "expected"),
    [
        ("anonymous", "/dav/bfu/calendar/{uid}.ics", 401),
        ("wrong password", "/dav/bfu/calendar/{uid}.ics", 401),
        ("bfu", "/dav/kgtu/calendar/{uid}.ics", 403),
    ],
    ids=["anonymous", "wrong-password", "bfu-on-kgtu"],
)
def test_a_put_is_authorised_before_its_body_is_read(
    hub: Any, who: str, path: str, expected: int
) -> None:
    uid = f"order-{uuid.uuid4().hex[:10]}"
    login = {"anonymous": (), "wrong password": ("bfu", "wrong-password"), "bfu": creds("bfu")}
    junk = "BEGIN:VCALENDAR\r\nnot a content line\r\nEND:VCALENDAR\r\n"
    started = time.monotonic()
    response = request(hub.url, "PUT", path.format(uid=uid), *login[who], body=junk, headers=ICS)
    elapsed = time.monotonic() - started
    assert response.status == expected, (who, response.status, response.text[:200])
    if who == "wrong password":
        assert elapsed >= 0.95, f"a failed login took only {elapsed:.3f} s"
