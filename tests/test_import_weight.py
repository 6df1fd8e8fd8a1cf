"""A running hub does not carry the export and import libraries from the start: openpyxl,
fpdf2 (with Pillow and fontTools) and charset-normalizer cost a server about 35 MB and are
loaded only when a file is made or read (measured: create_app 93 → 60 MB, December 2026)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# niquests and caldav: the sources' HTTP and CalDAV clients (about 16 MB), loaded on a sync.
HEAVY = ("openpyxl", "fpdf", "PIL", "fontTools", "charset_normalizer", "niquests", "caldav")

PROGRAM = """
import sys
from pathlib import Path
from calhub.dav.maintenance import open_runtime
from calhub.hub import Hub
from calhub.server.stack import build_stack
from calhub.web import create_app
runtime = open_runtime(Hub(Path(sys.argv[1])))
app = create_app(runtime=runtime)
print(",".join(name for name in sys.argv[2:] if name in sys.modules))
"""


def test_the_web_app_loads_no_file_format_library(hub_template: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "hub"
    shutil.copytree(hub_template, root)
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(root), *HEAVY],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "", f"loaded at start: {done.stdout.strip()}"


def test_serve_preloads_every_module_but_no_file_format_library(tmp_path: Path) -> None:
    """``calhub serve`` imports every calhub module before it listens; the format writers
    only as held code (calhub.cli.preload), so their libraries stay out (issue 21: the
    server's peak at 1,000 events went from 88 to 121 MB when they came in)."""
    program = (
        "import sys\n"
        "from calhub.cli.preload import import_everything\n"
        "import_everything()\n"
        "print(','.join(name for name in sys.argv[1:] if name in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, *HEAVY],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "", f"loaded at start: {done.stdout.strip()}"
