"""``calhub import FILE``: move a spreadsheet plan (CSV or XLSX) into the hub.

Prints the report (rows read, rows ok, rows with errors by row and column, unknown
partners, the clashes the import would create, grouped by rule) in Russian and English,
or one JSON object with ``--json``. Exit status 0 when the import was carried out (a dry
run: would be), 1 when it was refused. Works while the server runs: the rows are written
through Radicale's storage under its lock, as CalDAV writes are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from calhub.cli.common import cli_actor, runtime_of
from calhub.errors import UserError
from calhub.exchange.columns import MAPPING_MAX_BYTES, Mapping_, mapping_from_bytes
from calhub.exchange.importing import ImportOptions, ImportReport, run_import
from calhub.exchange.report import report_lines
from calhub.exchange.sheets import Limits, SheetError, check_size


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "import",
        parents=[common],
        help="import a spreadsheet plan (CSV or XLSX) into the hub's calendars",
        description="Read the plan's rows (date, time, partner, title, classes, venue…), "
        "check each as a CalDAV write is checked and store them. All or nothing unless "
        "--skip-bad; importing the same sheet again updates its events. See docs/exchange.md.",
    )
    parser.add_argument("file", metavar="FILE", help="the .csv or .xlsx file")
    parser.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    parser.add_argument(
        "--calendar", metavar="ID", help="the calendar of rows that name no partner"
    )
    parser.add_argument("--mapping", metavar="M.toml", help="columns, sheet, partner aliases")
    parser.add_argument("--skip-bad", action="store_true", help="import the good rows only")
    parser.add_argument(
        "--prune", action="store_true", help="delete this file's events gone from the sheet"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run)


def _mapping(path: str | None) -> Mapping_:
    if path is None:
        return Mapping_()
    try:
        with Path(path).open("rb") as file:
            data = file.read(MAPPING_MAX_BYTES + 1)
    except OSError as exc:
        raise UserError(
            f"Файл сопоставления не читается: {exc}. / Cannot read the mapping file: {exc}.",
            hint="Give a UTF-8 TOML file (docs/exchange.md).",
        ) from exc
    return mapping_from_bytes(data)


def _read(path: Path, limits: Limits) -> bytes:
    try:
        # Refused before reading: a 100 MB file never enters memory.
        check_size(path.stat().st_size, limits)
        return path.read_bytes()
    except OSError as exc:
        raise UserError(
            f"Файл не читается: {exc}. / Cannot read the file: {exc}.",
            hint="Check the file's name and path.",
        ) from exc


def run(args: argparse.Namespace) -> int:
    options = ImportOptions(
        calendar=args.calendar,
        mapping=_mapping(args.mapping),
        skip_bad=args.skip_bad,
        prune=args.prune,
        dry_run=args.dry_run,
        source=None,
    )
    path = Path(args.file)
    runtime = runtime_of(args)
    try:
        with cli_actor("import", path.name):
            report = run_import(runtime, _read(path, options.limits), path.name, options)
    except SheetError as error:
        # A file that is no readable sheet is a refused import (status 1), said as such.
        report = ImportReport(file=path.name, source="", dry_run=args.dry_run)
        report.refused = error.message
        if not args.json:
            print(f"calhub: error: {error.message}", file=sys.stderr)
            if error.hint:
                print(f"calhub: {error.hint}", file=sys.stderr)
            return 1
    finally:
        runtime.close()
    if args.json:
        json.dump(report.as_json(), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        for line in report_lines(report):
            print(line)
    return 0 if report.carried_out or (report.dry_run and not report.refused) else 1
