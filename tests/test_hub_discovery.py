"""How a calendar app finds the hub: .well-known, principals, home sets, calendar properties;
plus the public pages (/healthz and the landing page). All against the real server."""

from __future__ import annotations

import json

import caldav
import pytest
from helpers import (
    PASSWORDS,
    SCHOOL_NAME,
    assert_login_refused,
    creds,
    dav_client,
    found_props,
    propfind_body,
    request,
)

from calhub.hub.palette import PALETTE

# Calendar path → (display name, colour) as the fixture hub configures them.
CALENDARS = {
    "school/calendar": (SCHOOL_NAME, "#1F6FEB"),
    "school/blackout": (f"{SCHOOL_NAME}: экзамены и каникулы", "#6E7781"),
    # Added without --color: the first two palette colours (calhub.hub.palette).
    "bfu/calendar": ("БФУ им. И. Канта", PALETTE[0]),
    "kgtu/calendar": ("КГТУ", PALETTE[1]),
}
HUB_TIMEZONE = "Europe/Kaliningrad"


def propfind(hub_server, path, login, *props, depth="0"):
    return request(
        hub_server.url,
        "PROPFIND",
        path,
        *creds(login),
        body=propfind_body(*props),
        headers={"Depth": depth, "Content-Type": "application/xml; charset=utf-8"},
    )


# -- .well-known and bare-host discovery -------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PROPFIND"])
def test_well_known_caldav_redirects_to_dav_root(hub_server, method):
    response = request(hub_server.url, method, "/.well-known/caldav")
    assert response.status == 301
    location = response.header("location")
    assert location in ("/dav/", hub_server.dav_url), location


def test_caldav_client_discovers_principal_and_calendars_from_bare_host(hub_server):
    client = dav_client(hub_server.url, "bfu")
    principal = client.principal()
    assert str(principal.url) == hub_server.dav_url + "bfu/"
    urls = [str(c.url) for c in principal.calendars()]
    assert hub_server.dav_url + "bfu/calendar/" in urls


def test_caldav_client_discovers_principal_and_calendars_from_dav_root(hub_server):
    client = dav_client(hub_server.dav_url, "bfu")
    principal = client.principal()
    assert str(principal.url) == hub_server.dav_url + "bfu/"
    calendars = {str(c.url): c for c in principal.calendars()}
    assert hub_server.dav_url + "bfu/calendar/" in calendars
    calendar = calendars[hub_server.dav_url + "bfu/calendar/"]
    assert calendar.get_display_name() == "БФУ им. И. Канта"


def test_caldav_client_negotiates_basic_auth_after_a_401(hub_server):
    """Without ``auth_type`` the caldav client first asks anonymously and expects a 401
    with a challenge (as most calendar apps do)."""
    assert_login_refused(request(hub_server.url, "PROPFIND", "/dav/", headers={"Depth": "0"}))
    client = caldav.DAVClient(url=hub_server.dav_url, username="bfu", password=PASSWORDS["bfu"])
    assert str(client.principal().url) == hub_server.dav_url + "bfu/"


# -- principals and home sets --------------------------------------------------------------


@pytest.mark.parametrize("login", ["coordinator", "bfu", "kgtu"])
def test_current_user_principal_is_the_login(hub_server, login):
    response = propfind(hub_server, "/dav/", login, "D:current-user-principal")
    assert response.status == 207
    principal = found_props(response.text)["D:current-user-principal"]
    assert principal.findtext("{DAV:}href") == f"/dav/{login}/"


@pytest.mark.parametrize("login", ["bfu", "kgtu"])
def test_calendar_home_set_of_a_partner_is_its_principal(hub_server, login):
    response = propfind(hub_server, f"/dav/{login}/", login, "C:calendar-home-set")
    assert response.status == 207
    home = found_props(response.text)["C:calendar-home-set"]
    assert home.findtext("{DAV:}href") == f"/dav/{login}/"


def test_partner_home_lists_its_calendar(hub_server):
    response = propfind(hub_server, "/dav/bfu/", "bfu", "D:resourcetype", depth="1")
    assert response.status == 207
    props = found_props(response.text, "/dav/bfu/calendar/")
    assert props["D:resourcetype"].find("{urn:ietf:params:xml:ns:caldav}calendar") is not None


def test_school_principal_lists_both_school_calendars(hub_server):
    response = propfind(hub_server, "/dav/school/", "coordinator", "D:displayname", depth="1")
    assert response.status == 207
    for path in ("school/calendar", "school/blackout"):
        name = found_props(response.text, f"/dav/{path}/")["D:displayname"].text
        assert name == CALENDARS[path][0]


def test_options_advertise_calendar_access(hub_server):
    response = request(hub_server.url, "OPTIONS", "/dav/", *creds("bfu"))
    assert 200 <= response.status < 300
    assert "calendar-access" in response.header("dav")


# -- calendar properties ---------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(CALENDARS))
@pytest.mark.parametrize("login", ["coordinator", "bfu"])
def test_calendar_properties(hub_server, path, login):
    response = propfind(
        hub_server,
        f"/dav/{path}/",
        login,
        "D:displayname",
        "D:resourcetype",
        "ICAL:calendar-color",
        "C:calendar-timezone",
        "C:supported-calendar-component-set",
        "C:calendar-description",
    )
    assert response.status == 207
    props = found_props(response.text)
    name, colour = CALENDARS[path]
    assert props["D:displayname"].text == name
    assert (props["ICAL:calendar-color"].text or "").upper().startswith(colour)
    assert props["D:resourcetype"].find("{urn:ietf:params:xml:ns:caldav}calendar") is not None
    timezone = props["C:calendar-timezone"].text or ""
    assert "BEGIN:VTIMEZONE" in timezone
    assert f"TZID:{HUB_TIMEZONE}" in timezone
    components = props["C:supported-calendar-component-set"]
    assert [c.get("name") for c in components] == ["VEVENT"]
    assert props["C:calendar-description"].text


def test_caldav_client_reads_calendar_properties(hub_server):
    client = dav_client(hub_server.dav_url, "kgtu")
    calendar = client.calendar(url=hub_server.dav_url + "school/blackout/")
    assert calendar.get_display_name() == CALENDARS["school/blackout"][0]
    assert calendar.get_supported_components() == ["VEVENT"]


# -- public pages ------------------------------------------------------------------------------


def test_healthz_over_http(hub_server):
    response = request(hub_server.url, "GET", "/healthz")
    assert response.status == 200
    assert response.header("content-type").startswith("application/json")
    body = json.loads(response.text)
    assert body["status"] == "ok"
    assert body["checks"]["storage"] == "ok"
    assert body["version"]


def test_landing_page_over_http(hub_server):
    response = request(hub_server.url, "GET", "/")
    assert response.status == 200
    assert response.header("content-type").startswith("text/html")
    assert SCHOOL_NAME in response.text
    assert hub_server.dav_url.rstrip("/") in response.text


def test_landing_page_in_process(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert SCHOOL_NAME in page
    for path in CALENDARS:
        assert f"/dav/{path}/" in page


def test_healthz_in_process(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_unknown_web_path_is_404(hub_server):
    assert request(hub_server.url, "GET", "/no-such-page").status == 404
