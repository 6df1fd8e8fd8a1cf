"""Putting iCalendar objects into a hub calendar through Radicale's storage API.

Writes go through the same storage plugin, and so the same clash checks, as a CalDAV PUT.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from radicale import item as radicale_item
from radicale import storage as radicale_storage

from calhub.dav.storage import open_storage
from calhub.errors import UserError

if TYPE_CHECKING:
    from calhub.hub.settings import CalendarSettings
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)


def import_objects(runtime: Runtime, calendar: CalendarSettings, texts: Iterable[str]) -> int:
    """Store each iCalendar text (one UID each) as ``<uid>.ics``; returns how many were new."""
    storage = open_storage(runtime)
    added = 0
    with storage.acquire_lock("w", "calhub"):
        collection = next(iter(storage.discover(calendar.path)), None)
        if not isinstance(collection, radicale_storage.BaseCollection):
            raise UserError(
                f"Calendar {calendar.path} does not exist.",
                hint="Run 'calhub partner add' or 'calhub init' first.",
            )
        for text in texts:
            vobject_item = radicale_item.read_components(text)
            if len(vobject_item) != 1:
                raise UserError(f"Expected one VCALENDAR per object, got {len(vobject_item)}.")
            radicale_item.check_and_sanitize_items(
                vobject_item, max_vevent_rrule_occurrence=0, tag="VCALENDAR"
            )
            item = radicale_item.Item(
                collection_path=calendar.path.strip("/"), vobject_item=vobject_item[0]
            )
            item.prepare()
            href = f"{item.uid}.ics"
            if collection.has_uid(item.uid):
                continue
            collection.upload(href, item)
            added += 1
    logger.info("Imported %d new objects into %s", added, calendar.path)
    return added
