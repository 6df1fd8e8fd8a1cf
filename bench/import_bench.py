"""Importing a spreadsheet plan (issue 16) against the same events PUT one by one.

Two fresh hubs of the school and two partners (БФУ, КГТУ). Into the first, ``run_import``
(what ``calhub import`` runs) stores a generated CSV of ``--rows`` events: each row
validated, expanded and clash-checked as a PUT, all under one hold of the storage lock.
Into the second, a served hub, the very same event texts are PUT one by one through
CalDAV by their partner, as a phone would. Both end with the same events, index rows and
clash records; the figures are the wall time of each, the rows per second and the ratio
of the two, from one run on one machine.

    python -m bench.import_bench [--rows 5000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.client import DavClient
from bench.generate import BLACKOUT, KNOWN_PARTNERS, SCHOOL
from bench.servers import build_hub, open_hub, start_hub

SHEETS = Path(__file__).resolve().parent.parent / "tests" / "sheets"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(SHEETS))
    import make_sheets

    from calhub.exchange.importing import ImportOptions, run_import

    calendars = [SCHOOL, BLACKOUT, *KNOWN_PARTNERS[:2]]
    data = make_sheets.big_sheet(args.rows)
    with tempfile.TemporaryDirectory() as scratch:
        first, second = Path(scratch) / "import", Path(scratch) / "put"
        build_hub(first, calendars, ())
        build_hub(second, calendars, ())

        runtime = open_hub(first)
        try:
            started = time.perf_counter()
            report = run_import(runtime, data, "plan.csv", ImportOptions())
            imported = time.perf_counter() - started
            assert report.carried_out and report.written == args.rows, report.as_json()
            texts = [
                (o.calendar, o.uid, _text(runtime, o.calendar, o.uid))
                for o in runtime.index.all_occurrences()
            ]
        finally:
            runtime.close()

        server = start_hub(second, Path(scratch))
        try:
            clients = {c.id: DavClient(server, c.id) for c in KNOWN_PARTNERS[:2]}
            started = time.perf_counter()
            for calendar, uid, text in texts:
                clients[calendar].put(f"/{calendar}/calendar/{uid}.ics", text)
            put = time.perf_counter() - started
        finally:
            server.stop()
    print(f"rows: {args.rows}, clashes the import reported: {len(report.clashes)}")
    print(f"calhub import:      {imported:7.1f} s  {args.rows / imported:6.0f} rows/s")
    print(f"PUT one by one:     {put:7.1f} s  {args.rows / put:6.0f} rows/s")
    print(f"import / PUTs:      {imported / put:7.2f}  (the import's time as a share of the PUTs')")
    return 0


def _text(runtime: object, calendar: str, uid: str) -> str:
    from calhub.dav.storage import open_storage, read_object

    rt: object = runtime
    href = rt.index.href_of(calendar, uid)  # type: ignore[attr-defined]
    text = read_object(open_storage(rt), f"/{calendar}/calendar/", href)  # type: ignore[arg-type]
    assert text is not None
    return text


if __name__ == "__main__":
    raise SystemExit(main())
