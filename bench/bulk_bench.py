"""One PUT of a whole calendar (a restore, or a move from another server) on the hub and on
plain Radicale, in the same run (issue 21).

The body is ``--events`` generated events (bench/generate.py, as in the other benchmarks)
in one VCALENDAR, PUT by the coordinator to a new collection of its own on both servers
(the hub refuses a whole-calendar PUT into a hub calendar: it would delete every event not
in the body). Before issue 21 the hub refused more than 10,000 components in any body, so
a 10,000-event calendar could not be restored in one request at all; now
``[hub] max_components_per_calendar`` (50,000) bounds it.

    python -m bench.bulk_bench [--events 10000] [--rounds 2] [--workdir DIR]

Each round PUTs the body once to each server, into a new collection (``restored-<round>``),
the hub first in even rounds and plain Radicale first in odd ones: one PUT of 10,000 events
takes minutes, and this shared machine's speed changes within that, so a single pair in a
fixed order measured the order as much as the servers (issue 21: 243 against 164 s, hub
first). Each PUT's line gives the load average before it.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from bench import generate
from bench.client import DavClient, count_responses
from bench.servers import Server, build_hub, build_plain, start_hub, start_plain


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
    parser.add_argument("--rounds", type=int, default=1, help="PUTs per server, alternating")
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
            for round_ in range(args.rounds):
                order = servers if round_ % 2 == 0 else servers[::-1]
                for server in order:
                    _put_whole(server, f"coordinator/restored-{round_}/", body)
        finally:
            for server in servers:
                server.stop()
    return 0


def _put_whole(server: Server, path: str, body: bytes) -> None:
    load = Path("/proc/loadavg").read_text().split()[0]
    client = DavClient(server, "coordinator")
    started = time.perf_counter()
    reply = client.request(
        "PUT",
        path,
        body,
        {"Content-Type": "text/calendar; charset=utf-8"},
        expect=(200, 201, 204, 403, 413),
    )
    seconds = time.perf_counter() - started
    listing = client.propfind(path, "1")
    stored = count_responses(listing.body) - 1
    client.close()
    print(
        f"{server.name}: {reply.status} in {seconds:.1f} s, {stored} objects stored, "
        f"peak {server.peak_rss_mb:.0f} MB (load {load} before)",
        flush=True,
    )
    if reply.status >= 400:
        print(f"  {reply.body[:300].decode(errors='replace')}")


if __name__ == "__main__":
    raise SystemExit(main())
