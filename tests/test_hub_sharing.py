"""Every login sees the other hub calendars in its own calendar home
(``calhub/dav/plugins/sharing``).

A real ``calhub serve`` in a subprocess, the real ``caldav`` client for what apps do, and raw
HTTP (``http.client``, which sends paths verbatim and hides no status) for the refusals.
Self-contained: it builds its own hubs and servers and needs nothing from ``conftest.py``.

Layout under test, for partners bfu and kgtu::

    bfu:          /dav/bfu/calendar/ (own, rw)  /dav/bfu/hub-school/  /dav/bfu/hub-blackout/
                  /dav/bfu/hub-kgtu/            (read-only views of the real calendars)
    coordinator:  /dav/coordinator/hub-school/ … /dav/coordinator/hub-kgtu/  (read-write)
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.client
import json
import signal
import subprocess
import sys
import threading
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from caldav.calendarobjectresource import CalendarObjectResource
from caldav.collection import Calendar
from caldav.davclient import DAVClient
from caldav.lib.error import DAVError

from calhub.cli.init import create_hub
from calhub.hub import HubPaths

SCHOOL = "Гимназия №1"
SCHOOL_NAMES = {"school": SCHOOL, "blackout": f"{SCHOOL}: экзамены и каникулы"}
PASSWORDS = {
    "coordinator": "coordinator-pass-1",
    "bfu": "bfu-pass-12345",
    "kgtu": "kgtu-pass-12345",
    "nsu": "nsu-pass-12345",
}
# Colours a partner may have: none like a clash colour (calhub.hub.palette refuses those).
PARTNERS = {"bfu": ("БФУ им. И. Канта", "#0550AE"), "kgtu": ("КГТУ", "#882266")}
START_TIMEOUT = 30.0

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
ICAL = "http://apple.com/ns/ical/"


# -- a running hub --------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str


@dataclass
class RunningHub:
    root: Path
    base_url: str  # http://127.0.0.1:PORT/
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def client(self, login: str) -> DAVClient:
        # Credentials go with every request (auth_type), not only after a 401 challenge.
        return DAVClient(
            url=self.base_url + "dav/",
            username=login,
            password=PASSWORDS[login],
            auth_type="basic",
        )

    def calendar(self, login: str, path: str) -> Any:
        """The calendar at ``path`` as ``login``'s caldav client (typed Any: caldav's sync
        methods are annotated as returning "value | Coroutine")."""
        calendar: Calendar = self.client(login).calendar(url=self.base_url + path.lstrip("/"))
        return calendar

    def request(
        self,
        method: str,
        path: str,
        login: str | None = None,
        body: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        password: str | None = None,
    ) -> Reply:
        parts = urllib.parse.urlsplit(self.base_url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        all_headers = dict(headers or {})
        if login is not None:
            secret = password if password is not None else PASSWORDS[login]
            token = base64.b64encode(f"{login}:{secret}".encode()).decode("ascii")
            all_headers["Authorization"] = f"Basic {token}"
        try:
            connection.request(
                method,
                path,
                body=body.encode() if isinstance(body, str) else body,
                headers=all_headers,
            )
            raw = connection.getresponse()
            return Reply(
                raw.status,
                {k.lower(): v for k, v in raw.getheaders()},
                raw.read().decode("utf-8", "replace"),
            )
        finally:
            connection.close()


def run_cli(root: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``calhub ARGS --data ROOT`` in its own process, as a coordinator would."""
    result = subprocess.run(
        [sys.executable, "-m", "calhub", *args, "--data", str(root)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def add_partner(root: Path, login: str, name: str, color: str = "#3A87AD") -> None:
    run_cli(
        root,
        "partner",
        "add",
        login,
        "--name",
        name,
        "--color",
        color,
        "--password-stdin",
        stdin=PASSWORDS[login] + "\n",
    )


def _start(root: Path) -> RunningHub:
    log = (root.parent / f"{root.name}-server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "calhub", "serve", "--data", str(root), "--port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    log.close()
    assert process.stdout is not None
    output: list[str] = []
    ready = threading.Event()
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if line.startswith("calhub listening on ") and not found:
                found.append(line.split("calhub listening on ", 1)[1].strip())
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(START_TIMEOUT) or not found:
        _stop(process)
        raise AssertionError(f"calhub serve did not start: {''.join(output)}")
    return RunningHub(root=root, base_url=found[0], process=process, output=output)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextlib.contextmanager
def serving_hub(root: Path, partners: Mapping[str, tuple[str, str]]) -> Iterator[RunningHub]:
    """A new hub in ``root`` with ``partners`` (added through the CLI), served until exit."""
    with pytest.MonkeyPatch.context() as patch:
        # Cost 4 is bcrypt's minimum: the hub's default (12) would slow every login check.
        patch.setenv("CALHUB_BCRYPT_ROUNDS", "4")
        create_hub(HubPaths(root), SCHOOL, "Europe/Kaliningrad", PASSWORDS["coordinator"])
        for login, (name, color) in partners.items():
            add_partner(root, login, name, color)
        running = _start(root)
        try:
            yield running
        finally:
            _stop(running.process)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    with serving_hub(tmp_path_factory.mktemp("sharing") / "hub", PARTNERS) as running:
        yield running


# -- helpers --------------------------------------------------------------------------------


def vevent(uid: str, summary: str, start: dt.datetime, minutes: int = 60) -> str:
    end = start + dt.timedelta(minutes=minutes)
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//calhub sharing tests//EN",
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20260101T000000Z",
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
            f"DTEND:{end:%Y%m%dT%H%M%SZ}",
            f"SUMMARY:{summary}",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )


def when(days: int, hour: int = 9) -> dt.datetime:
    """A moment ``days`` from now (UTC, whole hours), inside the hub's clash horizon."""
    today = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    return today.replace(hour=hour) + dt.timedelta(days=days)


def new_uid() -> str:
    return f"sharing-{uuid.uuid4().hex}@calhub.test"


def clark(prefixed: str) -> str:
    prefix, name = prefixed.split(":")
    namespace = {"D": DAV, "C": CALDAV, "ICAL": ICAL}[prefix]
    return f"{{{namespace}}}{name}"


PROPFIND_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
    'xmlns:ICAL="http://apple.com/ns/ical/"><D:prop>'
    "<D:displayname/><D:resourcetype/><D:current-user-privilege-set/><ICAL:calendar-color/>"
    "</D:prop></D:propfind>"
)


MULTIGET_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:prop><D:getetag/><C:calendar-data/></D:prop><D:href>{href}</D:href>"
    "</C:calendar-multiget>"
)


@dataclass
class Listed:
    name: str | None
    color: str | None
    privileges: set[str]
    is_calendar: bool


def calendar_home(hub: RunningHub, login: str, path: str | None = None) -> dict[str, Listed]:
    """PROPFIND Depth 1 on a calendar home, as apps do: href path -> what the app learns."""
    reply = hub.request(
        "PROPFIND",
        path or f"/dav/{login}/",
        login,
        PROPFIND_BODY,
        {"Depth": "1", "Content-Type": "application/xml"},
    )
    assert reply.status == 207, reply
    listed = {}
    for response in ET.fromstring(reply.text).iter(clark("D:response")):
        href = urllib.parse.unquote(response.findtext(clark("D:href")) or "")
        found = {}
        for propstat in response.iter(clark("D:propstat")):
            if " 200 " in (propstat.findtext(clark("D:status")) or ""):
                for prop in propstat.iter(clark("D:prop")):
                    found.update({child.tag: child for child in prop})
        privileges = found.get(clark("D:current-user-privilege-set"))
        kind = found.get(clark("D:resourcetype"))
        name = found.get(clark("D:displayname"))
        color = found.get(clark("ICAL:calendar-color"))
        listed[href] = Listed(
            name=name.text if name is not None else None,
            color=color.text if color is not None else None,
            privileges={
                element.tag.split("}")[1]
                for privilege in (privileges if privileges is not None else [])
                for element in privilege
            },
            is_calendar=kind is not None and kind.find(clark("C:calendar")) is not None,
        )
    return listed


def calendars_seen(hub: RunningHub, login: str) -> dict[str, str | None]:
    """What a caldav client lists for ``login``: calendar URL path -> display name."""
    return {
        urllib.parse.unquote(urllib.parse.urlsplit(str(cal.url)).path): cal.get_display_name()
        for cal in cast(Any, hub.client(login).principal()).calendars()
    }


def uid_of(obj: CalendarObjectResource) -> str:
    return str(obj.icalendar_component["UID"])


def path_of(obj: CalendarObjectResource) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(str(obj.url)).path)


WRITE_PRIVILEGES = {"write", "write-content", "all", "write-properties", "bind", "unbind"}


# -- what apps see --------------------------------------------------------------------------


def test_partner_lists_own_calendar_and_every_other_hub_calendar(hub: RunningHub) -> None:
    assert calendars_seen(hub, "bfu") == {
        "/dav/bfu/calendar/": PARTNERS["bfu"][0],
        "/dav/bfu/hub-school/": SCHOOL_NAMES["school"],
        "/dav/bfu/hub-blackout/": SCHOOL_NAMES["blackout"],
        "/dav/bfu/hub-kgtu/": PARTNERS["kgtu"][0],
    }
    assert calendars_seen(hub, "kgtu") == {
        "/dav/kgtu/calendar/": PARTNERS["kgtu"][0],
        "/dav/kgtu/hub-school/": SCHOOL_NAMES["school"],
        "/dav/kgtu/hub-blackout/": SCHOOL_NAMES["blackout"],
        "/dav/kgtu/hub-bfu/": PARTNERS["bfu"][0],
    }


def test_shared_calendars_carry_real_colours_and_are_advertised_read_only(
    hub: RunningHub,
) -> None:
    home = calendar_home(hub, "bfu")
    own = home["/dav/bfu/calendar/"]
    assert own.is_calendar
    assert "write-content" in own.privileges
    shared = {href: entry for href, entry in home.items() if "/hub-" in href}
    assert set(shared) == {"/dav/bfu/hub-school/", "/dav/bfu/hub-blackout/", "/dav/bfu/hub-kgtu/"}
    for href, entry in shared.items():
        assert entry.is_calendar, href
        assert "read" in entry.privileges, href
        assert not entry.privileges & WRITE_PRIVILEGES, (href, entry.privileges)
    assert shared["/dav/bfu/hub-kgtu/"].color == PARTNERS["kgtu"][1]
    assert shared["/dav/bfu/hub-school/"].color == "#1F6FEB"


def test_coordinator_sees_every_calendar_writable(hub: RunningHub) -> None:
    assert calendars_seen(hub, "coordinator") == {
        "/dav/coordinator/hub-school/": SCHOOL_NAMES["school"],
        "/dav/coordinator/hub-blackout/": SCHOOL_NAMES["blackout"],
        "/dav/coordinator/hub-bfu/": PARTNERS["bfu"][0],
        "/dav/coordinator/hub-kgtu/": PARTNERS["kgtu"][0],
    }
    for href, entry in calendar_home(hub, "coordinator").items():
        if "/hub-" in href:
            assert "write-content" in entry.privileges, (href, entry.privileges)

    # A write through the coordinator's view lands in the partner's real calendar.
    uid = new_uid()
    through_share = hub.calendar("coordinator", "/dav/coordinator/hub-bfu/")
    event = through_share.add_event(vevent(uid, "Визит координатора", when(40)))
    assert path_of(event).startswith("/dav/coordinator/hub-bfu/")
    own_view = hub.calendar("bfu", "/dav/bfu/calendar/")
    assert uid in {uid_of(e) for e in own_view.events()}
    event.delete()
    assert uid not in {uid_of(e) for e in own_view.events()}


def test_school_events_reach_partners_through_their_view(hub: RunningHub) -> None:
    school = hub.calendar("coordinator", "/dav/school/calendar/")
    first, second = new_uid(), new_uid()
    school.add_event(vevent(first, "Открытое занятие", when(20, 10)))

    view = hub.calendar("bfu", "/dav/bfu/hub-school/")
    # calendar-query without a time range (what events() sends)
    listed = {uid_of(e): e for e in view.events()}
    assert first in listed
    assert path_of(listed[first]).startswith("/dav/bfu/hub-school/")
    # calendar-query with a time range (what apps send for a visible month)
    found = view.search(start=when(19), end=when(22), event=True)
    assert first in {uid_of(e) for e in found}
    assert all(path_of(e).startswith("/dav/bfu/hub-school/") for e in found)
    # calendar-multiget of hrefs under the shared path
    (fetched,) = view.multiget([listed[first].url])
    assert uid_of(fetched) == first
    href = path_of(listed[first])
    raw = hub.request(
        "REPORT",
        "/dav/bfu/hub-school/",
        "bfu",
        MULTIGET_BODY.format(href=href),
        {"Depth": "1", "Content-Type": "application/xml"},
    )
    assert raw.status == 207, raw
    responses = list(ET.fromstring(raw.text).iter(clark("D:response")))
    assert [urllib.parse.unquote(r.findtext(clark("D:href")) or "") for r in responses] == [href]
    assert f"UID:{first}" in (responses[0].findtext(f".//{clark('C:calendar-data')}") or "")
    assert "/dav/school/" not in raw.text
    # PROPFIND Depth 1 on the view (how Thunderbird and iOS list a calendar's events)
    inside = calendar_home(hub, "bfu", "/dav/bfu/hub-school/")
    assert href in inside
    assert all(h.startswith("/dav/bfu/hub-school/") for h in inside), sorted(inside)
    # plain GET of one event and of the whole calendar through the shared path
    reply = hub.request("GET", path_of(listed[first]), "bfu")
    assert reply.status == 200
    assert f"UID:{first}" in reply.text
    whole = hub.request("GET", "/dav/bfu/hub-school/", "bfu")
    assert whole.status == 200
    assert f"UID:{first}" in whole.text

    # sync-collection: a first sync, then only what changed since its token
    synced = view.get_objects_by_sync_token(load_objects=True)
    assert first in {uid_of(o) for o in synced}
    assert all(path_of(o).startswith("/dav/bfu/hub-school/") for o in synced)
    school.add_event(vevent(second, "Родительское собрание", when(21, 15)))
    changed = view.get_objects_by_sync_token(sync_token=synced.sync_token, load_objects=True)
    assert {uid_of(o) for o in changed} == {second}


# -- what partners cannot do ----------------------------------------------------------------


def test_partner_cannot_write_through_a_share(hub: RunningHub) -> None:
    uid = new_uid()
    original = vevent(uid, "Экзамен", when(30))
    created = hub.request(
        "PUT",
        "/dav/school/blackout/exam.ics",
        "coordinator",
        original,
        {"Content-Type": "text/calendar"},
    )
    assert created.status == 201, created
    own = hub.request(
        "PUT",
        "/dav/bfu/calendar/own.ics",
        "bfu",
        vevent(new_uid(), "Своё", when(31)),
        {"Content-Type": "text/calendar"},
    )
    assert own.status == 201, own
    ics = {"Content-Type": "text/calendar"}
    base = "/dav/bfu/hub-blackout/"
    move_in = {"Destination": hub.base_url + "dav" + base + "own.ics"}
    move_out = {"Destination": hub.base_url + "dav/bfu/calendar/exam.ics"}
    proppatch = (
        '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
        "<D:displayname>Моё</D:displayname></D:prop></D:set></D:propertyupdate>"
    )
    attempts = [
        ("PUT", base + "new.ics", vevent(new_uid(), "Новое", when(32)), ics),
        ("PUT", base + "exam.ics", original.replace("Экзамен", "Отменено"), ics),
        ("DELETE", base + "exam.ics", None, {}),
        ("DELETE", base, None, {}),
        ("PROPPATCH", base, proppatch, {"Content-Type": "application/xml"}),
        ("MOVE", "/dav/bfu/calendar/own.ics", None, move_in),
        ("MOVE", base + "exam.ics", None, move_out),
        ("PUT", "/dav/bfu/hub-kgtu/new.ics", vevent(new_uid(), "Чужое", when(33)), ics),
        ("MKCALENDAR", "/dav/bfu/hub-nobody/", None, {}),
    ]
    for method, path, body, headers in attempts:
        reply = hub.request(method, path, "bfu", body, headers)
        assert reply.status == 403, (method, path, reply.status, reply.text[:300])

    # Nothing changed, seen from the real paths.
    exam = hub.request("GET", "/dav/school/blackout/exam.ics", "coordinator")
    assert exam.status == 200
    assert "SUMMARY:Экзамен" in exam.text
    assert hub.request("GET", "/dav/school/blackout/new.ics", "coordinator").status == 404
    assert hub.request("GET", "/dav/school/blackout/own.ics", "coordinator").status == 404
    assert hub.request("GET", "/dav/bfu/calendar/own.ics", "bfu").status == 200
    assert hub.request("GET", "/dav/bfu/calendar/exam.ics", "bfu").status == 404
    home = calendar_home(hub, "bfu")
    assert home["/dav/bfu/hub-blackout/"].name == SCHOOL_NAMES["blackout"]
    assert (
        calendar_home(hub, "coordinator", "/dav/school/")["/dav/school/blackout/"].name
        == (SCHOOL_NAMES["blackout"])
    )

    # The caldav client gets the refusal too.
    view = hub.calendar("bfu", base)
    with pytest.raises(DAVError):
        view.add_event(vevent(new_uid(), "Через клиент", when(34)))


def test_shares_belong_to_their_user_only(hub: RunningHub) -> None:
    # kgtu's view of the school calendar is not a way in for bfu or anybody else.
    for login in ("bfu", "coordinator"):
        reply = hub.request("GET", "/dav/kgtu/hub-school/", login)
        assert reply.status in (403, 404), (login, reply.status)
    listing = calendar_home(hub, "bfu", "/dav/kgtu/")
    assert not [href for href in listing if "/hub-" in href], listing


def test_sharing_api_is_refused(hub: RunningHub) -> None:
    before = calendar_home(hub, "bfu")
    json_headers = {"Content-Type": "application/json", "Accept": "application/json"}
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    grab = {
        "PathMapped": "/kgtu/calendar/",
        "PathOrToken": "/bfu/grab/",
        "User": "bfu",
        "Permissions": "rw",
        "Enabled": True,
        "Hidden": False,
    }
    calls = [
        ("/dav/.sharing/v1/map/create", json.dumps(grab), json_headers),
        ("/dav/.sharing/v1/map/create", urllib.parse.urlencode(grab), form_headers),
        (
            "/dav/.sharing/v1/token/create",
            json.dumps({"PathMapped": "/kgtu/calendar/"}),
            json_headers,
        ),
        (
            "/dav/.sharing/v1/map/update",
            json.dumps({"PathOrToken": "/bfu/hub-kgtu/", "Permissions": "rw"}),
            json_headers,
        ),
        (
            "/dav/.sharing/v1/map/delete",
            json.dumps({"PathOrToken": "/bfu/hub-school/"}),
            json_headers,
        ),
        (
            "/dav/.sharing/v1/map/hide",
            json.dumps({"PathOrToken": "/bfu/hub-school/"}),
            json_headers,
        ),
        ("/dav/.sharing/v1/map/list", json.dumps({}), json_headers),
        ("/dav/.sharing/v1/all/info", json.dumps({}), json_headers),
    ]
    for login in ("bfu", "coordinator"):
        for path, body, headers in calls:
            reply = hub.request("POST", path, login, body, headers)
            assert reply.status == 403, (login, path, reply.status, reply.text[:300])
    for path, body, headers in calls[:1]:
        assert hub.request("POST", path, None, body, headers).status == 401

    # Nothing was created, changed or hidden.
    assert calendar_home(hub, "bfu") == before
    # No share was created there: the path is plain missing.
    assert hub.request("PROPFIND", "/dav/bfu/grab/", "bfu", None, {"Depth": "0"}).status == 404
    put = hub.request(
        "PUT",
        "/dav/bfu/grab/x.ics",
        "bfu",
        vevent(new_uid(), "x", when(35)),
        {"Content-Type": "text/calendar"},
    )
    assert put.status == 403
    reply = hub.request("PUT", "/dav/bfu/hub-kgtu/x.ics", "bfu", vevent(new_uid(), "x", when(35)))
    assert reply.status == 403


# -- logins ---------------------------------------------------------------------------------


ANONYMOUS_PROBES = [
    ("PROPFIND", "/dav/bfu/", {"Depth": "1"}),
    ("GET", "/dav/bfu/hub-school/", {}),
    ("PROPFIND", "/dav/coordinator/hub-bfu/", {"Depth": "1"}),
    ("REPORT", "/dav/bfu/hub-kgtu/", {"Depth": "1"}),
]


def test_anonymous_and_wrong_password_get_401_and_no_calendar(hub: RunningHub) -> None:
    for method, path, headers in ANONYMOUS_PROBES:
        for login, password in ((None, None), ("bfu", "wrong-password")):
            reply = hub.request(method, path, login, None, headers, password=password)
            assert reply.status == 401, (method, path, login, reply.status)
            assert reply.headers.get("www-authenticate", "").lower().startswith("basic")
            assert "BEGIN:VCALENDAR" not in reply.text
            assert "hub-" not in reply.text


# -- the direct paths keep their answers ----------------------------------------------------


def test_direct_paths_are_unchanged_by_sharing(hub: RunningHub) -> None:
    # Radicale would answer 409 "collection in use by a share"; the hub's rights say 403.
    assert hub.request("DELETE", "/dav/bfu/calendar/", "bfu").status == 403
    assert hub.request("DELETE", "/dav/school/calendar/", "coordinator").status == 403
    # A share's path cannot become a real collection.
    assert hub.request("MKCALENDAR", "/dav/coordinator/hub-school/", "coordinator").status == 409
    # The partner still writes its own calendar, and reads the others directly.
    uid = new_uid()
    own = hub.calendar("bfu", "/dav/bfu/calendar/")
    event = own.add_event(vevent(uid, "Лекция", when(45)))
    assert path_of(event).startswith("/dav/bfu/calendar/")
    direct = hub.calendar("kgtu", "/dav/bfu/calendar/")
    assert uid in {uid_of(e) for e in direct.events()}
    seen_by_kgtu = hub.calendar("kgtu", "/dav/kgtu/hub-bfu/")
    assert uid in {uid_of(e) for e in seen_by_kgtu.events()}
    event.delete()


# -- the shares follow the hub's settings ---------------------------------------------------


def test_partners_added_and_removed_while_running(tmp_path: Path) -> None:
    with serving_hub(tmp_path / "hub", {"bfu": PARTNERS["bfu"]}) as running:
        assert set(calendars_seen(running, "bfu")) == {
            "/dav/bfu/calendar/",
            "/dav/bfu/hub-school/",
            "/dav/bfu/hub-blackout/",
        }

        add_partner(running.root, "nsu", "НГУ", "#123456")
        seen = calendars_seen(running, "bfu")
        assert seen["/dav/bfu/hub-nsu/"] == "НГУ"
        assert calendar_home(running, "bfu")["/dav/bfu/hub-nsu/"].color == "#123456"
        assert calendars_seen(running, "nsu") == {
            "/dav/nsu/calendar/": "НГУ",
            "/dav/nsu/hub-school/": SCHOOL_NAMES["school"],
            "/dav/nsu/hub-blackout/": SCHOOL_NAMES["blackout"],
            "/dav/nsu/hub-bfu/": PARTNERS["bfu"][0],
        }
        assert "/dav/coordinator/hub-nsu/" in calendars_seen(running, "coordinator")
        uid = new_uid()
        hub_view = running.calendar("nsu", "/dav/nsu/calendar/")
        hub_view.add_event(vevent(uid, "Олимпиада", when(50)))
        bfu_view = running.calendar("bfu", "/dav/bfu/hub-nsu/")
        assert uid in {uid_of(e) for e in bfu_view.events()}

        run_cli(running.root, "partner", "remove", "nsu")
        assert "/dav/bfu/hub-nsu/" not in calendars_seen(running, "bfu")
        assert "/dav/coordinator/hub-nsu/" not in calendars_seen(running, "coordinator")
        gone = running.request("GET", "/dav/bfu/hub-nsu/", "bfu")
        assert gone.status in (403, 404)
        assert uid not in gone.text


def test_server_logged_no_errors(hub: RunningHub) -> None:
    """Last in this module: no request above made Radicale or calhub log an error."""
    log = (hub.root.parent / f"{hub.root.name}-server.log").read_text()
    problems = [
        line for line in log.splitlines() if " ERROR radicale" in line or " ERROR calhub" in line
    ]
    assert not problems, "\n".join(problems[:20])
