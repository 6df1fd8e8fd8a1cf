"""A partner's calendar server for the source tests: a real ``http.server`` on loopback.

``FeedServer`` serves one ICS document that a test changes between syncs, with an ETag
and Last-Modified it honours (``If-None-Match`` → 304), optionally gzip-compressed, slow,
failing with a status, redirecting in a loop, or sending an endless body. It counts the
requests and the 304s it answered. It binds 127.0.0.1 only, every connection has a time
limit, and the fixture that starts it shuts it down.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from calhub.dav.maintenance import open_runtime
from calhub.hub import Hub, HubPaths
from calhub.runtime import Runtime

LAST_MODIFIED = "Wed, 02 Dec 2026 10:00:00 GMT"


def vevent(uid: str, summary: str, start: str, end: str, extra: Sequence[str] = ()) -> str:
    """A VEVENT with local Kaliningrad times (``20311201T150000``)."""
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20261201T000000Z",
        f"DTSTART;TZID=Europe/Kaliningrad:{start}",
        f"DTEND;TZID=Europe/Kaliningrad:{end}",
        f"SUMMARY:{summary}",
        *extra,
        "END:VEVENT",
    ]
    return "\r\n".join(lines) + "\r\n"


def feed(*events: str, head: Sequence[str] = ()) -> str:
    """A whole calendar of ``events`` (VTIMEZONEs left out, as many feeds do)."""
    top = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Partner//Feed//EN", *head]
    return "\r\n".join(top) + "\r\n" + "".join(events) + "END:VCALENDAR\r\n"


@dataclass
class FeedState:
    body: bytes = b""
    status: int = 200
    gzip: bool = False
    delay: float = 0.0
    endless: bool = False
    redirect_loop: bool = False
    requests: int = 0
    not_modified: int = 0
    seen_headers: list[dict[str, str]] = field(default_factory=list)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:
        return  # the test output stays readable

    def do_GET(self) -> None:
        state = self.server.state
        state.requests += 1
        state.seen_headers.append(dict(self.headers.items()))
        if state.delay:
            time.sleep(state.delay)
        if state.redirect_loop:
            self.send_response(302)
            self.send_header("Location", f"/loop{state.requests}.ics")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if state.status != 200:
            self._send(state.status, b"server trouble\n", "text/plain")
            return
        if state.endless:
            self._endless()
            return
        if self.headers.get("If-None-Match") == state.etag:
            state.not_modified += 1
            self.send_response(304)
            self.send_header("ETag", state.etag)
            self.end_headers()
            return
        body = state.body
        headers = {"ETag": state.etag, "Last-Modified": LAST_MODIFIED}
        if state.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        self._send(200, body, "text/calendar; charset=utf-8", headers)

    def _send(
        self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _endless(self) -> None:
        """A calendar that never ends (no Content-Length): the hub must stop reading."""
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.end_headers()
        piece = b"BEGIN:VCALENDAR\r\n" + b"X-PAD:" + b"x" * 1000 + b"\r\n"
        deadline = time.monotonic() + 10
        try:
            while time.monotonic() < deadline:
                self.wfile.write(piece * 64)
        except OSError:
            return  # the hub hung up, as it should


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: FeedState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class FeedServer:
    def __init__(self) -> None:
        self.state = FeedState()
        self._server = _Server(self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/partner.ics"

    def serve(self, text: str) -> None:
        self.state.body = text.encode("utf-8")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    try:
        yield server
    finally:
        server.stop()


def runtime_on(root: Path) -> Runtime:
    return open_runtime(Hub(root))


def calendar_files(root: Path, calendar: str = "bfu") -> dict[str, float]:
    """The event files of a partner calendar in Radicale's storage, with their mtimes."""
    folder = HubPaths(root).collections / calendar / "calendar"
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.ics")}
