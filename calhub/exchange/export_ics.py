"""The plan as an iCalendar file: what the subscription feed of that scope gives, for the range.

Built by the feeds' own builder (:func:`calhub.feeds.build.build_feed`: events whole from
Radicale's storage, series with their exceptions, private events as busy blocks, an open
hard clash as TENTATIVE), for the scope the request names: ``calendar:ID`` when a calendar
is given, else ``audience:SPEC`` when an audience is, else ``all``. Of that document the
file keeps the events with an occurrence among the export's rows (the range, and the other
filter when both are given); a series is kept whole, as an app would want it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import icalendar

from calhub.feeds.build import build_feed, busy_uid
from calhub.feeds.scopes import FeedScope

if TYPE_CHECKING:
    from calhub.dav.storage import Storage
    from calhub.exchange.export_rows import Export
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)

MIME = "text/calendar"  # Flask adds "; charset=utf-8"


def scope_of(export: Export) -> FeedScope:
    request = export.request
    if request.calendar:
        return FeedScope("calendar", request.calendar)
    if request.audience is not None:
        return FeedScope("audience", request.audience_text, request.audience)
    return FeedScope("all")


def write_ics(runtime: Runtime, storage: Storage, export: Export) -> bytes:
    """The feed document of the export's scope, cut to the events of its rows."""
    document = build_feed(runtime, storage, scope_of(export))
    wanted_events = {(r.occurrence.calendar, r.occurrence.uid) for r in export.rows}
    wanted_busy = {busy_uid(r.occurrence) for r in export.rows}
    calendar = icalendar.Calendar.from_ical(document)
    kept = []
    for component in calendar.subcomponents:
        if component.name != "VEVENT":
            kept.append(component)
            continue
        uid = str(component.get("UID", ""))
        # A copied event's UID is "<its UID>@<calendar id>" (calhub.feeds.build).
        event_uid, _, calendar_id = uid.rpartition("@")
        if uid in wanted_busy or (calendar_id, event_uid) in wanted_events:
            kept.append(component)
    calendar.subcomponents = kept
    logger.debug("ICS export: %s of the feed's components kept", len(kept))
    result: bytes = calendar.to_ical()
    return result
