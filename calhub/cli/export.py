"""``calhub export``: the plan as XLSX, PDF, CSV or ICS, for printing or sending on.

Runs as the hub's operator: every calendar's events and every clash. Without ``--from`` and
``--to`` the next four weeks from today (the hub keeps no term dates). Works while the
server runs (it only reads).
"""

from __future__ import annotations

import argparse
import logging

from calhub.cli.common import runtime_of, write_output
from calhub.dav.storage import open_storage
from calhub.exchange.export_rows import DEFAULT_DAYS, read_request
from calhub.exchange.exporting import FORMATS, export_file

logger = logging.getLogger(__name__)


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "export",
        parents=[common],
        help="write the plan to an XLSX, PDF, CSV or ICS file",
        description="Write the plan of a range (default: the next "
        f"{DEFAULT_DAYS} days) to FILE: XLSX (plan, clashes, grade board), PDF (the list "
        "by day and the grade board, A4), CSV (UTF-8 with BOM, ';' for Russian Excel) "
        "or ICS (what the feed of that scope gives).",
    )
    parser.add_argument("--format", required=True, choices=FORMATS, help="the file's format")
    parser.add_argument("--from", dest="start", metavar="DATE", help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", metavar="DATE", help="last day (included)")
    parser.add_argument("--audience", metavar="A", help="only this grade, class or group")
    parser.add_argument("--calendar", metavar="ID", help="only this calendar")
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="where to write ('-': stdout)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    try:
        request = read_request(
            runtime, start=args.start, end=args.end, audience=args.audience, calendar=args.calendar
        )
        made = export_file(runtime, args.format, request, storage=lambda: open_storage(runtime))
    finally:
        runtime.close()
    target = write_output(args.output, made.body)
    if target is None:
        return 0
    print(
        f"{target}: {made.rows} {events_ru(made.rows)}, "
        f"{request.first:%d.%m.%Y}–{request.last:%d.%m.%Y} / {made.rows} events"
    )
    return 0


def events_ru(count: int) -> str:
    """«1 мероприятие», «3 мероприятия», «5 мероприятий» (11–14 take the last)."""
    if count % 10 == 1 and count % 100 != 11:
        return "мероприятие"
    if 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
        return "мероприятия"
    return "мероприятий"
