"""Creating, updating and archiving the hub's calendars in Radicale's storage.

The CLI uses these while a server may be running; every change happens under Radicale's
storage write lock, which is a file lock shared across processes.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from typing import TYPE_CHECKING

import icalendar
from radicale import pathutils
from radicale import storage as radicale_storage

from calhub.dav.hooks import WriteHooks
from calhub.dav.storage import open_storage
from calhub.hub.settings import CalendarSettings

if TYPE_CHECKING:
    from pathlib import Path

    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)


def timezone_component(tzid: str) -> str:
    """A VCALENDAR holding the VTIMEZONE of ``tzid``, as CalDAV's calendar-timezone wants."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//calhub//calhub//RU")
    calendar.add("version", "2.0")
    calendar.add_component(icalendar.Timezone.from_tzid(tzid))
    text: str = calendar.to_ical().decode()
    return text


def calendar_props(calendar: CalendarSettings, school: str, tzid: str) -> dict[str, str]:
    descriptions = {
        "school": f"{school}: школьные мероприятия",
        "blackout": f"{school}: экзамены, каникулы и другие периоды без мероприятий партнёров",
        "partner": f"{calendar.name}: мероприятия для учащихся ({school})",
    }
    return {
        "tag": "VCALENDAR",
        "D:displayname": calendar.name,
        "ICAL:calendar-color": calendar.color,
        "C:calendar-description": descriptions[calendar.role],
        "C:supported-calendar-component-set": "VEVENT",
        # Apple's list order: a partner's own calendar (and the school's) first, so a quick
        # "+" in an app lands there; the views in a login's home come after it (sharing.py).
        "ICAL:calendar-order": "1" if calendar.role == "blackout" else "0",
        "C:calendar-timezone": timezone_component(tzid),
    }


def provision(runtime: Runtime, calendar: CalendarSettings) -> None:
    """Create the calendar (and its principal) or bring its properties up to date."""
    settings = runtime.settings
    storage = open_storage(runtime)
    props = calendar_props(calendar, settings.school, settings.timezone)
    with storage.acquire_lock("w", "calhub"):
        principal = f"/{calendar.owner}/"
        if next(iter(storage.discover(principal)), None) is None:
            storage.create_collection(principal)
        existing = next(iter(storage.discover(calendar.path)), None)
        if isinstance(existing, radicale_storage.BaseCollection):
            merged = dict(existing.get_meta())
            merged.update(props)
            existing.set_meta(merged)
            logger.info("Updated calendar %s", calendar.path)
        else:
            storage.create_collection(calendar.path, props=props)
            logger.info("Created calendar %s", calendar.path)
        collection = next(iter(storage.discover(calendar.path)))
        assert isinstance(collection, radicale_storage.BaseCollection)
        # Index it now, so the server does not report a new calendar as out of step.
        WriteHooks(runtime).reindex_calendar(calendar, collection)


def archive(runtime: Runtime, calendar: CalendarSettings) -> Path | None:
    """Move a partner's calendar out of the served tree into ``archive/``; never delete it.

    Returns where it went, or None if there was nothing to archive.
    """
    hub = runtime.hub
    storage = open_storage(runtime)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = hub.paths.archive / f"{calendar.id}-{stamp}"
    with storage.acquire_lock("w", "calhub"):
        existing = next(iter(storage.discover(calendar.path)), None)
        if not isinstance(existing, radicale_storage.BaseCollection):
            return None
        source = pathutils.path_to_filesystem(
            str(hub.paths.collections), pathutils.strip_path(calendar.path)
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        # Tell the index the calendar is gone before its files leave the tree.
        WriteHooks(runtime).after_collection_delete(calendar.path)
        shutil.move(source, target)
        principal_dir = hub.paths.collections / calendar.owner
        if principal_dir.is_dir():
            shutil.move(str(principal_dir), str(target.with_name(target.name + "-principal")))
    logger.info("Archived calendar %s to %s", calendar.path, target)
    return target
