"""Radicale's stored objects into rows of the occurrence index.

Every function here runs while the caller holds Radicale's storage lock (the write hooks,
verify, rebuild), so what is indexed is what is stored. Which clashes the rows make is the
runtime's business (:mod:`calhub.runtime.bookkeeping`); this module only keeps the rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from calhub.dav.known import file_stat, reading_files
from calhub.dav.refusal import WriteRefused
from calhub.engine import (
    InvalidCalendarData,
    Occurrence,
    UnreadableCalendarData,
    UnsupportedComponent,
)
from calhub.store.index import FileStat, IndexedItem

if TYPE_CHECKING:
    from radicale.item import Item
    from radicale.storage import BaseCollection

    from calhub.hub.settings import CalendarSettings
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)

Event = tuple[str, str]  # (calendar id, uid)

# What icalendar, dateutil and zoneinfo raise on data they cannot take apart (a TZID
# too long for a file name is an OSError from zoneinfo): the client's data, a 403. Any
# other exception is a fault of the hub, and Radicale answers it with 500 and a log line
# instead of blaming the partner's event (a TypeError from a bad rule setting once did).
PARSER_ERRORS = (ValueError, IndexError, OverflowError, OSError)

INEXACT_MARKERS = (
    "STATUS:CANCELLED",
    "TRANSP:TRANSPARENT",
    "FREQ=SECONDLY",
    "FREQ=MINUTELY",
    "FREQ=HOURLY",
    "RANGE=THISANDFUTURE",
    "VALUE=PERIOD",
)

_TIMEZONE_BLOCK = re.compile(r"^BEGIN:VTIMEZONE$.*?^END:VTIMEZONE$", re.M | re.S)
_TIME_PROPERTY = re.compile(r"^(?:DTSTART|DTEND|RDATE|EXDATE|RECURRENCE-ID)([;:].*)$", re.M)
_UTC_OR_ZONED_VALUE = re.compile(r"\d{8}T\d{6}Z")


def unreadable(error: Exception) -> UnreadableCalendarData:
    return UnreadableCalendarData(
        f"the data cannot be read ({error})",
        message_ru=f"данные не удаётся прочитать ({error})",
    )


def has_local_times(text: str) -> bool:
    """Whether some date property of an (upper-case) object's events is floating or a bare
    date (a VTIMEZONE's own local times do not count)."""
    unfolded = text.replace("\r\n ", "").replace("\r\n\t", "").replace("\r", "")
    for match in _TIME_PROPERTY.finditer(_TIMEZONE_BLOCK.sub("", unfolded)):
        parameters, _, values = match.group(1).rpartition(":")
        if "TZID=" in parameters:
            continue
        if not all(_UTC_OR_ZONED_VALUE.fullmatch(v.strip()) for v in values.split(",")):
            return True
    return False


class Indexer:
    """Keeps the index rows of the hub's calendars equal to what Radicale stores."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def hub_calendar(self, path: str) -> CalendarSettings | None:
        """The active hub calendar stored at ``path``, if it is one."""
        calendar = self.runtime.settings.calendar_by_path(path)
        if calendar is None or calendar.archived:
            return None
        return calendar

    def expand_item(self, calendar: CalendarSettings, item: Item) -> list[Occurrence]:
        """The occurrences of an object about to be stored; WriteRefused if it cannot be."""
        if item.component_name != "VEVENT":
            # The PUT pre-check refuses these already; a MOVE from a calendar of the
            # coordinator's own, or a whole-calendar PUT, reaches the hub only here.
            raise WriteRefused.invalid(
                UnsupportedComponent(
                    f"Only events (VEVENT) belong in a hub calendar, not {item.component_name}.",
                    uid=item.uid,
                    message_ru="В календаре хаба только мероприятия (VEVENT), "
                    f"не {item.component_name}.",
                )
            )
        try:
            return self.runtime.parts.expand(calendar, item.serialize())
        except InvalidCalendarData as exc:
            raise WriteRefused.invalid(exc) from exc
        except PARSER_ERRORS as exc:
            raise WriteRefused.invalid(unreadable(exc)) from exc

    def fresh(self, calendar: CalendarSettings) -> bool:
        """Whether the index holds ``calendar`` as the current settings would write it."""
        # A damaged index (IndexCorrupt) is rebuilt whole by the caller (hooks.under_lock):
        # re-indexing this one calendar would leave the others out of its clash checks.
        fingerprint = self.runtime.parts.calendar_fingerprint(calendar)
        return self.runtime.index.fingerprint(calendar.id) == fingerprint

    def ensure_calendar(self, calendar: CalendarSettings, collection: BaseCollection) -> bool:
        """Reindex one calendar if the index does not hold it; True if it was reindexed."""
        if self.fresh(calendar):
            return False
        self.reindex_calendar(calendar, collection)
        return True

    def reindex_calendar(self, calendar: CalendarSettings, collection: BaseCollection) -> int:
        """Read every object of a calendar from storage into the index."""
        with reading_files():
            rows = [self.index_row(calendar, item) for item in collection.get_all()]
        self.write_calendar(calendar, rows)
        return len(rows)

    def write_calendar(
        self, calendar: CalendarSettings, rows: Sequence[tuple[IndexedItem, list[Occurrence]]]
    ) -> None:
        index = self.runtime.index
        with index.transaction() as db:
            if rows or index.items(calendar.id):
                # An empty calendar that stays empty cannot change any clash.
                index.mark_records_pending(db)
            index.drop_calendar(db, calendar.id)
            for row, occurrences in rows:
                index.put_item(db, calendar.id, row, occurrences)
            fingerprint = self.runtime.parts.calendar_fingerprint(calendar)
            index.set_fingerprint(db, calendar.id, fingerprint)
        logger.info("Indexed calendar %s: %d objects", calendar.id, len(rows))

    def events_of(self, calendar_id: str) -> set[Event]:
        """The (calendar, uid) of every object the index holds for a calendar."""
        items = self.runtime.index.items(calendar_id).values()
        return {(calendar_id, item.uid) for item in items}

    def forget_calendar(self, calendar_id: str) -> set[Event]:
        """Drop a calendar from the index; returns the events it held."""
        index = self.runtime.index
        events = self.events_of(calendar_id)
        with index.transaction() as db:
            index.mark_records_pending(db)
            index.drop_calendar(db, calendar_id)
        return events

    def compare(
        self, calendar: CalendarSettings, collection: BaseCollection, restat: bool = False
    ) -> str:
        """How the index differs from storage for a calendar, in words ("" when equal).

        With ``restat`` (the caller holds the write lock), an index equal to storage takes
        each file's stat as it is now where it differs from the one on record: a data
        folder restored or copied has new inodes and times, and with the old ones no poll
        would ever be answered from the index again (calhub.dav.known)."""
        if not self.fresh(calendar):
            return "not indexed with the current configuration"
        index = self.runtime.index
        indexed = {href: row.etag for href, row in index.items(calendar.id).items()}
        stats: dict[str, FileStat | None] = {}
        with reading_files():
            stored = {}
            for item in collection.get_all():
                stored[str(item.href)] = item.etag
                if restat:
                    stats[str(item.href)] = file_stat(item)
        if indexed == stored:
            if restat:
                self._restat(calendar, stats)
            return ""
        missing = len(set(stored) - set(indexed))
        extra = len(set(indexed) - set(stored))
        changed = len([h for h in set(stored) & set(indexed) if stored[h] != indexed[h]])
        return f"{missing} objects not indexed, {extra} indexed but gone, {changed} changed"

    def _restat(self, calendar: CalendarSettings, stats: dict[str, FileStat | None]) -> None:
        index = self.runtime.index
        known = index.known_files(calendar.id)
        changed = {
            href: stat
            for href, stat in stats.items()
            if stat is not None and (href not in known or known[href].stat != stat)
        }
        if changed:
            # Counted: what readers keep of the rows (their stats) goes with the old state.
            with index.transaction() as db:
                index.set_file_stats(db, calendar.id, changed)
            logger.info("%s: the stat of %d files taken again", calendar.id, len(changed))

    def index_row(
        self,
        calendar: CalendarSettings,
        item: Item,
        occurrences: list[Occurrence] | None = None,
        error: str | None = None,
    ) -> tuple[IndexedItem, list[Occurrence]]:
        """The index row of a stored object and its occurrences (expanded unless given)."""
        if occurrences is None:
            try:
                occurrences = self.runtime.parts.expand(calendar, item.serialize())
            except InvalidCalendarData as exc:
                error = str(exc)
        if error is not None:
            # Stored before calhub (or by hand): keep it indexed, never clash-checked.
            occurrences = []
        assert item.href is not None and occurrences is not None
        row = IndexedItem(
            href=item.href,
            uid=item.uid,
            etag=item.etag,
            component=item.component_name,
            time_range=item.time_range,
            error=error,
            exact_span=self._exact_span(item, occurrences, error),
            file=file_stat(item),
        )
        return row, occurrences

    def _exact_span(
        self, item: Item, occurrences: Sequence[Occurrence], error: str | None
    ) -> tuple[int, int]:
        """Where the indexed occurrences are every instance of the item, for REPORTs.

        Anything the clash engine leaves out on purpose (cancelled or transparent parts,
        instances past the cap) or reads in a way Radicale may not (dense or
        this-and-future rules, periods, floating or all-day times, which Radicale places
        in UTC and the hub in its own zone, and instants, whose boundary rules differ)
        makes the item inexact: REPORTs then fall back to Radicale's own enclosing time
        range for it.
        """
        settings = self.runtime.parts.settings
        text = item.serialize().upper()
        inexact = (
            error is not None
            or item.component_name != "VEVENT"
            or len(occurrences) >= settings.max_occurrences_per_event
            or any(marker in text for marker in INEXACT_MARKERS)
            or any(o.all_day or o.start == o.end for o in occurrences)
            or has_local_times(text)
        )
        if inexact:
            return (0, 0)
        # A day inside the horizon the engine expanded, whenever in this call it read "now".
        now = dt.datetime.now(dt.UTC)
        start = now - dt.timedelta(days=settings.horizon_past_days - 1)
        end = now + dt.timedelta(days=settings.horizon_future_days - 1)
        return int(start.timestamp()), int(end.timestamp())
