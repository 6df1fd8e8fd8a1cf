"""The partner report (issue 20) over HTTP: ``/reports/export?format=json`` of a school year
against plain Radicale's time-range REPORT of the same events and days.

What a report costs next to what any client pays to read the same range: the hub reads the
index, every stored object of the range (for cancellations and write times) and the clash
records; plain Radicale answers a calendar-query of the range from its one calendar. At
each size N a fresh hub and plain Radicale 3.9 are built on the same generated events, as
bench/feed_bench.py builds them (the hub spreads them over its calendars; plain Radicale
holds all of them in one), the hub indexed with its full clash scan and Radicale's item
cache copied to plain Radicale.

Measured, the servers alternating:

1. the report's first request (made from the stores: the cache is empty);
2. the report again (the web keeps it by the stores' versions: a lookup);
3. after one new event PUT on both (the report is made again), against plain Radicale's
   REPORT after the same PUT.

The hub's time is its server time from the access log; plain Radicale's is client time.

    python -m bench.report_bench --sizes 2000,5000 --workdir /tmp/calhub-report-bench
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import logging
import shutil
import sys
import tempfile
import time
import zoneinfo
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import generate
from bench.client import DavClient
from bench.feed_bench import AccessTail, FeedClient, _copy_caches, spread
from bench.servers import (
    build_hub,
    build_plain,
    copy_events,
    index_new_events,
    password_of,
    start_hub,
    start_plain,
)
from bench.stats import fmt_ms, machine, table

logger = logging.getLogger(__name__)

ZONE = zoneinfo.ZoneInfo("Europe/Kaliningrad")
NEW_EVENTS_FROM = 900_000


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


class ReportBench:
    def __init__(self, workdir: Path, sizes: Sequence[int], runs: int, seed: int) -> None:
        self.workdir = workdir
        self.sizes = sizes
        self.runs = runs
        self.seed = seed
        self.specs = generate.hub_calendars(6)
        self.target = next(s for s in self.specs if s.role == "partner")
        self.year = generate.school_year()
        self.factory = generate.EventFactory(self.target, seed, self.year)
        self.next_new = NEW_EVENTS_FROM

    def build(self, size: int) -> tuple[Path, Path]:
        root = self.workdir / f"report-{size}"
        if root.exists():
            shutil.rmtree(root)
        hub_root = root / "hub"
        hub_storage = build_hub(hub_root, self.specs, ())
        template, plain_storage = build_plain(root / "plain", [self.target], ())
        new: dict[generate.CalendarSpec, list[str]] = {}
        for spec, count in spread(size, self.specs).items():
            events = generate.calendar_events(spec, count, self.seed, year=self.year)
            copy_events([hub_storage], spec, events)
            copy_events([plain_storage], self.target, events)
            new[spec] = [e.href for e in events]
        seconds = index_new_events(hub_root, new, rescan=True)
        _copy_caches(hub_storage, plain_storage, self.specs, self.target)
        print(f"  {size} events, indexed with the clash scan in {seconds:.0f} s", flush=True)
        return hub_root, template

    def measure(self, size: int) -> dict[str, Any]:
        hub_root, template = self.build(size)
        log_dir = hub_root.parent / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        hub = start_hub(hub_root, log_dir)
        plain = start_plain(template, log_dir)
        try:
            return self._measure(hub, plain)
        finally:
            hub.stop()
            plain.stop()

    def _measure(self, hub: Any, plain: Any) -> dict[str, Any]:
        tail = AccessTail(hub.log)
        reader = FeedClient(hub)
        token = base64.b64encode(f"coordinator:{password_of('coordinator')}".encode()).decode()
        auth = {"Authorization": f"Basic {token}"}
        first, last = self.year
        query = urlencode({"format": "json", "from": first.isoformat(), "to": last.isoformat()})
        path = f"/reports/export?{query}"
        start = dt.datetime.combine(first, dt.time(), ZONE)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), ZONE)
        dav = DavClient(plain, self.target.id)
        writers = {"hub": DavClient(hub, self.target.id), "plain": DavClient(plain, self.target.id)}
        calendar = f"{self.target.path}/"

        def report() -> float:
            answer = reader.get(path, auth)
            assert answer.status == 200, answer.status
            time.sleep(0.05)  # the access line is written after the answer
            found = tail.server_ms("GET", "/reports/export", 200)
            return found if found is not None else answer.seconds * 1000

        def plain_range() -> float:
            return dav.time_range(calendar, start, end).seconds * 1000

        tail.lines()
        cold = report()
        plain_first = plain_range()
        warm = [report() for _ in range(self.runs)]
        plain_warm = [plain_range() for _ in range(self.runs)]
        after, plain_after = [], []
        for run in range(max(1, self.runs // 2)):
            event = self.factory.event(self.next_new)
            self.next_new += 1
            for name in ("hub", "plain") if run % 2 == 0 else ("plain", "hub"):
                writers[name].put(f"{calendar}{event.href}", event.text)
            after.append(report())
            plain_after.append(plain_range())
        reader.close()
        dav.close()
        for writer in writers.values():
            writer.close()
        return {
            "report_first_ms": cold,
            "plain_first_ms": plain_first,
            "report_cached_ms": _median(warm),
            "plain_ms": _median(plain_warm),
            "report_after_change_ms": _median(after),
            "plain_after_change_ms": _median(plain_after),
        }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="calhub's report vs plain Radicale's REPORT")
    parser.add_argument("--sizes", default="2000,5000", help="comma-separated event counts")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--workdir", type=Path, help="keep data here (default: temporary)")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args(argv)
    logging.getLogger("radicale").setLevel(logging.ERROR)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="calhub-report-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    command = "python -m bench.report_bench " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"# {command.strip()}\n# {machine()}\n# data in {workdir}", flush=True)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    bench = ReportBench(workdir, sizes, args.runs, args.seed)
    rows, results = [], {"command": command.strip(), "machine": machine(), "sizes": {}}
    try:
        for size in sizes:
            found = bench.measure(size)
            results["sizes"][str(size)] = found
            rows.append(
                [
                    size,
                    f"{fmt_ms(found['report_first_ms'])} vs {fmt_ms(found['plain_first_ms'])}",
                    f"{found['report_first_ms'] / found['plain_ms']:.1f}×",
                    f"{fmt_ms(found['report_cached_ms'])} vs {fmt_ms(found['plain_ms'])}",
                    f"{fmt_ms(found['report_after_change_ms'])} vs "
                    f"{fmt_ms(found['plain_after_change_ms'])}",
                    f"{found['report_after_change_ms'] / found['plain_after_change_ms']:.1f}×",
                ]
            )
    finally:
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    headers = [
        "events",
        "first report vs plain REPORT (first)",
        "first ÷ plain REPORT (warm)",
        "cached report vs plain REPORT",
        "after a change vs plain REPORT",
        "after ÷ plain",
    ]
    print("\n" + table(headers, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
