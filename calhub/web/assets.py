"""Front-end assets that come from npm at build time (FullCalendar), not from the repo.

``build_backend`` puts them in ``static/vendor/`` when the package is built or installed;
a build without npm leaves them out, and the plan then shows its server-rendered agenda
with a note where the month and week grid would be.
"""

from __future__ import annotations

from pathlib import Path

VENDOR = Path(__file__).with_name("static") / "vendor"
FULLCALENDAR = VENDOR / "fullcalendar"
FULLCALENDAR_FILES = ("index.global.min.js", "locales/ru.global.min.js")


def fullcalendar_available() -> bool:
    return all((FULLCALENDAR / name).is_file() for name in FULLCALENDAR_FILES)


def fullcalendar_version() -> str:
    try:
        return (FULLCALENDAR / "VERSION").read_text(encoding="utf-8").strip()
    except OSError:
        return ""
