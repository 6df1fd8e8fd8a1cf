"""A 50,000-row sheet (made at test time by tests/sheets/make_sheets.big_sheet): the whole
dry run, every row checked as a CalDAV write is, with its expected report. Slow (minutes:
every row is parsed, validated and expanded as a PUT would be)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent / "sheets"))
import make_sheets

pytestmark = pytest.mark.slow


def test_a_50000_row_sheet(tmp_path: Path, hub_template: Path, runner: Any) -> None:
    import shutil

    root = tmp_path / "data"
    shutil.copytree(hub_template, root)
    sheet = tmp_path / "big.csv"
    sheet.write_bytes(make_sheets.big_sheet(50_000))
    code, out, err = runner("import", str(sheet), "--dry-run", "--json", "--data", str(root))
    report = json.loads(out)
    assert code == 0, err
    assert (report["rows"], report["ok"], report["errors"]) == (50_000, 50_000, [])
    assert (report["encoding"], report["delimiter"]) == ("utf-8", ";")
    assert report["new"] == 50_000 and report["written"] == 0
