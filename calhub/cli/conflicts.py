"""``calhub conflicts``: the clash list, for people and for cron."""

from __future__ import annotations

import argparse
import json
import sys
import zoneinfo
from typing import Any

from calhub.cli.common import open_hub
from calhub.conflicts import build_filters, list_conflicts
from calhub.records import STATUSES

EXIT_OPEN_HARD = 1


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
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
    parser.set_defaults(handler=run)


def _line(record: dict[str, Any], tz: zoneinfo.ZoneInfo) -> str:
    import datetime as dt

    first = min(record["occurrences"], key=lambda o: o["start"])
    when = dt.datetime.fromisoformat(first["start"]).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    events = " × ".join(f"{o['calendar']}: {o['summary']}" for o in record["occurrences"][:3])
    more = len(record["occurrences"]) - 3
    if more > 0:
        events += f" (+{more})"
    return (
        f"{record['id']}  {record['severity']:<4} {record['rule']:<9} {record['status']:<8} "
        f"{when}  {events}"
    )


def run(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    filters = build_filters(hub, args.status, args.calendar, args.start, args.end, args.severity)
    records = list_conflicts(hub, filters)
    if args.json:
        json.dump(records, sys.stdout, ensure_ascii=False, indent=2)
        print()
    elif not records:
        print("No clashes match.")
    else:
        tz = zoneinfo.ZoneInfo(hub.settings.timezone)
        for record in records:
            print(_line(record, tz))
        open_count = sum(1 for r in records if r["status"] == "open")
        print(f"\n{len(records)} clashes, {open_count} open.")
    open_hard = any(r["status"] == "open" and r["severity"] == "hard" for r in records)
    return EXIT_OPEN_HARD if open_hard else 0
