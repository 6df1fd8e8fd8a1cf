"""Reading one event's full text (description, link) from Radicale's storage.

The index keeps only what the clash engine needs; the description lives in storage, the
single source of truth (read by :func:`calhub.dav.storage.read_object`). One storage object
per app (Radicale shares one across its threads too).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app

from calhub.dav.mirror import source_of
from calhub.dav.storage import Storage, open_storage, read_object
from calhub.engine.timezones import format_recurrence_id
from calhub.engine.validate import parse_calendar
from calhub.web.context import current_runtime

if TYPE_CHECKING:
    import zoneinfo

    from calhub.hub import Hub
    from calhub.hub.settings import CalendarSettings

logger = logging.getLogger(__name__)

MAX_DESCRIPTION = 10_000

_storage_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class EventText:
    description: str = ""
    url: str = ""
    status: str = ""
    categories: tuple[str, ...] = ()
    audience: str = ""  # X-CALHUB-AUDIENCE as written (the edit form's "who for")
    recurring: bool = False  # the component is a series' master (it has a rule)
    source: int | None = None  # the source it is mirrored from (X-CALHUB-SOURCE), if any


def app_storage(hub: Hub) -> Storage:
    """The app's one Radicale storage object (opened on first use)."""
    with _storage_lock:
        found: Storage | None = current_app.extensions.get("calhub_storage")
        if found is None:
            found = open_storage(current_runtime())
            current_app.extensions["calhub_storage"] = found
        return found


def _href(hub: Hub, calendar: str, uid: str) -> str | None:
    return current_runtime().index.href_of(calendar, uid)


def _read_text(hub: Hub, calendar: CalendarSettings, href: str) -> str | None:
    return read_object(app_storage(hub), calendar.path, href)


def _component(text: str, recurrence_id: str, tz: zoneinfo.ZoneInfo) -> Any:
    """The VEVENT of this instance: its override if it has one, else the master."""
    # calhub's parser: icalendar's from_ical caches every VTIMEZONE for the process.
    events = parse_calendar(text).walk("VEVENT")
    master = None
    for event in events:
        original = event.get("RECURRENCE-ID")
        if original is None:
            master = master if master is not None else event
        elif recurrence_id and format_recurrence_id(original.dt, tz) == recurrence_id:
            return event
    return master if master is not None else (events[0] if events else None)


def _text(component: Any, name: str) -> str:
    value = component.get(name)
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0]
    return str(value)


def read_event_text(
    hub: Hub, calendar: CalendarSettings, uid: str, recurrence_id: str, tz: zoneinfo.ZoneInfo
) -> EventText:
    """Description, URL, status and categories of one occurrence; empty when unreadable."""
    href = _href(hub, calendar.id, uid)
    if href is None:
        return EventText()
    try:
        text = _read_text(hub, calendar, href)
        component = _component(text, recurrence_id, tz) if text else None
    except (ValueError, KeyError, OSError) as exc:
        # The plan must still show the event; its description is a nice-to-have.
        logger.warning("Cannot read %s/%s from storage: %s", calendar.id, href, exc)
        return EventText()
    if component is None:
        return EventText()
    categories: list[str] = []
    raw = component.get("CATEGORIES")
    for entry in raw if isinstance(raw, list) else [raw] if raw is not None else []:
        categories.extend(str(c) for c in getattr(entry, "cats", [entry]))
    url = _text(component, "URL")
    if not url.lower().startswith(("https://", "http://")):
        url = ""  # only web links become clickable; never javascript: and the like
    return EventText(
        description=_text(component, "DESCRIPTION")[:MAX_DESCRIPTION],
        url=url,
        status=_text(component, "STATUS").upper(),
        categories=tuple(categories),
        audience=_text(component, "X-CALHUB-AUDIENCE"),
        recurring=component.get("RRULE") is not None or component.get("RDATE") is not None,
        source=source_of(text) if text else None,
    )
