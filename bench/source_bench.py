"""Mirroring a source (issue 18) against the same events PUT one by one.

A partner's feed of ``--events`` one-hour events (local Kaliningrad times over a school
year, on a loopback ``http.server``) is mirrored into a fresh hub's БФУ calendar by
``sync_source`` (what ``calhub source sync`` and the scheduler run): fetched once, cleaned,
and written under one hold of the storage lock through the CalDAV write path. Then the
same sync again (the feed answers 304), then after one event of the feed changed. Into a
second, served hub the same event texts are PUT one by one through CalDAV by the partner,
as a phone would.

    python -m bench.source_bench [--events 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.client import DavClient
from bench.generate import BLACKOUT, KNOWN_PARTNERS, SCHOOL
from bench.servers import build_hub, open_hub, start_hub


def vevent(number: int, summary: str) -> str:
    start = dt.datetime(2026, 9, 1, 8, 0) + dt.timedelta(hours=3 * number)
    end = start + dt.timedelta(hours=1)
    return (
        "BEGIN:VEVENT\r\n"
        f"UID:bench-{number}@bfu.example\r\nDTSTAMP:20260801T000000Z\r\n"
        f"DTSTART;TZID=Europe/Kaliningrad:{start:%Y%m%dT%H%M%S}\r\n"
        f"DTEND;TZID=Europe/Kaliningrad:{end:%Y%m%dT%H%M%S}\r\n"
        f"SUMMARY:{summary} {number}\r\nEND:VEVENT\r\n"
    )


def calendar(events: int, changed: int = -1) -> bytes:
    body = "".join(
        vevent(n, "Лекция (перенесена)" if n == changed else "Лекция") for n in range(events)
    )
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n" + body + "END:VCALENDAR\r\n"
    ).encode()


class Feed(BaseHTTPRequestHandler):
    body = b""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        etag = '"' + hashlib.sha256(Feed.body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(Feed.body)))
        self.end_headers()
        self.wfile.write(Feed.body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args(argv)

    from calhub.sources.manage import NewSource, add_source
    from calhub.sources.sync import sync_source

    server = ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/bfu.ics"
    calendars = [SCHOOL, BLACKOUT, KNOWN_PARTNERS[0]]
    times: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            first, second = Path(scratch) / "source", Path(scratch) / "put"
            build_hub(first, calendars, ())
            build_hub(second, calendars, ())
            runtime = open_hub(first)
            try:
                source = add_source(runtime, NewSource("bfu", url, every_seconds=900), "bench")
                Feed.body = calendar(args.events)
                for step in ("first sync", "304", "one changed"):
                    if step == "one changed":
                        Feed.body = calendar(args.events, changed=7)
                    started = time.perf_counter()
                    outcome = sync_source(runtime, source.id)
                    times[step] = time.perf_counter() - started
                    assert not outcome.error, outcome.error
                    print(f"{step}: {outcome.counts}")
                texts = [
                    (item.uid, _text(runtime, item.href))
                    for item in runtime.index.items("bfu").values()
                ]
            finally:
                runtime.close()
            hub = start_hub(second, Path(scratch))
            try:
                client = DavClient(hub, "bfu")
                started = time.perf_counter()
                for uid, text in texts:
                    client.put(f"/bfu/calendar/{uid}.ics", text)
                times["put"] = time.perf_counter() - started
            finally:
                hub.stop()
    finally:
        server.shutdown()
        server.server_close()
    n = args.events
    print(f"events: {n}")
    print(f"sync, first (all new): {times['first sync']:7.2f} s  {n / times['first sync']:6.0f}/s")
    print(f"sync, feed 304:        {times['304'] * 1000:7.1f} ms")
    print(f"sync, one changed:     {times['one changed']:7.2f} s")
    print(f"PUT one by one:        {times['put']:7.2f} s  {n / times['put']:6.0f}/s")
    return 0


def _text(runtime: object, href: str) -> str:
    from calhub.dav.storage import open_storage, read_object

    text = read_object(open_storage(runtime), "/bfu/calendar/", href)  # type: ignore[arg-type]
    assert text is not None
    return text.replace("X-CALHUB-SOURCE:1\r\n", "")  # a phone's PUT may not carry it


if __name__ == "__main__":
    raise SystemExit(main())
