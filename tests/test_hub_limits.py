"""Request body limit: ``[hub] max_body_bytes`` → 413 with a readable body, nothing stored.

One hub for the module, with ``max_body_bytes = 4096``; bodies are sent both with a
Content-Length and with chunked transfer encoding (no length up front).
"""

from __future__ import annotations

import datetime as dt
import socket
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import NAMESPACES, basic_auth, creds, make_event, request

LIMIT = 4096
DEFAULT_LIMIT = 10 * 1024 * 1024
ICS = {"Content-Type": "text/calendar; charset=utf-8"}


@pytest.fixture(scope="module")
def small_hub(module_hubs):
    return module_hubs(hub_settings={"max_body_bytes": LIMIT})


def event_of_size(uid: str, size: int) -> bytes:
    """A valid one-event VCALENDAR of exactly ``size`` bytes (padded in DESCRIPTION)."""
    start = dt.datetime(2032, 2, 2, 10, 0)
    bare = make_event(uid, "Большое событие", start, start + dt.timedelta(hours=1), tzid=None)
    padding = size - len(bare.encode()) - len("DESCRIPTION:\r\n")
    assert padding >= 0, size
    text = make_event(
        uid,
        "Большое событие",
        start,
        start + dt.timedelta(hours=1),
        tzid=None,
        description="x" * padding,
    )
    data = text.encode()
    assert len(data) == size
    return data


def propfind_of_size(size: int) -> bytes:
    head = b'<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop><displayname/>'
    tail = b"</prop></propfind>"
    return head + b" " * (size - len(head) - len(tail)) + tail


def chunks(data: bytes, size: int = 1000):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def traces_of(data_dir: Path, uid: str) -> list[Path]:
    return [
        p
        for p in (data_dir / "storage").rglob("*")
        if p.is_file() and (uid in p.name or uid.encode() in p.read_bytes())
    ]


def assert_refused_as_too_large(hub, response, uid: str, limit: int = LIMIT) -> None:
    assert response.status == 413, (response.status, response.text[:300])
    # A PUT names the CalDAV precondition it failed (RFC 4791 §5.3.2.1), with the reason.
    assert response.header("content-type").startswith("application/xml")
    error = ET.fromstring(response.text)
    assert error.find("C:max-resource-size", NAMESPACES) is not None, response.text
    assert "too large" in response.text.lower()
    assert "слишком большой" in response.text
    assert str(limit) in response.text, "the message should say what the limit is"
    get = request(hub.url, "GET", f"/dav/bfu/calendar/{uid}.ics", *creds("coordinator"))
    assert get.status == 404, "nothing may be stored"
    assert traces_of(hub.data_dir, uid) == []
    assert request(hub.url, "GET", "/healthz").status == 200, "the hub must still answer"


def new_uid() -> str:
    return f"big-{uuid.uuid4().hex[:10]}"


# -- over the limit ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [LIMIT + 1, 5 * LIMIT, 200_000])
def test_content_length_over_the_limit_is_refused(small_hub, size):
    uid = new_uid()
    response = request(
        small_hub.url,
        "PUT",
        f"/dav/bfu/calendar/{uid}.ics",
        *creds("bfu"),
        body=event_of_size(uid, size),
        headers=ICS,
    )
    assert_refused_as_too_large(small_hub, response, uid)


@pytest.mark.parametrize("size", [LIMIT + 1, 5 * LIMIT, 200_000])
def test_chunked_body_over_the_limit_is_refused(small_hub, size):
    uid = new_uid()
    response = request(
        small_hub.url,
        "PUT",
        f"/dav/bfu/calendar/{uid}.ics",
        *creds("bfu"),
        body=chunks(event_of_size(uid, size)),
        headers=ICS,
        chunked=True,
    )
    assert_refused_as_too_large(small_hub, response, uid)


def test_coordinator_is_limited_too(small_hub):
    uid = new_uid()
    response = request(
        small_hub.url,
        "PUT",
        f"/dav/bfu/calendar/{uid}.ics",
        *creds("coordinator"),
        body=event_of_size(uid, LIMIT + 1),
        headers=ICS,
    )
    assert_refused_as_too_large(small_hub, response, uid)


def raw_exchange(url: str, head: str, timeout: float = 10.0) -> str:
    """Send only a request head (no body) on a raw socket and read until the server closes
    the connection (it must: the announced body was never sent)."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1"))
        received = b""
        while data := sock.recv(65536):
            received += data
        return received.decode("latin-1")


def test_announced_huge_body_is_refused_before_it_is_sent(small_hub):
    """A client announcing 1 GiB with ``Expect: 100-continue`` gets 413 without sending it."""
    head = (
        "PUT /dav/bfu/calendar/huge.ics HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{small_hub.port}\r\n"
        f"Authorization: {basic_auth(*creds('bfu'))}\r\n"
        "Content-Type: text/calendar\r\n"
        f"Content-Length: {1024**3}\r\n"
        "Expect: 100-continue\r\n"
        "\r\n"
    )
    answer = raw_exchange(small_hub.url, head)
    final = [line for line in answer.split("\r\n") if line.startswith("HTTP/1.1 ")][-1]
    assert final.startswith("HTTP/1.1 413"), answer[:300]
    assert request(small_hub.url, "GET", "/healthz").status == 200


def test_default_limit_is_ten_mebibytes(hub_server):
    head = (
        "PUT /dav/bfu/calendar/huge.ics HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{hub_server.port}\r\n"
        f"Authorization: {basic_auth(*creds('bfu'))}\r\n"
        f"Content-Length: {DEFAULT_LIMIT + 1}\r\n"
        "\r\n"
    )
    answer = raw_exchange(hub_server.url, head)
    assert answer.startswith("HTTP/1.1 413"), answer[:300]
    assert str(DEFAULT_LIMIT) in answer
    assert request(hub_server.url, "GET", "/healthz").status == 200


@pytest.mark.parametrize("value", ["abc", "-5", "1e3"])
def test_invalid_content_length_is_a_bad_request(small_hub, value):
    head = (
        "PROPFIND /dav/bfu/calendar/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{small_hub.port}\r\n"
        f"Authorization: {basic_auth(*creds('bfu'))}\r\n"
        f"Content-Length: {value}\r\n"
        "Connection: close\r\n"
        "\r\n"
    )
    answer = raw_exchange(small_hub.url, head)
    assert answer.startswith("HTTP/1.1 400"), answer[:300]
    assert request(small_hub.url, "GET", "/healthz").status == 200


# -- at and under the limit -----------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_of_exactly_the_limit_passes_the_hub(small_hub, chunked):
    body = propfind_of_size(LIMIT)
    response = request(
        small_hub.url,
        "PROPFIND",
        "/dav/bfu/calendar/",
        *creds("bfu"),
        body=chunks(body) if chunked else body,
        headers={"Depth": "0", "Content-Type": "application/xml"},
        chunked=chunked,
    )
    assert response.status == 207, response.text[:300]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_small_event_is_stored_intact(small_hub, chunked):
    uid = new_uid()
    body = event_of_size(uid, 2000)
    path = f"/dav/bfu/calendar/{uid}.ics"
    response = request(
        small_hub.url,
        "PUT",
        path,
        *creds("bfu"),
        body=chunks(body, 300) if chunked else body,
        headers=ICS,
        chunked=chunked,
    )
    assert response.status == 201, response.text[:300]
    stored = request(small_hub.url, "GET", path, *creds("coordinator"))
    assert stored.status == 200
    assert "x" * 500 in stored.text.replace("\r\n ", "")
    assert request(small_hub.url, "DELETE", path, *creds("bfu")).status in (200, 204)


def test_event_within_the_limit_is_accepted(small_hub):
    uid = new_uid()
    path = f"/dav/bfu/calendar/{uid}.ics"
    response = request(
        small_hub.url, "PUT", path, *creds("bfu"), body=event_of_size(uid, 3900), headers=ICS
    )
    try:
        assert response.status == 201, (response.status, response.text[:200])
    finally:
        request(small_hub.url, "DELETE", path, *creds("coordinator"))


# -- changing the limit on a running hub ------------------------------------------------------


def set_limit(data_dir: Path, limit: int) -> None:
    from calhub.hub import configfile

    document = configfile.read_document(data_dir)
    hub_table = document["hub"]
    hub_table["max_body_bytes"] = limit  # type: ignore[index]
    configfile.save_document(data_dir, document)


def test_lowering_the_limit_takes_effect_without_restart(fresh_hub):
    hub = fresh_hub()
    set_limit(hub.data_dir, LIMIT)
    uid = new_uid()
    response = request(
        hub.url,
        "PUT",
        f"/dav/bfu/calendar/{uid}.ics",
        *creds("bfu"),
        body=event_of_size(uid, 10_000),
        headers=ICS,
    )
    assert_refused_as_too_large(hub, response, uid)


def test_raising_the_limit_takes_effect_without_restart(fresh_hub):
    hub = fresh_hub(hub_settings={"max_body_bytes": LIMIT})
    set_limit(hub.data_dir, 64 * 1024)
    uid = new_uid()
    path = f"/dav/bfu/calendar/{uid}.ics"
    response = request(
        hub.url, "PUT", path, *creds("bfu"), body=event_of_size(uid, 20_000), headers=ICS
    )
    assert response.status == 201, (response.status, response.text[:200])
