"""``calhub audit``: who changed which event and who decided what, read and exported; and
``calhub audit prune``, the rotation by age (``[audit] keep_days``)."""

from __future__ import annotations

import argparse
import sys
import zoneinfo
from typing import TYPE_CHECKING

from calhub.audit.export import csv_chunks, json_lines
from calhub.audit.query import build_filters
from calhub.audit.words import entry_line
from calhub.cli.common import runtime_of
from calhub.errors import UserError

if TYPE_CHECKING:
    from calhub.runtime import Runtime

DEFAULT_LIMIT = 50


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "audit",
        parents=[common],
        help="the audit log: who changed which event, who decided what",
        description="Print the audit log (newest first), or export it whole with --json (one "
        "JSON object per line) or --csv (for Excel), oldest first. 'calhub audit prune' "
        "deletes the entries older than [audit] keep_days. Works while the server runs.",
    )
    parser.add_argument("--from", dest="start", metavar="DATE", default="", help="from this day")
    parser.add_argument("--to", dest="end", metavar="DATE", default="", help="up to this day")
    parser.add_argument("--calendar", metavar="ID", default="", help="only this calendar's events")
    parser.add_argument("--actor", metavar="LOGIN", default="", help="only what LOGIN did")
    parser.add_argument("--uid", metavar="UID", default="", help="only this event")
    parser.add_argument("--clash", metavar="ID", default="", help="only this clash")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="every entry, one JSON object a line")
    output.add_argument("--csv", action="store_true", help="every entry as CSV (UTF-8, ';')")
    parser.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, metavar="N", help="lines to print (text)"
    )
    parser.set_defaults(handler=run)
    actions = parser.add_subparsers(dest="audit_action", metavar="ACTION")
    prune = actions.add_parser(
        "prune",
        parents=[common],
        help="delete the entries older than [audit] keep_days",
        description="Delete the audit log's entries older than [audit] keep_days (or "
        "--keep-days). The server does it itself at start and once a day.",
    )
    prune.add_argument(
        "--keep-days", type=int, metavar="N", help="keep N days (default: [audit] keep_days)"
    )
    prune.set_defaults(handler=run_prune)


def run_prune(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    try:
        return _prune(runtime, args)
    finally:
        runtime.close()


def run(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    try:
        filters = build_filters(
            runtime.hub, args.start, args.end, args.calendar, args.actor, args.uid, args.clash
        )
        if args.json or args.csv:
            chunks = json_lines(runtime.audit.each(filters))
            if args.csv:
                chunks = csv_chunks(runtime.audit.each(filters), bom=False)
            for chunk in chunks:
                sys.stdout.write(chunk)
            return 0
        total = runtime.audit.count(filters)
        entries = runtime.audit.page(filters, limit=max(1, args.limit))
        zone = zoneinfo.ZoneInfo(runtime.settings.timezone)
        if entries:
            print(f"Время по поясу {zone.key} / Times in {zone.key}")
        for entry in entries:
            print(entry_line(entry, zone))
        if not entries:
            print("Записей нет. / No entries.")
        elif total > len(entries):
            print(
                f"… и ещё {total - len(entries)} (--limit, --json, --csv) / "
                f"… and {total - len(entries)} more (--limit, --json, --csv)"
            )
        return 0
    finally:
        runtime.close()


def _prune(runtime: Runtime, args: argparse.Namespace) -> int:
    keep = args.keep_days if args.keep_days is not None else runtime.settings.audit_keep_days
    if keep < 1:
        raise UserError(
            f"--keep-days {keep}: нужно хотя бы 1. / --keep-days must be at least 1.",
            hint="Give the number of days of entries to keep, e.g. --keep-days 730.",
        )
    removed = runtime.audit.prune(keep)  # logged by the command's output, not the log
    print(
        f"Удалено записей старше {keep} дн.: {removed}. / "
        f"Deleted {removed} entries older than {keep} days."
    )
    return 0
