"""The reliability suite (concurrency, crash, hostile input, auth and rights, soak).

It uses the top-level fixtures (``fresh_hub``, ``module_hubs``, ``runner``) and adds one
thing: the figures the tests record (``reliability_support.record``) are printed at the
end of the run, and written as JSON to ``$CALHUB_RELIABILITY_FIGURES`` when that is set.
Those are the numbers quoted in docs/reliability.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from reliability_support import FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for section, numbers in sorted(FIGURES.items()):
        shown = ", ".join(f"{name}={value}" for name, value in numbers.items())
        terminalreporter.write_line(f"{section}: {shown}")
    target = os.environ.get("CALHUB_RELIABILITY_FIGURES")
    if target:
        Path(target).write_text(json.dumps(FIGURES, indent=2, ensure_ascii=False, default=str))
