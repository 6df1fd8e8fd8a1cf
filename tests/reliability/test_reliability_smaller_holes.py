"""Issue 11, finding 10: bodies are not read before authentication, nobody replaces a hub
calendar whole or makes a collection at a view's name, and a damaged ``hub.sqlite`` stops
the hub at start with a message saying what to do. (The CSRF part is in
test_reliability_csrf_forms.py.) Against real hubs.
"""

from __future__ import annotations

import functools
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import PASSWORDS
from reliability_support import (
    at,
    collection_hrefs,
    day,
    event,
    get,
    healthy,
    kill9,
    put,
    record,
    run_threads,
)

COORDINATOR = ("coordinator", PASSWORDS["coordinator"])
UPLOADS = 12
UPLOAD_BYTES = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    return module_hubs()


# -- authenticate first, then read ----------------------------------------------------------


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for {pid}")


def upload(hub: Any, authorization: str, statuses: list[int], started: threading.Barrier) -> None:
    head = [
        b"PUT /dav/bfu/calendar/big.ics HTTP/1.1",
        f"Host: 127.0.0.1:{hub.port}".encode(),
        b"Content-Type: text/calendar",
        f"Content-Length: {UPLOAD_BYTES}".encode(),
        b"Connection: close",
    ]
    if authorization:
        head.append(f"Authorization: {authorization}".encode())
    piece = b"X" * (256 * 1024)
    with socket.create_connection(("127.0.0.1", hub.port), timeout=60) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n")
        started.wait(30)
        sent = 0
        try:
            while sent < UPLOAD_BYTES:
                sock.sendall(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before the whole body: allowed
        received = b""
        while data := sock.recv(65536):
            received += data
    statuses.append(int(received.split(b" ", 2)[1]))


def test_unauthenticated_uploads_are_not_read_into_memory(fresh_hub: Any) -> None:
    import base64

    # A hub of its own: the wrong passwords below use up this address's sign-in budget.
    hub = fresh_hub()
    wrong = "Basic " + base64.b64encode(b"bfu:not-the-password").decode()
    for authorization in ("", wrong):
        assert healthy(hub)
        before = peak_rss_kib(hub.process.pid)
        statuses: list[int] = []
        started = threading.Barrier(UPLOADS, timeout=30)
        run_threads([functools.partial(upload, hub, authorization, statuses, started)] * UPLOADS)
        grown = peak_rss_kib(hub.process.pid) - before
        # 429 once the wrong passwords pass the sign-in limit: refused unread as well.
        assert set(statuses) <= ({401, 429} if authorization else {401}), statuses
        assert len(statuses) == UPLOADS, statuses
        # Read into memory, twelve 10 MiB bodies at once are 120 MiB and more.
        assert grown < 40 * 1024, f"peak RSS grew by {grown} KiB"
        record(
            "unauthenticated bodies",
            **{f"peak_growth_kib_{'wrong' if authorization else 'anonymous'}": grown},
        )
    assert healthy(hub)


def post_form(
    hub: Any, path: str, cookie: str, statuses: list[int], started: threading.Barrier
) -> None:
    head = [
        f"POST {path} HTTP/1.1".encode(),
        f"Host: 127.0.0.1:{hub.port}".encode(),
        b"Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {UPLOAD_BYTES}".encode(),
        b"Connection: close",
    ]
    if cookie:
        head.append(f"Cookie: {cookie}".encode())
    piece = b"comment=" + b"x" * (256 * 1024 - 8)
    with socket.create_connection(("127.0.0.1", hub.port), timeout=60) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n")
        started.wait(30)
        sent = 0
        try:
            while sent < UPLOAD_BYTES:
                sock.sendall(piece[: UPLOAD_BYTES - sent])
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        received = b""
        while data := sock.recv(65536):
            received += data
    statuses.append(int(received.split(b" ", 2)[1]))


def test_big_forms_are_not_read_before_anyone_signs_in(fresh_hub: Any) -> None:
    import requests

    hub = fresh_hub()
    # The cookie of the sign-in page: a session with a CSRF token, nobody signed in.
    page = requests.get(hub.url + "login", timeout=15)
    cookie = "; ".join(f"{name}={value}" for name, value in page.cookies.items())
    assert cookie, page.headers
    for path, with_cookie in (("/conflicts/x/approve", ""), ("/login", cookie)):
        before = peak_rss_kib(hub.process.pid)
        statuses: list[int] = []
        started = threading.Barrier(UPLOADS, timeout=30)
        posts = [functools.partial(post_form, hub, path, with_cookie, statuses, started)]
        run_threads(posts * UPLOADS)
        grown = peak_rss_kib(hub.process.pid) - before
        assert statuses == [400] * UPLOADS, (path, statuses)
        assert grown < 40 * 1024, f"{path}: peak RSS grew by {grown} KiB"
        record("unauthenticated bodies", **{f"peak_growth_kib_form_{path.strip('/')[:5]}": grown})
    assert healthy(hub)


def test_an_authenticated_body_is_still_read_and_checked(hub: Any) -> None:
    text = event("read-after-auth", "Лекция [6]", at(day(6), 9))
    assert put(hub, "bfu", "/dav/bfu/calendar/read-after-auth.ics", text).status == 201
    assert get(hub, "/dav/bfu/calendar/read-after-auth.ics").status == 200


# -- no whole-calendar PUT, no collections at view names --------------------------------------


def whole(*texts: str) -> str:
    bodies = [t[t.index("BEGIN:VEVENT") : t.index("END:VEVENT") + len("END:VEVENT")] for t in texts]
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calhub tests//EN\r\n"
        + "\r\n".join(bodies)
        + "\r\nEND:VCALENDAR\r\n"
    )


def test_nobody_replaces_a_hub_calendar_whole(hub: Any) -> None:
    kept = {
        "bfu": put(
            hub,
            "bfu",
            "/dav/bfu/calendar/kept-bfu.ics",
            event("kept-bfu", "Лекция [7]", at(day(7), 9)),
        ),
        "school": put(
            hub,
            "coordinator",
            "/dav/school/calendar/kept-school.ics",
            event("kept-school", "Линейка [5-11]", at(day(7), 8)),
        ),
    }
    assert all(answer.status == 201 for answer in kept.values()), kept
    body = whole(event("replacement", "Замена [8]", at(day(7), 12)))
    cases = 0
    for login in ("coordinator", "bfu", "kgtu"):
        for calendar in ("bfu/calendar", "kgtu/calendar", "school/calendar", "school/blackout"):
            before = collection_hrefs(hub, f"/dav/{calendar}/")
            answer = put(hub, login, f"/dav/{calendar}/", body)
            assert answer.status == 403, (login, calendar, answer.status, answer.text[:300])
            assert "PUT" in answer.text, answer.text[:300]
            assert collection_hrefs(hub, f"/dav/{calendar}/") == before, (login, calendar)
            cases += 1
    for view in ("hub-bfu", "hub-school", "hub-kgtu", "hub-nosuch"):
        answer = put(hub, "coordinator", f"/dav/coordinator/{view}/", body)
        assert 400 <= answer.status < 500, (view, answer.status)
        cases += 1
    # A PUT of a whole calendar makes no collection at a view's name either.
    assert get(hub, "/dav/coordinator/hub-nosuch/").status == 404
    assert get(hub, "/dav/bfu/calendar/kept-bfu.ics").status == 200
    assert get(hub, "/dav/school/calendar/kept-school.ics").status == 200
    # A coordinator's own calendar, outside the hub, may still be written whole.
    own = put(hub, "coordinator", "/dav/coordinator/private-whole/", body)
    assert own.status == 201, (own.status, own.text[:300])
    record("whole-calendar PUT", refused=cases)


def test_no_collection_is_made_at_a_view_name(hub: Any) -> None:
    cases = 0
    for login in ("coordinator", "bfu"):
        for name in ("hub-nosuch", "hub-later", "hub-bfu", "hub-kgtu", "hub-school", "hub-"):
            for method in ("MKCALENDAR", "MKCOL"):
                path = f"/dav/{login}/{name}/"
                answer = hub.request(method, path, login, PASSWORDS[login])
                assert 400 <= answer.status < 500, (method, path, answer.status)
                cases += 1
        listing = hub.request(
            "PROPFIND", f"/dav/{login}/", login, PASSWORDS[login], headers={"Depth": "1"}
        )
        assert listing.status == 207
        assert "hub-nosuch" not in listing.text and "hub-later" not in listing.text
    refused = hub.request("MKCALENDAR", "/dav/coordinator/hub-nosuch/", *COORDINATOR)
    assert refused.status == 403 and "hub-" in refused.text, refused.text[:300]
    # Other names still work.
    made = hub.request(
        "MKCALENDAR", "/dav/coordinator/hubless/", "coordinator", PASSWORDS["coordinator"]
    )
    assert made.status == 201, made.text[:300]
    record("view names", refused=cases)


# -- hub.sqlite checked at start ------------------------------------------------------------


def test_a_damaged_hub_sqlite_stops_the_hub_at_start(fresh_hub: Any) -> None:
    root = fresh_hub.create()
    served = fresh_hub.serve(root)
    text = event("before-damage", "Лекция [9]", at(day(8), 9))
    assert put(served, "bfu", "/dav/bfu/calendar/before-damage.ics", text).status == 201
    fresh_hub.servers.remove(served)
    assert served.stop() == 0
    database = root / "hub.sqlite"
    data = bytearray(database.read_bytes())
    assert len(data) >= 4096 * 2, len(data)
    # Garbage over every page after the first: the header reads, the tables do not.
    for offset in range(4096, len(data), 4096):
        data[offset + 16 : offset + 4096 - 16] = b"\xa5" * (4096 - 32)
    database.write_bytes(bytes(data))
    for wal in (root / "hub.sqlite-wal", root / "hub.sqlite-shm"):
        wal.unlink(missing_ok=True)
    started = time.monotonic()
    with pytest.raises(AssertionError) as refused:
        fresh_hub.serve(root, timeout=60)
    message = str(refused.value)
    assert "hub.sqlite" in message and "backup" in message, message[-2000:]
    assert "exited with" in message, message[-2000:]
    assert time.monotonic() - started < 60
    # Not a database at all: the same refusal.
    database.write_bytes(b"this is not a database" * 300)
    with pytest.raises(AssertionError) as again:
        fresh_hub.serve(root, timeout=60)
    assert "hub.sqlite" in str(again.value), str(again.value)[-2000:]


def approve_first_clash(hub: Any) -> str:
    clashes = json.loads(hub.request("GET", "/api/conflicts", *COORDINATOR).text)
    assert clashes, "no clash to approve"
    clash_id: str = clashes[0]["id"]
    answer = hub.request(
        "POST",
        f"/api/conflicts/{clash_id}/approve",
        *COORDINATOR,
        body=json.dumps({"comment": "согласовано до сбоя"}),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 200, answer.text[:300]
    return clash_id


def test_an_approval_survives_a_lost_log_once_the_hub_has_started_again(
    fresh_hub: Any,
) -> None:
    root = fresh_hub.create()
    served = fresh_hub.serve(root)
    start = at(day(9), 9)
    assert (
        put(
            served, "bfu", "/dav/bfu/calendar/fold-a.ics", event("fold-a", "Лекция [10]", start)
        ).status
        == 201
    )
    assert (
        put(
            served, "kgtu", "/dav/kgtu/calendar/fold-b.ics", event("fold-b", "Опыты [10А]", start)
        ).status
        == 201
    )
    clash_id = approve_first_clash(served)
    kill9(fresh_hub, served)  # the approval is in hub.sqlite-wal only
    restarted = fresh_hub.serve(root)  # folds the log into hub.sqlite at start
    assert healthy(restarted)
    kill9(fresh_hub, restarted)
    (root / "hub.sqlite-wal").unlink(missing_ok=True)
    (root / "hub.sqlite-shm").unlink(missing_ok=True)
    last = fresh_hub.serve(root)
    found = json.loads(last.request("GET", f"/api/conflicts/{clash_id}", *COORDINATOR).text)
    assert found["status"] == "approved", found
