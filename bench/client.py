"""A minimal CalDAV client on ``http.client``: one keep-alive connection, HTTP Basic auth.

Plain ``http.client`` keeps client-side overhead small and identical for both servers; the
time of a request is measured from sending it to having read the whole answer.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import re
import time
from dataclasses import dataclass

from bench.servers import Server, password_of

CALENDAR_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start}" end="{end}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""

SYNC_COLLECTION = """<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:">
  <D:sync-token>{token}</D:sync-token>
  <D:sync-level>1</D:sync-level>
  <D:prop><D:getetag/></D:prop>
</D:sync-collection>"""

PROPFIND_ETAG = """<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:displayname/></D:prop></D:propfind>"""

PROPFIND_POLL = """<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">
<D:prop><CS:getctag/><D:sync-token/></D:prop></D:propfind>"""

PROPFIND_ETAGS = """<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"""

MULTIGET = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>"""


def utc_stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


class DavClient:
    def __init__(
        self, server: Server, login: str, password: str | None = None, timeout: float = 600
    ) -> None:
        self.server = server
        self.timeout = timeout
        self.login = login
        token = base64.b64encode(f"{login}:{password or password_of(login)}".encode()).decode()
        self.auth = f"Basic {token}"
        self.connection: http.client.HTTPConnection | None = None

    def url(self, path: str) -> str:
        return f"{self.server.prefix}/{path.lstrip('/')}"

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(
        self,
        method: str,
        path: str,
        body: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200, 201, 204, 207),
    ) -> Reply:
        if isinstance(body, str):
            body = body.encode("utf-8")
        all_headers = {"Authorization": self.auth, **(headers or {})}
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    self.server.host, self.server.port, timeout=self.timeout
                )
            started = time.perf_counter()
            try:
                self.connection.request(method, self.url(path), body=body, headers=all_headers)
                response = self.connection.getresponse()
                data = response.read()
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
                continue
            seconds = time.perf_counter() - started
            reply = Reply(
                response.status, {k.lower(): v for k, v in response.getheaders()}, data, seconds
            )
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            if reply.status not in expect:
                raise RuntimeError(
                    f"{self.server.name}: {method} {path} -> {reply.status}: {data[:500]!r}"
                )
            return reply
        raise AssertionError("unreachable")

    # -- the requests the scenarios use --------------------------------------------------

    def put(self, path: str, text: str, etag: str | None = None) -> Reply:
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if etag is None:
            headers["If-None-Match"] = "*"
        else:
            headers["If-Match"] = etag
        return self.request("PUT", path, text, headers)

    def time_range(self, calendar: str, start: dt.datetime, end: dt.datetime) -> Reply:
        body = CALENDAR_QUERY.format(start=utc_stamp(start), end=utc_stamp(end))
        headers = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
        return self.request("REPORT", f"{calendar}/", body, headers)

    def sync(self, calendar: str, token: str = "") -> Reply:
        headers = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
        return self.request("REPORT", f"{calendar}/", SYNC_COLLECTION.format(token=token), headers)

    def propfind(self, path: str, depth: str = "0") -> Reply:
        headers = {"Depth": depth, "Content-Type": "application/xml; charset=utf-8"}
        return self.request("PROPFIND", path, PROPFIND_ETAG, headers)

    def poll(self, calendar: str) -> Reply:
        """What a phone sends every few minutes: Depth 0, the ctag and the sync-token."""
        headers = {"Depth": "0", "Content-Type": "application/xml; charset=utf-8"}
        return self.request("PROPFIND", f"{calendar}/", PROPFIND_POLL, headers)

    def etags(self, calendar: str) -> Reply:
        """Depth 1, every object's etag only (a client without sync-collection)."""
        headers = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
        return self.request("PROPFIND", f"{calendar}/", PROPFIND_ETAGS, headers)

    def multiget(self, calendar: str, hrefs: list[str]) -> Reply:
        body = MULTIGET.format(hrefs="".join(f"<D:href>{h}</D:href>" for h in hrefs))
        headers = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
        return self.request("REPORT", f"{calendar}/", body, headers)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)


def sync_token(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    start = text.find("sync-token>")
    if start < 0:
        raise ValueError("no sync-token in the answer")
    start += len("sync-token>")
    return text[start : text.index("<", start)]


_RESPONSE = re.compile(rb"<(?:[A-Za-z0-9]+:)?response[ >]")


def count_responses(body: bytes) -> int:
    """How many ``DAV:response`` elements a multistatus answer holds."""
    return len(_RESPONSE.findall(body))
