"""The dashboard's screenshots in docs/screenshots/: ``python tests/web/docs_screenshots.py``.

Starts ``calhub demo`` on a temporary data directory (127.0.0.1, a free port), signs in as
the coordinator and takes the first screen of the board, the clashes and the plan at
1366 and 390 px wide, as docs/dashboard.md shows them. Run it after a change to the pages.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_support import DESKTOP, PHONE, Page, chromium

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PAGES = {"board": "/board", "conflicts": "/conflicts", "plan": "/plan?view=week"}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        argv = [sys.executable, "-m", "calhub", "demo", "--data", f"{scratch}/demo", "--port", "0"]
        server = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            assert server.stdout is not None
            url = next(
                line.split("listening on ", 1)[1].strip()
                for line in server.stdout
                if "listening on " in line
            )
            monday = dt.date.today() + dt.timedelta(days=7 - dt.date.today().weekday())
            with chromium() as browser:
                for size, viewport in (("1366", DESKTOP), ("390", PHONE)):
                    tab = Page(browser, url, viewport)
                    tab.sign_in("coordinator")
                    for name, path in PAGES.items():
                        joiner = "&" if "?" in path else "?"
                        tab.goto(f"{path}{joiner}date={monday.isoformat()}")
                        tab.page.wait_for_timeout(800)
                        tab.page.screenshot(path=str(OUT / f"{name}-{size}.png"))
                    tab.close()
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
