"""Profile one kind of hub request in-process (cProfile), on a hub the benchmark left behind.

    python -m bench.run --quick --workdir /tmp/calhub-bench      # keeps the data
    python -m bench.profile_hub --data /tmp/calhub-bench/hub new-put
    python -m bench.profile_hub --data /tmp/calhub-bench/hub update-put --top 40
    python -m bench.profile_hub --data /tmp/calhub-bench/hub day-report

The request goes through the hub's whole WSGI stack (``calhub.server.stack.build_stack``), without
a socket. Kinds: ``new-put``, ``update-put``, ``day-report``, ``month-report``, ``poll``
(Depth-0 getctag and sync-token), ``etags`` (Depth-1 getetag), ``sync`` (a new PUT, then a
sync-collection from the token before it), ``multiget`` (calendar-multiget of 50 objects).
The
calendar is the first partner calendar (``bfu``); PUTs add events numbered from 800000,
so the data changes (use a copy of the workdir if that matters).
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import datetime as dt
import io
import pstats
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench import generate
from bench.client import (
    CALENDAR_QUERY,
    MULTIGET,
    PROPFIND_ETAGS,
    PROPFIND_POLL,
    SYNC_COLLECTION,
    sync_token,
    utc_stamp,
)
from bench.servers import password_of

KINDS = (
    "new-put",
    "update-put",
    "day-report",
    "month-report",
    "poll",
    "etags",
    "sync",
    "multiget",
)


class InProcess:
    """The hub's WSGI stack, called in this process as a server calls it (tests use it
    too, with their hubs' passwords)."""

    def __init__(self, root: Path, login: str, password: str | None = None) -> None:
        from calhub.hub import Hub
        from calhub.server.stack import build_stack

        self.hub = Hub(root)
        self.app = build_stack(self.hub)
        secret = password_of(login) if password is None else password
        token = base64.b64encode(f"{login}:{secret}".encode()).decode()
        self.auth = f"Basic {token}"

    def request(
        self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
    ) -> tuple[str, dict[str, str], bytes]:
        data = body.encode()
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_AUTHORIZATION": self.auth,
        }
        for name, value in (headers or {}).items():
            key = name.upper().replace("-", "_")
            environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
        status: list[str] = []
        found: dict[str, str] = {}

        def start_response(line: str, pairs: list[tuple[str, str]], exc: Any = None) -> None:
            status.append(line)
            found.update({k.lower(): v for k, v in pairs})

        answer = b"".join(self.app(environ, start_response))
        return status[0], found, answer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--data", type=Path, required=True, help="the hub's data directory")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--top", type=int, default=30, help="lines of the profile to print")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    args = parser.parse_args(argv)

    spec = generate.KNOWN_PARTNERS[0]
    factory = generate.EventFactory(spec, args.seed)
    hub = InProcess(args.data, spec.id)
    base = f"/dav/{spec.path}/"
    zone = ZoneInfo(generate.HUB_TZ)
    year = generate.school_year()
    etags: dict[int, str] = {}

    def put(number: int, version: int = 0) -> None:
        event = factory.event(number, version)
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if number in etags:
            headers["If-Match"] = etags[number]
        else:
            headers["If-None-Match"] = "*"
        status, found, _ = hub.request("PUT", base + event.href, event.text, headers)
        assert status.startswith(("201", "204")), status
        etags[number] = found["etag"]

    def report(days: int, run: int) -> None:
        day = year[0] + dt.timedelta(days=15 + 17 * run)
        start = dt.datetime.combine(day, dt.time(), zone)
        body = CALENDAR_QUERY.format(
            start=utc_stamp(start), end=utc_stamp(start + dt.timedelta(days=days))
        )
        headers = {"Depth": "1", "Content-Type": "application/xml"}
        status, _, _ = hub.request("REPORT", base, body, headers)
        assert status.startswith("207"), status

    first = 800_000 + int(time.time()) % 100_000 * 10
    if args.kind == "update-put":
        for n in range(args.runs + 1):
            put(first + n)

    def ask(method: str, body: str, depth: str) -> bytes:
        headers = {"Depth": depth, "Content-Type": "application/xml"}
        status, _, answer = hub.request(method, base, body, headers)
        assert status.startswith("207"), status
        return answer

    def one(run: int) -> None:
        if args.kind == "poll":
            ask("PROPFIND", PROPFIND_POLL, "0")
        elif args.kind == "etags":
            ask("PROPFIND", PROPFIND_ETAGS, "1")
        elif args.kind == "multiget":
            hrefs = "".join(f"<D:href>{base}{href}</D:href>" for href in sample[run % 4])
            ask("REPORT", MULTIGET.format(hrefs=hrefs), "1")
        elif args.kind == "sync":
            put(first + 2_000 + run)
            tokens.append(sync_token(ask("REPORT", SYNC_COLLECTION.format(token=tokens[-1]), "1")))
        elif args.kind == "new-put":
            put(first + 1_000 + run)
        elif args.kind == "update-put":
            put(first + run, version=run + 1)
        else:
            report(1 if args.kind == "day-report" else 30, run)

    tokens: list[str] = []
    sample: list[list[str]] = []
    if args.kind == "multiget":
        # Four sets of 50 objects of the calendar, as a phone asks for what a sync named.
        folder = args.data / "storage" / "collection-root" / spec.path.strip("/")
        names = sorted(p.name for p in folder.glob("*.ics"))
        sample = [names[n * 50 : n * 50 + 50] for n in range(4)]
    if args.kind == "sync":
        tokens.append(sync_token(ask("REPORT", SYNC_COLLECTION.format(token=""), "1")))
    one(0)  # warm-up
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for run in range(1, args.runs + 1):
        one(run)
    profile.disable()
    seconds = (time.perf_counter() - started) / args.runs
    print(f"{args.kind}: {seconds * 1000:.1f} ms per request under cProfile ({args.runs} runs)")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
