"""A big sheet (made at test time by tests/sheets/make_sheets.big_sheet): the whole dry run,
every row checked as a CalDAV write is, with its expected report. Slow: every row is parsed,
validated and expanded as a PUT would be (docs/exchange.md, "Speed").

The suite (and CI) reads 5,000 rows, half a minute or so; ``CALHUB_BIG_ROWS=50000`` runs the
issue's 50,000-row sheet (docs/benchmarks.md, "Import": under five minutes since the check
stopped copying the sheet's own events on every lookup; 24 minutes before)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent / "sheets"))
import make_sheets

pytestmark = pytest.mark.slow


ROWS = int(os.environ.get("CALHUB_BIG_ROWS", "5000"))


def test_a_big_sheet(tmp_path: Path, hub_template: Path, runner: Any) -> None:
    import shutil

    root = tmp_path / "data"
    shutil.copytree(hub_template, root)
    sheet = tmp_path / "big.csv"
    sheet.write_bytes(make_sheets.big_sheet(ROWS))
    code, out, err = runner("import", str(sheet), "--dry-run", "--json", "--data", str(root))
    report = json.loads(out)
    assert code == 0, err
    assert (report["rows"], report["ok"], report["errors"]) == (ROWS, ROWS, [])
    assert (report["encoding"], report["delimiter"]) == ("utf-8", ";")
    assert report["new"] == ROWS and report["written"] == 0
