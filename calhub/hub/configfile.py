"""Writing ``calhub.toml``: the first version, and the CLI's edits to it.

tomlkit keeps the coordinator's comments and layout when the CLI adds or archives a
calendar. Every edit is validated with the one schema in ``settings.py`` before the file
is replaced, so the CLI can never leave a config the server would refuse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit

from calhub.errors import UserError
from calhub.hub.filewatch import write_atomically
from calhub.hub.settings import CALENDAR_SCHEMA, CONFIG_NAME, CalendarSettings, parse_settings

TEMPLATE = """\
# calhub configuration. Edit it, then the running hub picks the change up by itself.
# Reference: docs/configuration.md

[hub]
school = ""
timezone = ""
# Requests with larger bodies are refused with 413.
max_body_bytes = 10485760

[audience.groups]
# Named groups of classes, usable in event titles like [инженерный профиль].
# "инженерный профиль" = "10А, 11А"

[venues.aliases]
# Different spellings of one place, so the venue rule sees they are the same.
# "актовый зал" = "Актовый зал гимназии"

[rules.travel]
# Minimum minutes between events at different venues for the same students.
gap_minutes = 30

# Venues of one site (rooms of one building) need no travel time between them.
# [rules.travel.sites]
# "гимназия" = ["Гимназия", "Спортзал гимназии"]

[rules.overload]
# More events than this per grade per week is flagged.
max_per_week = 5
"""


def new_document(school: str, timezone: str) -> tomlkit.TOMLDocument:
    document = tomlkit.parse(TEMPLATE)
    hub: Any = document["hub"]
    hub["school"] = school
    hub["timezone"] = timezone
    document["calendars"] = tomlkit.aot()
    return document


def calendar_table(calendar: CalendarSettings) -> Any:
    table = tomlkit.table()
    for key, option in CALENDAR_SCHEMA.items():
        value = getattr(calendar, key)
        if key in ("id", "name") or value != option.default:
            table[key] = value
    return table


def read_document(data_dir: Path) -> tomlkit.TOMLDocument:
    return tomlkit.parse((data_dir / CONFIG_NAME).read_text(encoding="utf-8"))


def save_document(data_dir: Path, document: tomlkit.TOMLDocument) -> None:
    """Validate with the schema, then replace the file atomically."""
    path = data_dir / CONFIG_NAME
    parse_settings(path, document.unwrap())
    write_atomically(path, tomlkit.dumps(document))


def add_calendar(document: tomlkit.TOMLDocument, calendar: CalendarSettings) -> None:
    if "calendars" not in document:
        document["calendars"] = tomlkit.aot()
    calendars: Any = document["calendars"]
    calendars.append(calendar_table(calendar))


def set_calendar_key(
    document: tomlkit.TOMLDocument, calendar_id: str, key: str, value: Any
) -> None:
    for table in document.get("calendars", []):
        if table.get("id") == calendar_id:
            table[key] = value
            return
    raise UserError(
        f"There is no calendar {calendar_id!r} in calhub.toml.", hint="See 'calhub partner list'."
    )
