"""What the hub's DAV layer tells apps, against the real server: discovery from the root,
the privileges each calendar advertises, names with non-ASCII characters, tasks outside hub
calendars, and how every refusal names its precondition (RFC 4791 §1.3, §5.3.2.1;
RFC 3744 §7.1.1)."""

from __future__ import annotations

import gzip
import http.client
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
from helpers import (
    NAMESPACES,
    basic_auth,
    clark,
    creds,
    found_props,
    mkcalendar_body,
    multistatus,
    propfind_body,
    request,
    response_hrefs,
    simple_event,
)

XML = {"Content-Type": "application/xml; charset=utf-8"}
ICS = {"Content-Type": "text/calendar; charset=utf-8"}
READ_ONLY = {"D:read", "C:read-free-busy"}
EVENTS_WRITABLE = READ_ONLY | {"D:write-content", "D:bind", "D:unbind"}
FULL_WRITE = EVENTS_WRITABLE | {"D:write-properties", "D:write"}


def send(hub, method, path, login, body=None, headers=None):
    return request(hub.url, method, path, *creds(login), body=body, headers=headers)


def privileges(text: str, href_suffix: str) -> set[str]:
    granted = found_props(text, href_suffix)["D:current-user-privilege-set"]
    reverse = {uri: prefix for prefix, uri in NAMESPACES.items()}
    names = set()
    for privilege in granted.findall("D:privilege", NAMESPACES):
        for child in privilege:
            uri, _, local = child.tag[1:].partition("}")
            names.add(f"{reverse[uri]}:{local}")
    return names


def hub_calendars(hub):
    from calhub.hub import Hub

    return [c for c in Hub(hub.data_dir).settings.calendars if not c.archived]


def dav_error(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == clark("D:error"), text[:300]
    return root


def task(uid: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calhub tests//EN\r\n"
        f"BEGIN:VTODO\r\nUID:{uid}\r\nSUMMARY:Проверить тетради\r\n"
        "DTSTAMP:20270101T000000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )


# -- discovery from the root --------------------------------------------------------------


@pytest.mark.parametrize("login", ["bfu", "coordinator"])
@pytest.mark.parametrize("path", ["/dav/", "/"])
def test_root_depth_1_lists_only_the_users_own_principal(hub_server, login, path):
    response = send(
        hub_server, "PROPFIND", path, login, propfind_body("D:resourcetype"), {"Depth": "1", **XML}
    )
    assert response.status == 207, response.text[:300]
    assert sorted(set(response_hrefs(response.text))) == ["/dav/", f"/dav/{login}/"]


@pytest.mark.parametrize("login", ["bfu", "coordinator"])
def test_root_listing_is_corrected_for_clients_that_accept_gzip(hub_server, login):
    """Most apps (and vdirsyncer's aiohttp) ask for gzip; the answer is corrected all the same."""
    parts = urllib.parse.urlsplit(hub_server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    try:
        connection.request(
            "PROPFIND",
            "/dav/",
            body=propfind_body("D:resourcetype"),
            headers={
                "Depth": "1",
                "Accept-Encoding": "gzip",
                "Authorization": basic_auth(*creds(login)),
                **XML,
            },
        )
        answer = connection.getresponse()
        raw = answer.read()
        assert answer.status == 207
        assert answer.getheader("Content-Encoding") == "gzip"
        assert int(answer.getheader("Content-Length", "0")) == len(raw)
    finally:
        connection.close()
    text = gzip.decompress(raw).decode()
    assert sorted(set(response_hrefs(text))) == ["/dav/", f"/dav/{login}/"]


def test_principal_leads_to_the_home_with_own_calendar_and_views(hub_server):
    principal = send(
        hub_server,
        "PROPFIND",
        "/dav/",
        "bfu",
        propfind_body("D:current-user-principal"),
        {"Depth": "0", **XML},
    )
    assert (
        found_props(principal.text)["D:current-user-principal"].findtext("D:href", "", NAMESPACES)
        == "/dav/bfu/"
    )
    home = send(
        hub_server,
        "PROPFIND",
        "/dav/bfu/",
        "bfu",
        propfind_body("C:calendar-home-set"),
        {"Depth": "0", **XML},
    )
    assert (
        found_props(home.text)["C:calendar-home-set"].findtext("D:href", "", NAMESPACES)
        == "/dav/bfu/"
    )
    listing = send(
        hub_server,
        "PROPFIND",
        "/dav/bfu/",
        "bfu",
        propfind_body("D:resourcetype", "D:current-user-privilege-set"),
        {"Depth": "1", **XML},
    )
    hrefs = set(response_hrefs(listing.text)) - {"/dav/bfu/"}
    assert "/dav/bfu/calendar/" in hrefs
    views = {f"/dav/bfu/hub-{c.id}/" for c in hub_calendars(hub_server) if c.id != "bfu"}
    assert {"/dav/bfu/hub-school/", "/dav/bfu/hub-blackout/", "/dav/bfu/hub-kgtu/"} <= views
    assert hrefs - {"/dav/bfu/calendar/"} == views
    assert privileges(listing.text, "/dav/bfu/calendar/") == FULL_WRITE
    for view in views:
        assert privileges(listing.text, view) == READ_ONLY


def test_coordinator_views_may_take_events_but_not_property_changes(hub_server):
    listing = send(
        hub_server,
        "PROPFIND",
        "/dav/coordinator/",
        "coordinator",
        propfind_body("D:current-user-privilege-set"),
        {"Depth": "1", **XML},
    )
    for calendar in hub_calendars(hub_server):
        view = f"/dav/coordinator/hub-{calendar.id}/"
        assert privileges(listing.text, view) == EVENTS_WRITABLE


def test_allprop_advertises_the_same_privileges(hub_server):
    response = send(
        hub_server,
        "PROPFIND",
        "/dav/bfu/calendar/",
        "bfu",
        '<?xml version="1.0"?><propfind xmlns="DAV:"><allprop/></propfind>',
        {"Depth": "0", **XML},
    )
    assert privileges(response.text, "/dav/bfu/calendar/") == FULL_WRITE


def test_max_resource_size_is_the_hubs_body_limit(hub_server):
    response = send(
        hub_server,
        "PROPFIND",
        "/dav/bfu/calendar/",
        "bfu",
        propfind_body("C:max-resource-size"),
        {"Depth": "0", **XML},
    )
    from calhub.hub import Hub

    limit = Hub(hub_server.data_dir).settings.max_body_bytes
    assert found_props(response.text)["C:max-resource-size"].text == str(limit)


def test_options_of_the_bare_host_advertises_caldav(hub_server):
    response = request(hub_server.url, "OPTIONS", "/")
    assert response.status == 200
    assert "calendar-access" in response.header("dav")


# -- names with non-ASCII and reserved characters --------------------------------------------


@pytest.mark.parametrize("name", ["ä-uml", "событие 10А", "a+b&c@d"])
def test_object_names_round_trip_as_utf_8(hub_server, name):
    quoted = urllib.parse.quote(name, safe="")
    path = f"/dav/bfu/calendar/{quoted}.ics"
    uid = "name-" + quoted.replace("%", "")
    created = send(hub_server, "PUT", path, "bfu", simple_event(uid), ICS)
    assert created.status == 201, created.text[:300]
    listing = send(
        hub_server,
        "PROPFIND",
        "/dav/bfu/calendar/",
        "bfu",
        propfind_body("D:getetag"),
        {"Depth": "1", **XML},
    )
    listed = [
        h for h in response_hrefs(listing.text) if urllib.parse.unquote(h).endswith(name + ".ics")
    ]
    assert len(listed) == 1, response_hrefs(listing.text)
    href = listed[0]
    got = request(hub_server.url, "GET", href, *creds("bfu"))
    assert got.status == 200 and f"UID:{uid}" in got.text
    multiget = send(
        hub_server,
        "REPORT",
        "/dav/bfu/calendar/",
        "bfu",
        '<?xml version="1.0" encoding="utf-8"?>'
        '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"<D:prop><D:getetag/></D:prop><D:href>{path}</D:href></C:calendar-multiget>",
        {"Depth": "1", **XML},
    )
    statuses = [s.text for s in multistatus(multiget.text).iter(clark("D:status"))]
    assert statuses and all(" 200 " in (s or "") for s in statuses), multiget.text[:500]
    assert request(hub_server.url, "DELETE", href, *creds("bfu")).status in (200, 204)
    assert request(hub_server.url, "GET", path, *creds("bfu")).status == 404


def test_an_address_that_is_not_utf_8_is_refused_clearly(hub_server):
    response = request(hub_server.url, "GET", "/dav/bfu/calendar/%FF.ics", *creds("bfu"))
    assert response.status == 400
    assert "UTF-8" in response.text


# -- tasks, journals and contacts outside hub calendars ----------------------------------------


def test_a_task_round_trips_in_the_coordinators_own_calendar(hub_server):
    collection = "/dav/coordinator/tasks-roundtrip/"
    made = send(hub_server, "MKCALENDAR", collection, "coordinator", mkcalendar_body("Задачи"), XML)
    assert made.status == 201, made.text[:300]
    try:
        put = send(hub_server, "PUT", collection + "t1.ics", "coordinator", task("t1"), ICS)
        assert put.status == 201, put.text[:300]
        got = send(hub_server, "GET", collection + "t1.ics", "coordinator")
        assert "BEGIN:VTODO" in got.text and "UID:t1" in got.text
    finally:
        send(hub_server, "DELETE", collection, "coordinator")


def test_a_contact_goes_into_an_address_book(hub_server):
    book = "/dav/coordinator/contacts-roundtrip/"
    made = send(
        hub_server,
        "MKCOL",
        book,
        "coordinator",
        '<?xml version="1.0" encoding="utf-8"?>'
        '<D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>'
        "<D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>"
        "</D:prop></D:set></D:mkcol>",
        XML,
    )
    assert made.status == 201, made.text[:300]
    try:
        card = (
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nFN:Иван Петров\r\n"
            "N:Петров;Иван;;;\r\nEND:VCARD\r\n"
        )
        put = send(
            hub_server, "PUT", book + "c1.vcf", "coordinator", card, {"Content-Type": "text/vcard"}
        )
        assert put.status == 201, put.text[:300]
        assert "FN:Иван Петров" in send(hub_server, "GET", book + "c1.vcf", "coordinator").text
    finally:
        send(hub_server, "DELETE", book, "coordinator")


def test_a_task_moved_into_a_hub_calendar_is_refused(hub_server):
    collection = "/dav/coordinator/tasks-to-move/"
    made = send(hub_server, "MKCALENDAR", collection, "coordinator", mkcalendar_body("Задачи"), XML)
    assert made.status == 201, made.text[:300]
    try:
        assert (
            send(hub_server, "PUT", collection + "m1.ics", "coordinator", task("m1"), ICS).status
            == 201
        )
        destination = hub_server.url.rstrip("/") + "/dav/school/calendar/m1.ics"
        moved = send(
            hub_server,
            "MOVE",
            collection + "m1.ics",
            "coordinator",
            headers={"Destination": destination},
        )
        assert moved.status == 403, moved.text[:300]
        assert dav_error(moved.text).find("C:supported-calendar-component", NAMESPACES) is not None
        assert send(hub_server, "GET", "/dav/school/calendar/m1.ics", "coordinator").status == 404
        assert send(hub_server, "GET", collection + "m1.ics", "coordinator").status == 200
    finally:
        send(hub_server, "DELETE", collection, "coordinator")


# -- refusals and their preconditions ----------------------------------------------------------


def test_hub_calendars_advertise_events_only(hub_server):
    response = send(
        hub_server,
        "PROPFIND",
        "/dav/bfu/calendar/",
        "bfu",
        propfind_body("C:supported-calendar-component-set"),
        {"Depth": "0", **XML},
    )
    components = found_props(response.text)["C:supported-calendar-component-set"]
    assert [c.get("name") for c in components] == ["VEVENT"]


@pytest.mark.parametrize(
    "login, path", [("bfu", "/dav/bfu/calendar/"), ("coordinator", "/dav/coordinator/hub-school/")]
)
def test_a_task_in_a_hub_calendar_is_refused_with_supported_calendar_component(
    hub_server, login, path
):
    response = send(hub_server, "PUT", path + "task.ics", login, task("task-in-hub"), ICS)
    assert response.status == 403
    error = dav_error(response.text)
    assert error.find("C:supported-calendar-component", NAMESPACES) is not None
    description = error.findtext("D:responsedescription", "", NAMESPACES)
    assert "VTODO" in description and "VEVENT" in description
    assert "только мероприятия" in description  # Russian first, then English
    assert send(hub_server, "GET", path + "task.ics", login).status == 404


@pytest.mark.parametrize(
    "body, condition",
    [
        ("hello, world", "C:valid-calendar-data"),
        (b"BEGIN:VCALENDAR\r\n\xff\xfe\r\nEND:VCALENDAR\r\n", "C:valid-calendar-data"),
        (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:never\r\n"
            "DTSTART:20270101T100000Z\r\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\r\n"
            "SUMMARY:Никогда\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "C:valid-calendar-object-resource",
        ),
    ],
)
def test_data_the_hub_cannot_take_names_its_precondition(hub_server, body, condition):
    response = send(hub_server, "PUT", "/dav/bfu/calendar/refused.ics", "bfu", body, ICS)
    assert response.status == 403, response.text[:300]
    error = dav_error(response.text)
    assert error.find(condition, NAMESPACES) is not None, response.text
    assert error.findtext("D:responsedescription", "", NAMESPACES).strip()
    assert send(hub_server, "GET", "/dav/bfu/calendar/refused.ics", "bfu").status == 404


def test_an_object_over_the_size_limit_names_max_resource_size(hub_server):
    from calhub.hub import Hub

    limit = Hub(hub_server.data_dir).settings.max_body_bytes
    body = simple_event("too-big").replace(
        "END:VEVENT", "DESCRIPTION:" + "x" * limit + "\r\nEND:VEVENT"
    )
    response = send(hub_server, "PUT", "/dav/bfu/calendar/too-big.ics", "bfu", body, ICS)
    assert response.status == 413
    assert dav_error(response.text).find("C:max-resource-size", NAMESPACES) is not None
    # Outside a calendar, the same limit is a plain 413.
    other = send(hub_server, "PROPFIND", "/dav/bfu/", "bfu", "x" * (limit + 1), XML)
    assert other.status == 413


@pytest.mark.parametrize(
    "method, path, privilege",
    [
        ("PUT", "/dav/bfu/hub-school/intruder.ics", "D:write-content"),
        ("PUT", "/dav/bfu/hub-kgtu/intruder.ics", "D:write-content"),
        ("PROPPATCH", "/dav/bfu/hub-school/", "D:write-properties"),
        ("PROPPATCH", "/dav/kgtu/calendar/", "D:write-properties"),
        ("MKCALENDAR", "/dav/bfu/second/", "D:bind"),
    ],
)
def test_a_write_without_the_privilege_names_the_missing_privilege(
    hub_server, method, path, privilege
):
    bodies = {
        "PUT": simple_event("intruder"),
        "PROPPATCH": '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
        "<D:displayname>Новое имя</D:displayname></D:prop></D:set></D:propertyupdate>",
        "MKCALENDAR": mkcalendar_body("Второй"),
    }
    headers = ICS if method == "PUT" else XML
    response = send(hub_server, method, path, "bfu", bodies[method], headers)
    assert response.status == 403
    error = dav_error(response.text)
    resource = error.find("D:need-privileges/D:resource", NAMESPACES)
    assert resource is not None, response.text
    assert resource.findtext("D:href", "", NAMESPACES) == path
    assert resource.find(f"D:privilege/{privilege}", NAMESPACES) is not None
    assert "только для чтения" in error.findtext("D:responsedescription", "", NAMESPACES)


# -- which calendar apps put first -------------------------------------------------------------


def calendar_orders(hub, login: str) -> dict[str, int]:
    listing = send(
        hub,
        "PROPFIND",
        f"/dav/{login}/",
        login,
        propfind_body("ICAL:calendar-order"),
        {"Depth": "1", **XML},
    )
    orders = {}
    for href in set(response_hrefs(listing.text)) - {f"/dav/{login}/"}:
        order = found_props(listing.text, href)["ICAL:calendar-order"]
        orders[href] = int(order.text or "")
    return orders


def test_the_coordinators_list_starts_with_the_school_calendar(hub_server):
    orders = calendar_orders(hub_server, "coordinator")
    first = min(orders, key=orders.__getitem__)
    assert first == "/dav/coordinator/hub-school/"
    assert orders["/dav/coordinator/hub-blackout/"] == sorted(orders.values())[1]
    assert len(set(orders.values())) == len(orders), orders


def test_a_partners_list_starts_with_its_own_calendar(hub_server):
    orders = calendar_orders(hub_server, "bfu")
    assert min(orders, key=orders.__getitem__) == "/dav/bfu/calendar/"
    assert len(set(orders.values())) == len(orders), orders


# -- relabelling a calendar ------------------------------------------------------------------


def proppatch(props: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
        f'xmlns:ICAL="http://apple.com/ns/ical/"><D:set><D:prop>{props}</D:prop></D:set>'
        "</D:propertyupdate>"
    )


def test_a_partner_recolours_its_own_calendar_and_others_keep_the_hubs_colour(fresh_hub):
    hub = fresh_hub()
    changed = send(
        hub,
        "PROPPATCH",
        "/dav/bfu/calendar/",
        "bfu",
        proppatch("<ICAL:calendar-color>#FF2968FF</ICAL:calendar-color>"),
        XML,
    )
    assert changed.status == 207, changed.text[:300]
    assert "ICAL:calendar-color" in found_props(changed.text)
    own = send(
        hub,
        "PROPFIND",
        "/dav/bfu/calendar/",
        "bfu",
        propfind_body("ICAL:calendar-color"),
        {"Depth": "0", **XML},
    )
    assert found_props(own.text)["ICAL:calendar-color"].text == "#FF2968FF"
    from calhub.hub import Hub

    configured = Hub(hub.data_dir).settings.calendar("bfu")
    assert configured is not None
    seen = send(
        hub,
        "PROPFIND",
        "/dav/kgtu/hub-bfu/",
        "kgtu",
        propfind_body("ICAL:calendar-color", "D:displayname"),
        {"Depth": "0", **XML},
    )
    props = found_props(seen.text)
    assert props["ICAL:calendar-color"].text == configured.color
    assert props["D:displayname"].text == configured.name


@pytest.mark.parametrize("login", ["bfu", "coordinator"])
def test_properties_the_hub_relies_on_cannot_be_changed(hub_server, login):
    path = "/dav/bfu/calendar/"
    response = send(
        hub_server,
        "PROPPATCH",
        path,
        login,
        proppatch(
            "<D:displayname>Новое имя</D:displayname>"
            '<C:supported-calendar-component-set><C:comp name="VTODO"/>'
            "</C:supported-calendar-component-set>"
        ),
        XML,
    )
    assert response.status == 403
    error = dav_error(response.text)
    assert error.find("D:cannot-modify-protected-property", NAMESPACES) is not None
    assert "supported-calendar-component-set" in error.findtext(
        "D:responsedescription", "", NAMESPACES
    )
    after = send(
        hub_server,
        "PROPFIND",
        path,
        login,
        propfind_body("D:displayname", "C:supported-calendar-component-set"),
        {"Depth": "0", **XML},
    )
    props = found_props(after.text)
    assert props["D:displayname"].text != "Новое имя", "PROPPATCH is all or nothing"
    assert [c.get("name") for c in props["C:supported-calendar-component-set"]] == ["VEVENT"]


def test_a_wrong_password_is_asked_again_not_told_about_properties(hub_server):
    response = request(
        hub_server.url,
        "PROPPATCH",
        "/dav/bfu/calendar/",
        "bfu",
        "wrong password",
        body=proppatch("<C:calendar-timezone>x</C:calendar-timezone>"),
        headers=XML,
    )
    assert response.status == 401
