"""Who may do what over CalDAV: the full rights matrix, failed logins, the login cache and
path tricks, against the real server with raw HTTP.

The matrix below is the specification; the tests read it. "owner" is a partner on its own
calendar (bfu on bfu/calendar, kgtu on kgtu/calendar); "other" is a partner on any other
hub calendar (the school's two, or the other partner's). Every case gets a fresh event,
created by the coordinator, and every refused request is checked to have changed nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import pytest
from helpers import (
    CALENDAR_QUERY,
    PASSWORDS,
    SCHOOL_NAME,
    SLOW_LOGIN,
    Response,
    assert_login_refused,
    creds,
    found_props,
    mkcalendar_body,
    propfind_body,
    proppatch_body,
    request,
    response_hrefs,
    simple_event,
)

MATRIX = """
request                          coordinator   owner   other   anonymous
GET event                        2xx           2xx     2xx     401
PROPFIND calendar                2xx           2xx     2xx     401
REPORT calendar-query            2xx           2xx     2xx     401
PUT new event                    2xx           2xx     403     401
DELETE event                     2xx           2xx     403     401
MOVE event in its calendar       2xx           2xx     403     401
DELETE calendar                  403           403     403     401
PROPPATCH displayname            2xx           2xx     403     401
MKCALENDAR under the principal   2xx           403     403     401
MKCOL calendar (RFC 5689)        2xx           403     403     401
"""
# DELETE of a hub calendar is refused to everyone, the coordinator included: calendars are
# removed with 'calhub partner remove', which archives instead of deleting.

RELATIONS = ("coordinator", "owner", "other", "anonymous")


def parse_matrix(text: str) -> dict[tuple[str, str], str]:
    table = {}
    for line in text.strip().splitlines()[1:]:
        *words, c, o, x, a = line.split()
        for relation, outcome in zip(RELATIONS, (c, o, x, a), strict=True):
            table[" ".join(words), relation] = outcome
    return table


EXPECTED = parse_matrix(MATRIX)
REQUESTS = list(dict.fromkeys(name for name, _ in EXPECTED))
ACCOUNTS = ("coordinator", "bfu", "kgtu", "anonymous")
CALENDARS = ("school/calendar", "school/blackout", "bfu/calendar", "kgtu/calendar")
DISPLAY_NAMES = {
    "school/calendar": SCHOOL_NAME,
    "school/blackout": f"{SCHOOL_NAME}: экзамены и каникулы",
    "bfu/calendar": "БФУ им. И. Канта",
    "kgtu/calendar": "КГТУ",
}
ICS = {"Content-Type": "text/calendar; charset=utf-8"}
XML = {"Content-Type": "application/xml; charset=utf-8"}
MKCOL_CALENDAR = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
    "<D:resourcetype><D:collection/><C:calendar/></D:resourcetype>"
    "<D:displayname>Новый</D:displayname>"
    "</D:prop></D:set></D:mkcol>"
)


def relation(account: str, calendar: str) -> str:
    if account in ("anonymous", "coordinator"):
        return account
    return "owner" if calendar == f"{account}/calendar" else "other"


def test_matrix_covers_every_request():
    assert len(REQUESTS) == 10
    assert set(EXPECTED.values()) == {"2xx", "401", "403"}


# -- one case ----------------------------------------------------------------------------------


@dataclass
class Case:
    hub: object
    account: str
    calendar: str
    uid: str = field(default_factory=lambda: f"rights-{uuid.uuid4().hex[:12]}")
    cleanup: list[str] = field(default_factory=list)

    @property
    def calendar_path(self) -> str:
        return f"/dav/{self.calendar}/"

    @property
    def event_path(self) -> str:
        return f"{self.calendar_path}{self.uid}.ics"

    @property
    def new_event_path(self) -> str:
        return f"{self.calendar_path}{self.uid}-new.ics"

    @property
    def moved_event_path(self) -> str:
        return f"{self.calendar_path}{self.uid}-moved.ics"

    @property
    def new_collection_path(self) -> str:
        principal = self.calendar.split("/")[0]
        return f"/dav/{principal}/{self.uid}-new/"

    def send(self, method: str, path: str, **kwargs) -> Response:
        login = () if self.account == "anonymous" else creds(self.account)
        return request(self.hub.url, method, path, *login, **kwargs)

    def admin(self, method: str, path: str, **kwargs) -> Response:
        return request(self.hub.url, method, path, *creds("coordinator"), **kwargs)

    def exists(self, path: str) -> bool:
        if path.endswith("/"):
            status = self.admin("PROPFIND", path, headers={"Depth": "0"}).status
        else:
            status = self.admin("GET", path).status
        assert status in (200, 207, 404), f"{path}: {status}"
        return status != 404

    def snapshot(self) -> tuple[str | None, set[str]]:
        """The calendar's display name and the hrefs of its events, as the coordinator sees
        them (one PROPFIND); (None, set()) if the calendar is gone."""
        response = self.admin(
            "PROPFIND",
            self.calendar_path,
            body=propfind_body("D:displayname"),
            headers={"Depth": "1", **XML},
        )
        if response.status == 404:
            return None, set()
        assert response.status == 207, response
        name = found_props(response.text, self.calendar_path)["D:displayname"].text
        hrefs = {h for h in response_hrefs(response.text) if h != self.calendar_path}
        return name, hrefs


@pytest.fixture
def case(request: pytest.FixtureRequest, hub_server) -> Iterator[Case]:
    account, calendar = request.param
    case = Case(hub_server, account, calendar)
    created = case.admin("PUT", case.event_path, body=simple_event(case.uid), headers=ICS)
    assert created.status == 201, created
    try:
        yield case
    finally:
        name, hrefs = case.snapshot()
        for path in {case.event_path, case.new_event_path, case.moved_event_path} & hrefs:
            case.admin("DELETE", path)
        if name != DISPLAY_NAMES[calendar]:
            case.admin(
                "PROPPATCH",
                case.calendar_path,
                body=proppatch_body(DISPLAY_NAMES[calendar]),
                headers=XML,
            )
        if case.exists(case.new_collection_path):
            assert case.admin("DELETE", case.new_collection_path).status in (200, 204)


# -- each request and what it must (not) have changed ----------------------------------------


def perform(case: Case, name: str) -> Response:
    if name == "GET event":
        return case.send("GET", case.event_path)
    if name == "PROPFIND calendar":
        body = propfind_body("D:displayname", "D:getetag")
        return case.send("PROPFIND", case.calendar_path, body=body, headers={"Depth": "1", **XML})
    if name == "REPORT calendar-query":
        return case.send(
            "REPORT", case.calendar_path, body=CALENDAR_QUERY, headers={"Depth": "1", **XML}
        )
    if name == "PUT new event":
        return case.send(
            "PUT", case.new_event_path, body=simple_event(case.uid + "-new"), headers=ICS
        )
    if name == "DELETE event":
        return case.send("DELETE", case.event_path)
    if name == "MOVE event in its calendar":
        destination = case.hub.url.rstrip("/") + case.moved_event_path
        return case.send("MOVE", case.event_path, headers={"Destination": destination})
    if name == "DELETE calendar":
        return case.send("DELETE", case.calendar_path)
    if name == "PROPPATCH displayname":
        return case.send(
            "PROPPATCH", case.calendar_path, body=proppatch_body("Переименован"), headers=XML
        )
    if name == "MKCALENDAR under the principal":
        return case.send(
            "MKCALENDAR", case.new_collection_path, body=mkcalendar_body("Новый"), headers=XML
        )
    if name == "MKCOL calendar (RFC 5689)":
        return case.send("MKCOL", case.new_collection_path, body=MKCOL_CALENDAR, headers=XML)
    raise AssertionError(name)


def check_allowed(case: Case, name: str, response: Response) -> None:
    assert 200 <= response.status < 300, f"{name}: {response.status} {response.text[:300]}"
    if name == "GET event":
        assert f"UID:{case.uid}" in response.text
        return
    if name in ("PROPFIND calendar", "REPORT calendar-query"):
        assert response.status == 207
        assert case.event_path in response_hrefs(response.text)
        return
    if name in ("MKCALENDAR under the principal", "MKCOL calendar (RFC 5689)"):
        assert case.exists(case.new_collection_path)
        return
    displayname, hrefs = case.snapshot()
    if name == "PUT new event":
        assert {case.event_path, case.new_event_path} <= hrefs
    elif name == "DELETE event":
        assert case.event_path not in hrefs
    elif name == "MOVE event in its calendar":
        assert case.moved_event_path in hrefs
        assert case.event_path not in hrefs
    elif name == "PROPPATCH displayname":
        assert "D:displayname" in found_props(response.text)
        assert displayname == "Переименован"
    else:
        raise AssertionError(f"{name} was not expected to be allowed")


def check_unchanged(case: Case, name: str, response: Response) -> None:
    """Whatever the refused request was, the hub is as it was before."""
    # The answer may name the address the request was sent to (DAV:need-privileges), never
    # what the event holds.
    for secret in (f"UID:{case.uid}", f"Событие {case.uid}"):
        assert secret not in response.text, "a refused request leaked the event"
    displayname, hrefs = case.snapshot()
    assert displayname is not None, "the calendar is gone"
    assert displayname == DISPLAY_NAMES[case.calendar], "the calendar was renamed"
    assert case.event_path in hrefs, "the event is gone"
    assert case.new_event_path not in hrefs, "a new event was stored"
    assert case.moved_event_path not in hrefs, "the event was moved"
    assert not case.exists(case.new_collection_path), "a collection was created"


def params():
    for account in ACCOUNTS:
        for calendar in CALENDARS:
            yield pytest.param((account, calendar), id=f"{account}-on-{calendar}")


@pytest.mark.parametrize("name", REQUESTS)
@pytest.mark.parametrize("case", list(params()), indirect=True)
def test_rights_matrix(case: Case, name: str):
    expected = EXPECTED[name, relation(case.account, case.calendar)]
    response = perform(case, name)
    if expected == "2xx":
        check_allowed(case, name, response)
        return
    check_unchanged(case, name, response)
    if expected == "401":
        assert_login_refused(response)
    else:
        assert response.status == 403, f"{name}: {response.status} {response.text[:300]}"


# -- more ways to change a calendar --------------------------------------------------------------


def test_plain_mkcol_is_refused_to_partners(hub_server):
    for login in ("bfu", "kgtu"):
        path = f"/dav/{login}/plain-{uuid.uuid4().hex[:8]}/"
        assert request(hub_server.url, "MKCOL", path, *creds(login)).status == 403
        propfind = request(hub_server.url, "PROPFIND", path, *creds("coordinator"))
        assert propfind.status == 404


def test_partner_cannot_create_a_principal(hub_server):
    path = f"/dav/bfu-{uuid.uuid4().hex[:8]}/"
    assert request(hub_server.url, "MKCOL", path, *creds("bfu")).status == 403
    assert request(hub_server.url, "MKCALENDAR", path, *creds("bfu")).status == 403


def test_coordinator_cannot_delete_a_principal_holding_hub_calendars(hub_server):
    response = request(hub_server.url, "DELETE", "/dav/bfu/", *creds("coordinator"))
    assert response.status == 403
    assert request(hub_server.url, "PROPFIND", "/dav/bfu/calendar/", *creds("bfu")).status == 207


def test_partner_cannot_move_its_event_into_another_calendar(hub_server):
    uid = f"move-{uuid.uuid4().hex[:8]}"
    source = f"/dav/bfu/calendar/{uid}.ics"
    assert (
        request(hub_server.url, "PUT", source, *creds("bfu"), body=simple_event(uid)).status == 201
    )
    try:
        for target in ("kgtu/calendar", "school/calendar", "school/blackout"):
            destination = f"{hub_server.url}dav/{target}/{uid}.ics"
            response = request(
                hub_server.url, "MOVE", source, *creds("bfu"), headers={"Destination": destination}
            )
            assert response.status == 403, target
            admin_get = request(
                hub_server.url, "GET", f"/dav/{target}/{uid}.ics", *creds("coordinator")
            )
            assert admin_get.status == 404
        assert request(hub_server.url, "GET", source, *creds("bfu")).status == 200
    finally:
        request(hub_server.url, "DELETE", source, *creds("bfu"))


def test_partner_cannot_replace_its_whole_calendar(fresh_hub):
    hub = fresh_hub()
    calendar = "/dav/bfu/calendar/"
    kept = f"kept-{uuid.uuid4().hex[:8]}"
    assert (
        request(
            hub.url, "PUT", f"{calendar}{kept}.ics", *creds("bfu"), body=simple_event(kept)
        ).status
        == 201
    )
    replacement = simple_event("replacement").replace(
        "CALSCALE:GREGORIAN\r\n", "CALSCALE:GREGORIAN\r\nX-WR-CALNAME:Переименован\r\n", 1
    )
    response = request(hub.url, "PUT", calendar, *creds("bfu"), body=replacement, headers=ICS)
    assert response.status == 403, (response.status, response.text[:200])
    props = found_props(
        request(
            hub.url,
            "PROPFIND",
            calendar,
            *creds("coordinator"),
            body=propfind_body("D:displayname", "ICAL:calendar-color", "C:calendar-timezone"),
            headers={"Depth": "0", **XML},
        ).text
    )
    assert props["D:displayname"].text == DISPLAY_NAMES["bfu/calendar"], "renamed"
    assert "ICAL:calendar-color" in props and "C:calendar-timezone" in props, "props dropped"
    assert request(hub.url, "GET", f"{calendar}{kept}.ics", *creds("coordinator")).status == 200


@pytest.mark.parametrize("method", ["GET", "PROPFIND", "REPORT"])
@pytest.mark.parametrize(
    "path", ["/dav/", "/dav/bfu/", "/dav/school/", "/dav/coordinator/", "/dav/bfu/hub-school/"]
)
def test_anonymous_gets_nothing_anywhere_under_dav(hub_server, method, path):
    response = request(hub_server.url, method, path, headers={"Depth": "1"})
    if (method, path) == ("GET", "/dav/"):
        # Radicale sends browsers to its (disabled) web UI: /dav/.web says "Radicale works!".
        assert response.status in (302, 401), response.status
    else:
        assert_login_refused(response)
    assert "calendar" not in response.text.lower()
    assert SCHOOL_NAME not in response.text


@pytest.mark.parametrize("principal", ["coordinator", "school", "kgtu"])
def test_partners_cannot_read_calendars_that_are_not_hub_calendars(hub_server, principal):
    collection = f"/dav/{principal}/private-{uuid.uuid4().hex[:8]}/"
    secret = f"secret-{uuid.uuid4().hex[:8]}"
    admin = creds("coordinator")
    made = request(hub_server.url, "MKCALENDAR", collection, *admin, body=mkcalendar_body("Личный"))
    assert made.status == 201
    try:
        assert (
            request(
                hub_server.url,
                "PUT",
                f"{collection}{secret}.ics",
                *admin,
                body=simple_event(secret),
                headers=ICS,
            ).status
            == 201
        )
        for method, path, body in [
            ("GET", f"{collection}{secret}.ics", None),
            ("PROPFIND", collection, propfind_body("D:displayname", "D:getetag")),
            ("REPORT", collection, CALENDAR_QUERY),
        ]:
            response = request(
                hub_server.url, method, path, *creds("bfu"), body=body, headers={"Depth": "1"}
            )
            assert secret not in response.text and "Личный" not in response.text, (method, path)
            assert response.status in (403, 404), (method, path, response.status)
    finally:
        assert request(hub_server.url, "DELETE", collection, *admin).status in (200, 204)


# -- logins ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "password"),
    [("bfu", "wrong-password"), ("nobody", "any-password"), ("bfu", PASSWORDS["kgtu"])],
    ids=["wrong-password", "unknown-login", "another-accounts-password"],
)
def test_failed_login_is_delayed_and_refused(hub_server, login, password):
    started = time.monotonic()
    response = request(hub_server.url, "GET", "/dav/bfu/calendar/", login, password)
    elapsed = time.monotonic() - started
    assert not 200 <= response.status < 300
    assert elapsed >= 0.95, f"a failed login took only {elapsed:.3f} s (failed_login_delay = 1 s)"
    assert_login_refused(response)


def test_right_password_is_not_delayed(hub_server):
    request(hub_server.url, "PROPFIND", "/dav/", *creds("kgtu"), headers={"Depth": "0"})
    started = time.monotonic()
    response = request(hub_server.url, "PROPFIND", "/dav/", *creds("kgtu"), headers={"Depth": "0"})
    assert response.status == 207
    assert time.monotonic() - started < 0.5


def test_login_cache_makes_the_second_login_cheap(hub_server, hub_dir: Path):
    """The account is hashed at bcrypt cost 12: the first request pays for one check, the
    next ones are answered from the login cache, far below the cost of a bcrypt check."""
    import json

    stored = json.loads((hub_dir / "accounts.json").read_text())["accounts"][SLOW_LOGIN]["hash"]
    password = PASSWORDS[SLOW_LOGIN].encode()
    started = time.perf_counter()
    assert bcrypt.checkpw(password, stored.encode())
    bcrypt_cost = time.perf_counter() - started

    def timed() -> float:
        started = time.perf_counter()
        response = request(hub_server.url, "GET", "/dav/bfu/calendar/", *creds(SLOW_LOGIN))
        assert response.status == 200
        return time.perf_counter() - started

    first = timed()
    later = min(timed() for _ in range(3))
    assert first >= 0.5 * bcrypt_cost, (first, bcrypt_cost)
    assert later < 0.5 * bcrypt_cost, f"cached login {later:.3f} s, bcrypt {bcrypt_cost:.3f} s"


# -- path tricks ---------------------------------------------------------------------------------

TRICKS = [
    "/dav/bfu/../kgtu/calendar/{uid}.ics",
    "/dav/bfu/calendar/../../kgtu/calendar/{uid}.ics",
    "/dav/bfu/%2e%2e/kgtu/calendar/{uid}.ics",
    "/dav/bfu/calendar/%2E%2E/%2E%2E/kgtu/calendar/{uid}.ics",
    "/dav/bfu%2F..%2Fkgtu/calendar/{uid}.ics",
    "/dav/bfu/calendar/..%2F..%2Fkgtu%2Fcalendar%2F{uid}.ics",
    "/dav/bfu/calendar%2F..%2F..%2Fkgtu%2Fcalendar/{uid}.ics",
    "/dav/bfu/calendar/%252e%252e/%252e%252e/kgtu/calendar/{uid}.ics",
    "/dav/./kgtu/calendar/{uid}.ics",
    "//dav/kgtu/calendar/{uid}.ics",
    "/dav//kgtu//calendar/{uid}.ics",
    "/dav/kgtu/calendar/./{uid}.ics",
    "/dav/KGTU/calendar/{uid}.ics",
    "/dav/bfu/..;/kgtu/calendar/{uid}.ics",
    "/dav/bfu/calendar/..\\..\\kgtu\\calendar\\{uid}.ics",
    # bfu's read-only view of kgtu's calendar in its own home (calhub/dav/plugins/sharing.py)
    "/dav/bfu/hub-kgtu/{uid}.ics",
    "/dav/bfu/hub-kgtu/../../kgtu/calendar/{uid}.ics",
    "/dav/bfu/hub-kgtu%2F{uid}.ics",
    "/dav/bfu/hub-kgtu/%2e%2e/hub-kgtu/{uid}.ics",
    # other accounts' views: the coordinator's is read-write, but not for bfu
    "/dav/coordinator/hub-kgtu/{uid}.ics",
    "/dav/kgtu/hub-bfu/../calendar/{uid}.ics",
    "/dav/school/hub-kgtu/{uid}.ics",
]


def traces_of(data_dir: Path, uid: str) -> list[Path]:
    """Files anywhere in the hub's storage whose name or content mentions ``uid``."""
    found = []
    for path in (data_dir / "storage").rglob("*"):
        if path.is_file() and (uid in path.name or uid.encode() in path.read_bytes()):
            found.append(path)
    return found


def assert_kgtu_untouched(hub_server, uid: str, response: Response) -> None:
    kgtu = request(hub_server.url, "GET", f"/dav/kgtu/calendar/{uid}.ics", *creds("coordinator"))
    assert kgtu.status == 404
    traces = traces_of(hub_server.data_dir, uid)
    assert not [p for p in traces if "kgtu" in p.parts], traces
    if 200 <= response.status < 300:
        # Accepted only if it landed in bfu's own calendar.
        own = hub_server.data_dir / "storage" / "collection-root" / "bfu" / "calendar"
        assert traces and all(own in p.parents for p in traces), traces
    else:
        assert not traces, traces


@pytest.mark.parametrize("template", TRICKS)
def test_path_tricks_never_let_bfu_write_kgtus_calendar(hub_server, template):
    uid = f"trick-{uuid.uuid4().hex[:10]}"
    path = template.format(uid=uid)
    response = request(
        hub_server.url, "PUT", path, *creds("bfu"), body=simple_event(uid), headers=ICS
    )
    try:
        assert response.status != 500, response.text[:300]
        assert_kgtu_untouched(hub_server, uid, response)
    finally:
        for stray in traces_of(hub_server.data_dir, uid):
            relative = stray.relative_to(hub_server.data_dir / "storage" / "collection-root")
            if stray.parent.name == "calendar" and stray.suffix == ".ics":
                request(
                    hub_server.url, "DELETE", f"/dav/{relative.as_posix()}", *creds("coordinator")
                )


@pytest.mark.parametrize(
    "destination",
    [
        "dav/bfu/calendar/../../kgtu/calendar/{uid}.ics",
        "dav/bfu/calendar/..%2F..%2Fkgtu%2Fcalendar%2F{uid}.ics",
        "dav/bfu/%2e%2e/kgtu/calendar/{uid}.ics",
        "dav/./kgtu/calendar/{uid}.ics",
    ],
)
def test_move_destination_tricks_never_reach_kgtu(hub_server, destination):
    uid = f"trickmove-{uuid.uuid4().hex[:10]}"
    source = f"/dav/bfu/calendar/{uid}.ics"
    assert (
        request(
            hub_server.url, "PUT", source, *creds("bfu"), body=simple_event(uid), headers=ICS
        ).status
        == 201
    )
    try:
        response = request(
            hub_server.url,
            "MOVE",
            source,
            *creds("bfu"),
            headers={"Destination": hub_server.url + destination.format(uid=uid)},
        )
        assert not 200 <= response.status < 300, response.status
        kgtu = request(
            hub_server.url, "GET", f"/dav/kgtu/calendar/{uid}.ics", *creds("coordinator")
        )
        assert kgtu.status == 404
        assert request(hub_server.url, "GET", source, *creds("bfu")).status == 200
    finally:
        request(hub_server.url, "DELETE", source, *creds("coordinator"))
