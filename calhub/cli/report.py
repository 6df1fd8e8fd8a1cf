"""``calhub report``: the partner report of a range, as JSON, XLSX or PDF.

Runs as the hub's operator: every partner's row, or one partner's own report with
``--partner``. Without ``--from``/``--to``: the half of the school year today is in. The
ratings come from the feedback store when the hub has one (``runtime.feedback``); until
then the report says there is no feedback yet.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging

from calhub.cli.common import runtime_of, write_output
from calhub.dav.storage import open_storage
from calhub.exchange.report_files import REPORT_FORMATS, report_file
from calhub.reports.collect import make_report
from calhub.reports.ranges import read_range
from calhub.reports.ratings import ratings_of

logger = logging.getLogger(__name__)


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "report",
        parents=[common],
        help="the report on the work with partners: events, hours, clashes, ratings",
        description="The report of a range (default: this half of the school year): per "
        "partner and per grade, events held and cancelled, hours, grades and classes "
        "reached, clashes found, approved, moved and the time to settle them, events "
        "changed late, ratings and the loyalty score, and the school-wide planning "
        "figures. docs/reports.md defines each.",
    )
    parser.add_argument("--from", dest="start", metavar="DATE", help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", metavar="DATE", help="last day (included)")
    parser.add_argument("--partner", metavar="ID", help="only this partner's own report")
    parser.add_argument("--format", default="json", choices=REPORT_FORMATS, help="default json")
    parser.add_argument(
        "-o", "--output", default="-", metavar="FILE", help="where to write (default '-': stdout)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    try:
        first, last = read_range(args.start, args.end, dt.date.today())
        report = make_report(
            runtime, open_storage(runtime), first, last, ratings_of(runtime), partner=args.partner
        )
    finally:
        runtime.close()
    made = report_file(report, args.format)
    target = write_output(args.output, made.body, text=args.format == "json")
    if target is None:
        return 0
    print(
        f"{target}: отчёт за {first:%d.%m.%Y}–{last:%d.%m.%Y}, партнёров: {made.rows} / "
        f"report {first}–{last}, {made.rows} partners"
    )
    return 0
