"""One PUT of a whole calendar (a restore, or a move from another server) on the hub and on
plain Radicale, in the same run (issue 21).

The body is ``--events`` generated events (bench/generate.py, as in the other benchmarks)
in one VCALENDAR, PUT by the coordinator to a new collection of its own on both servers
(the hub refuses a whole-calendar PUT into a hub calendar: it would delete every event not
in the body). Before issue 21 the hub refused more than 10,000 components in any body, so
a 10,000-event calendar could not be restored in one request at all; now
``[hub] max_components_per_calendar`` (50,000) bounds it.

    python -m bench.bulk_bench [--events 10000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from bench import generate
from bench.client import DavClient, count_responses
from bench.servers import build_hub, build_plain, start_hub, start_plain


def calendar_body(events: int, seed: int) -> bytes:
    """``events`` generated events of one partner calendar, in one VCALENDAR."""
    spec = generate.KNOWN_PARTNERS[0]
    factory = generate.EventFactory(spec, seed)
    parts = []
    for event in factory.events(0, events):
        text = event.text
        parts.append(text[text.index("BEGIN:VEVENT") : text.rindex("END:VEVENT") + 10])
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calhub bench//bulk//RU\r\n"
    return (head + "\r\n".join(parts) + "\r\nEND:VCALENDAR\r\n").encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    # Radicale narrates storage creation at WARNING when used in-process to set up data.
    logging.getLogger("radicale").setLevel(logging.ERROR)
    body = calendar_body(args.events, args.seed)
    print(f"# {args.events} events, {len(body):,} bytes, {body.count(b'BEGIN:'):,} components")
    with tempfile.TemporaryDirectory() as scratch:
        root = args.workdir or Path(scratch)
        logs = root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        specs = generate.hub_calendars(1)
        build_hub(root / "hub", specs, [])
        template, _ = build_plain(root / "plain", specs, [])
        servers = [start_hub(root / "hub", logs)]
        try:
            servers.append(start_plain(template, logs))
            for server in servers:
                client = DavClient(server, "coordinator")
                started = time.perf_counter()
                reply = client.request(
                    "PUT",
                    "coordinator/restored/",
                    body,
                    {"Content-Type": "text/calendar; charset=utf-8"},
                    expect=(200, 201, 204, 403, 413),
                )
                seconds = time.perf_counter() - started
                listing = client.propfind("coordinator/restored/", "1")
                stored = count_responses(listing.body) - 1
                client.close()
                print(
                    f"{server.name}: {reply.status} in {seconds:.1f} s, {stored} objects "
                    f"stored, peak {server.peak_rss_mb:.0f} MB"
                )
                if reply.status >= 400:
                    print(f"  {reply.body[:300].decode(errors='replace')}")
        finally:
            for server in servers:
                server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
