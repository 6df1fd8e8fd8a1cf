"""Small statistics and table helpers shared by the benchmark scripts."""

from __future__ import annotations

import math
import platform
import statistics
from collections.abc import Sequence
from pathlib import Path


def median_ms(seconds: Sequence[float]) -> float:
    return statistics.median(seconds) * 1000 if seconds else math.nan


def percentile_ms(seconds: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1), in milliseconds."""
    if not seconds:
        return math.nan
    ordered = sorted(seconds)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1] * 1000


def fmt_ms(value: float) -> str:
    if math.isnan(value):
        return "—"
    if value >= 10_000:
        return f"{value / 1000:,.1f} s"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_ratio(hub: float, plain: float) -> str:
    """hub/plain as a number, and the speed-up (plain/hub) in brackets."""
    if not hub or not plain or math.isnan(hub) or math.isnan(plain):
        return "—"
    ratio = hub / plain
    if ratio <= 1:
        return f"{ratio:.2f} (hub {plain / hub:.1f}× faster)"
    return f"{ratio:.2f} (hub {ratio:.1f}× slower)"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    import datetime as dt
    import os
    from importlib.metadata import version

    try:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    import calhub

    return (
        f"calhub from {Path(calhub.__file__).parent.parent}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Radicale {version('radicale')}, icalendar {version('icalendar')}, "
        f"{platform.system()} {platform.release()}, "
        f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}, load average at start {load}"
    )
