"""The live stream over a real ``calhub serve`` (waitress, issue 15).

One server with 4 worker threads, so one stream at a time (``max(1, threads // 4)``), and a
``request_timeout`` far shorter than a stream: an event arrives within 2 s of the CalDAV
PUT that makes a clash; a second stream gets the 503; a stream whose client left frees its
slot; each stream ends by itself, whole, and is logged once; SIGTERM with a stream open
stops the server at once and cleanly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import queue
import re
import signal
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import PASSWORDS, basic_auth, creds, make_event

from calhub.web import live

REQUEST_TIMEOUT = 3  # seconds: a stream lives far longer, and must not be cut by it


class Stream:
    """One open ``/api/live/stream``: its events (with when each came) read on a thread."""

    def __init__(self, url: str, login: str = "coordinator") -> None:
        parts = urllib.parse.urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=40)
        self.connection.request(
            "GET",
            "/api/live/stream",
            headers={"Authorization": basic_auth(*creds(login)), "Accept": "text/event-stream"},
        )
        self.sock = self.connection.sock
        self.response = self.connection.getresponse()
        self.opened = time.monotonic()
        self.events: queue.Queue[tuple[float, dict[str, Any] | None]] = queue.Queue()
        self.raw = b""
        self.ended_at: float | None = None
        if self.response.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = self.response.read1(65536)
                if not chunk:
                    break
                self.raw += chunk
                buffer += chunk
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    for line in block.decode().splitlines():
                        if line.startswith("data: "):
                            self.events.put((time.monotonic(), json.loads(line[6:])))
        except (OSError, http.client.HTTPException):
            pass
        self.ended_at = time.monotonic()
        self.events.put((time.monotonic(), None))

    def next_event(self, timeout: float) -> tuple[float, dict[str, Any] | None]:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        # The reading thread holds the socket's file: shut the connection down for real.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.connection.close()


@pytest.fixture(scope="module")
def live_hub(module_hubs: Any) -> Iterator[Any]:
    from calhub.hub import configfile

    root = module_hubs.create()
    document = configfile.read_document(root)
    server: Any = document.get("server")
    if server is None:
        document["server"] = {"request_timeout": REQUEST_TIMEOUT}
    else:
        server["request_timeout"] = REQUEST_TIMEOUT
    configfile.save_document(root, document)
    yield module_hubs.serve(root, extra=["--threads", "4"])


def put(hub: Any, login: str, uid: str, text: str) -> None:
    response = hub.request(
        "PUT",
        f"/dav/{login}/calendar/{uid}.ics",
        *creds(login),
        body=text,
        headers={"Content-Type": "text/calendar; charset=utf-8"},
    )
    assert response.status == 201, response.text


def test_an_event_within_2_s_the_cap_and_the_stream_ends_by_itself(live_hub: Any) -> None:
    stream = Stream(live_hub.url)
    try:
        assert stream.response.status == 200
        assert stream.response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
        came, first = stream.next_event(timeout=5)
        assert first is not None and first["hard"] == 0
        assert stream.raw.startswith(f"retry: {live.RETRY_MS}\n".encode())

        # One stream at a time with 4 threads: the next one is refused, readably.
        refused = live_hub.request("GET", "/api/live/stream", *creds("bfu"))
        assert refused.status == 503
        assert refused.header("Retry-After") == str(live.RETRY_AFTER)
        assert "Too many live streams" in json.loads(refused.text)["error"]
        assert live_hub.request("GET", "/api/live", *creds("bfu")).status == 200

        # A lecture of bfu and a lab of kgtu for the same class at the same time.
        day = dt.date.today() + dt.timedelta(days=9)
        start = dt.datetime.combine(day, dt.time(15))
        end = start + dt.timedelta(hours=1)
        put(live_hub, "bfu", "live-lecture", make_event("live-lecture", "Лекция [10А]", start, end))
        _, after_first = stream.next_event(timeout=5)  # the index changed: a new version
        assert after_first is not None and after_first["hard"] == 0
        written = time.monotonic()
        put(live_hub, "kgtu", "live-lab", make_event("live-lab", "Практикум [10А]", start, end))
        while True:
            came, event = stream.next_event(timeout=5)
            assert event is not None, "the stream ended before the clash"
            if event["hard"] == 1:
                break
        assert came - written < 2.0, f"the clash came {came - written:.2f} s after the PUT"
        assert event["version"] != first["version"]

        # It ends by itself, whole (the last chunk), well past the request timeout.
        while stream.ended_at is None:
            stream.next_event(timeout=live.STREAM_SECONDS + 10)
        lasted = stream.ended_at - stream.opened
        assert live.STREAM_SECONDS - 1 <= lasted <= 30, lasted
        assert stream.response.isclosed() or stream.response.read() == b""
    finally:
        stream.close()

    # The access log has one line for the stream: 200, its size and its whole duration.
    time.sleep(0.3)
    lines = [line for line in live_hub.access_lines() if "/api/live/stream" in line]
    ok = [line for line in lines if '" 200 ' in line]
    assert len(ok) == 1, lines
    match = re.search(r'" 200 (\d+) ([\d.]+)ms', ok[0])
    assert match, ok[0]
    assert int(match.group(1)) == len(stream.raw)
    assert float(match.group(2)) >= (live.STREAM_SECONDS - 1) * 1000


def test_a_client_that_leaves_frees_its_stream(live_hub: Any) -> None:
    first = Stream(live_hub.url)
    assert first.response.status == 200
    first.next_event(timeout=5)
    first.close()
    deadline = time.monotonic() + 3
    while True:
        second = Stream(live_hub.url, "bfu")
        if second.response.status == 200 or time.monotonic() > deadline:
            break
        second.close()
        time.sleep(0.2)
    try:
        assert second.response.status == 200, "the slot of a closed stream was not freed"
    finally:
        second.close()


def test_sigterm_with_a_stream_open_stops_cleanly(module_hubs: Any, tmp_path: Path) -> None:
    hub = module_hubs.serve(module_hubs.create())
    stream = Stream(hub.url)
    try:
        assert stream.response.status == 200
        stream.next_event(timeout=5)
        signalled = time.monotonic()
        hub.process.send_signal(signal.SIGTERM)
        code = hub.process.wait(10)
        took = time.monotonic() - signalled
        assert code == 0, hub.stderr()[-3000:]
        assert took < 5, f"stopped {took:.1f} s after SIGTERM"
        while stream.ended_at is None:
            stream.next_event(timeout=5)
        assert stream.raw.endswith(b"\n\n"), "the stream ended between events"
    finally:
        stream.close()
    assert "Received SIGTERM, stopped" in hub.stderr()
    assert "Traceback" not in hub.stderr()
    assert PASSWORDS["coordinator"] not in hub.stderr()
