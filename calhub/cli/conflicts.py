"""``calhub conflicts``: the clash list, for people and for cron."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import zoneinfo

from calhub.cli.common import runtime_of
from calhub.runtime import paging
from calhub.runtime.queries import build_filters
from calhub.store.records import STATUSES, ClashRecord, Filters

EXIT_OPEN_HARD = 1
DEFAULT_LIMIT = 50


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "conflicts",
        parents=[common],
        help="list clashes; exits 1 while open hard clashes exist",
        description="List clash records. Exit status: 0 when no open hard clash matches, 1 when "
        "some do (for cron), 2 on errors. Works while the server runs.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON, as GET /api/conflicts")
    parser.add_argument("--from", dest="start", metavar="DATE", help="from this day (YYYY-MM-DD)")
    parser.add_argument("--to", dest="end", metavar="DATE", help="up to and including this day")
    parser.add_argument("--calendar", metavar="ID", help="only clashes involving this calendar")
    parser.add_argument("--status", choices=STATUSES, help="only clashes with this status")
    parser.add_argument("--severity", choices=("hard", "soft"), help="only hard or soft clashes")
    parser.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"show the first N (default {DEFAULT_LIMIT}; open and coming ones first)",
    )
    parser.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N")
    parser.add_argument("--all", action="store_true", help="show every matching clash")
    parser.set_defaults(handler=run)


def _line(record: ClashRecord, tz: zoneinfo.ZoneInfo) -> str:
    import datetime as dt

    first = min(record.occurrences, key=lambda o: o["start"])
    when = dt.datetime.fromisoformat(first["start"]).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    events = " × ".join(f"{o['calendar']}: {o['summary']}" for o in record.occurrences[:3])
    more = len(record.occurrences) - 3
    if more > 0:
        events += f" (+{more})"
    if record.count > 1:
        unit = "grade-weeks" if record.group_rule else "dates"
        events += f" [{record.count} {unit}]"
    return f"{record.id}  {record.severity:<4} {record.rule:<9} {record.status:<8} {when}  {events}"


def run(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    hub = runtime.hub
    filters = build_filters(hub, args.status, args.calendar, args.start, args.end, args.severity)
    limit = None if args.all else paging.whole(args.limit, "--limit", DEFAULT_LIMIT, 1, 10**9)
    offset = paging.whole(args.offset, "--offset", 0, 0, 10**9)
    store = runtime.records
    page = store.page(filters, limit, offset)
    records = page.records
    if args.json:
        json.dump([r.as_json() for r in records], sys.stdout, ensure_ascii=False, indent=2)
        print()
    elif not records:
        print("No clashes match.")
    else:
        tz = zoneinfo.ZoneInfo(hub.settings.timezone)
        for record in records:
            print(_line(record, tz))
        only_open = _open(filters)
        open_count = 0 if only_open is None else store.count(only_open)
        print(f"\n{page.total} clashes, {open_count} open.")
        if offset or len(records) < page.total:
            print(
                f"Showing {offset + 1}–{offset + len(records)}: --all shows every one, "
                "--offset N skips the first N."
            )
    # Every matching record counts, not only the page shown.
    hard = _open(filters, "hard")
    return EXIT_OPEN_HARD if hard is not None and store.count(hard) else 0


def _open(filters: Filters, severity: str | None = None) -> Filters | None:
    """``filters`` narrowed to open clashes (of ``severity``), None if they exclude them."""
    if filters.status not in (None, "open"):
        return None
    if severity is not None and filters.severity not in (None, severity):
        return None
    return dataclasses.replace(filters, status="open", severity=severity or filters.severity)
