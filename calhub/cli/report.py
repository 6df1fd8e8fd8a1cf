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
import sys
from pathlib import Path

from calhub.cli.common import runtime_of
from calhub.dav.storage import open_storage
from calhub.errors import UserError
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
    if args.output == "-":
        if args.format == "json":
            sys.stdout.write(made.body.decode("utf-8"))
        else:
            sys.stdout.buffer.write(made.body)
        sys.stdout.flush()
        return 0
    target = Path(args.output)
    if not target.parent.is_dir():
        raise UserError(
            f"Нет папки {target.parent}. / There is no directory {target.parent}.",
            "Создайте её или укажите другой -o. / Create it or give another -o.",
        )
    try:
        target.write_bytes(made.body)
    except OSError as exc:
        raise UserError(
            f"Не удалось записать {target}: {exc.strerror}. / Could not write {target}: "
            f"{exc.strerror}.",
            "Проверьте права на папку. / Check the directory's permissions.",
        ) from exc
    print(
        f"{target}: отчёт за {first:%d.%m.%Y}–{last:%d.%m.%Y}, партнёров: {made.rows} / "
        f"report {first}–{last}, {made.rows} partners"
    )
    return 0
