"""Keeps the occurrence index and the clash records in step with Radicale's storage.

Radicale's storage plugin calls the hooks below while it holds the storage write lock, so
the check of a write, the write itself and the bookkeeping after it are one step for every
other writer, in this process or another. The engine decides what clashes; this module
decides what to keep: which occurrences are indexed and which clash records are open.

A write to a calendar with policy ``reject`` that would add a new, unapproved hard clash
raises ``WriteRefused`` before anything is stored; ``calhub.refusal`` turns it into a 409.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from calhub.access import Access
from calhub.bulk_expand import ExpandJob, expand_all, expand_object
from calhub.calendars import open_storage
from calhub.engine import (
    AudienceParser,
    Clash,
    ClashEngine,
    EngineConfig,
    IntervalIndex,
    InvalidCalendarData,
    Occurrence,
    RuleSettings,
    UnreadableCalendarData,
    UnsupportedComponent,
)
from calhub.engine.index import NO_NARROWING, CountingLookup, Narrowing
from calhub.engine.precheck import check_body
from calhub.engine.rawscan import BodyLimits
from calhub.engine.titles import TitleFolder
from calhub.index import IndexCorrupt, IndexedItem, IndexLookup, OccurrenceIndex
from calhub.records import ClashRecords
from calhub.refusal import WriteRefused, current_request

if TYPE_CHECKING:
    from radicale.item import Item
    from radicale.storage import BaseCollection

    from calhub.hub import Hub
    from calhub.settings import CalendarSettings, Settings

logger = logging.getLogger(__name__)

Event = tuple[str, str]  # (calendar id, uid)

# What icalendar, dateutil and zoneinfo raise on data they cannot take apart (a TZID
# too long for a file name is an OSError from zoneinfo): the client's data, a 403. Any
# other exception is a fault of the hub, and Radicale answers it with 500 and a log line
# instead of blaming the partner's event (a TypeError from a bad rule setting once did).
PARSER_ERRORS = (ValueError, IndexError, OverflowError, OSError)
ICALENDAR_START = re.compile(rb"BEGIN:VCALENDAR", re.IGNORECASE)
PURGE_EVERY_SECONDS = 3600


def unreadable(error: Exception) -> UnreadableCalendarData:
    return UnreadableCalendarData(
        f"the data cannot be read ({error})",
        message_ru=f"данные не удаётся прочитать ({error})",
    )


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


def expand_job(calendar: CalendarSettings, text: str) -> ExpandJob:
    return ExpandJob(calendar.id, calendar.audience, calendar.role == "blackout", text)


@dataclass(frozen=True)
class EngineParts:
    settings: Settings
    config: EngineConfig
    parser: AudienceParser
    engine: ClashEngine
    fold_title: TitleFolder
    rules_fingerprint: str
    calendar_fingerprints: dict[str, str]


def engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(
        tz=settings.timezone,
        horizon_past_days=settings.horizon_past_days,
        horizon_future_days=settings.horizon_future_days,
        max_occurrences_per_event=settings.max_occurrences_per_event,
        groups=dict(settings.groups),
        venue_aliases=dict(settings.venue_aliases),
        rules={
            name: RuleSettings(enabled=rule.enabled, severity=rule.severity, params=rule.params)
            for name, rule in settings.rules.items()
        },
        calendar_names={calendar.id: calendar.name for calendar in settings.calendars},
    )


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _calendar_fingerprint(settings: Settings, calendar: CalendarSettings) -> str:
    return _digest(
        calendar.id,
        calendar.role,
        calendar.audience,
        settings.timezone,
        settings.horizon_past_days,
        settings.horizon_future_days,
        settings.max_occurrences_per_event,
        dict(settings.groups),
        dict(settings.venue_aliases),
    )


class CombinedLookup:
    """Overlap queries and counts over several lookups (the index minus a calendar, plus
    new items)."""

    def __init__(self, *lookups: CountingLookup) -> None:
        self.lookups = lookups

    def overlapping(
        self, start: dt.datetime, end: dt.datetime, where: Narrowing = NO_NARROWING
    ) -> list[Occurrence]:
        found: list[Occurrence] = []
        for lookup in self.lookups:
            found.extend(lookup.overlapping(start, end, where))
        return found

    def count_by_grade(
        self,
        start: dt.datetime,
        end: dt.datetime,
        grades: frozenset[int],
        all_day: bool,
        exclude: Collection[Event],
    ) -> dict[int, int]:
        counts = dict.fromkeys(grades, 0)
        for lookup in self.lookups:
            for grade, count in lookup.count_by_grade(start, end, grades, all_day, exclude).items():
                counts[grade] += count
        return counts


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _under_lock(
    method: Callable[Concatenate[Tracker, _P], _R],
) -> Callable[Concatenate[Tracker, _P], _R]:
    """A tracker call made while the caller holds Radicale's storage lock: a damaged index
    found on the way is rebuilt from storage, once, and the call made again (each of these
    calls may be repeated: a check, or bookkeeping that ends in the same state)."""

    @functools.wraps(method)
    def run(self: Tracker, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        depth = getattr(self._locked, "depth", 0)
        self._locked.depth = depth + 1
        try:
            try:
                return method(self, *args, **kwargs)
            except IndexCorrupt:
                if depth:
                    raise  # the outermost call rebuilds
                self._rebuild_damaged()
            return method(self, *args, **kwargs)
        finally:
            self._locked.depth = depth

    return run


class Tracker:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        # Titles are folded with the groups of the calendar fingerprint the rows are
        # written under, so a change of groups re-indexes them like their audiences.
        self.index = OccurrenceIndex(hub.paths.index_db, fold_title=self._fold_title)
        self.index.repair = self._repair_index
        self.records = ClashRecords(hub.paths.hub_db)
        self._parts: EngineParts | None = None
        self._parts_lock = threading.Lock()
        self._pending = threading.local()
        # How deep this thread is in calls made under the storage lock (see _under_lock).
        self._locked = threading.local()

    def close(self) -> None:
        self.index.close()
        self.records.close()

    # -- engine and configuration ------------------------------------------------------

    @property
    def parts(self) -> EngineParts:
        settings = self.hub.settings
        with self._parts_lock:
            if self._parts is None or self._parts.settings is not settings:
                config = engine_config(settings)
                parser = AudienceParser(dict(settings.groups))
                self._parts = EngineParts(
                    settings=settings,
                    config=config,
                    parser=parser,
                    engine=ClashEngine(config),
                    fold_title=TitleFolder(parser),
                    rules_fingerprint=_digest(config),
                    calendar_fingerprints={
                        c.id: _calendar_fingerprint(settings, c) for c in settings.calendars
                    },
                )
            return self._parts

    def _fold_title(self, summary: str) -> str:
        return self.parts.fold_title(summary)

    def calendar_fingerprint(self, calendar: CalendarSettings) -> str:
        """What the index rows of a calendar depend on; a change means re-indexing it."""
        known = self.parts.calendar_fingerprints.get(calendar.id)
        return known or _calendar_fingerprint(self.parts.settings, calendar)

    def hub_calendar(self, path: str) -> CalendarSettings | None:
        calendar = self.hub.settings.calendar_by_path(path)
        if calendar is None or calendar.archived:
            return None
        return calendar

    def expand(self, calendar: CalendarSettings, text: str) -> list[Occurrence]:
        parts = self.parts
        return expand_object(expand_job(calendar, text), parts.config, parts.parser)

    def precheck_body(self, path: str, body: bytes, login: str, password: str) -> None:
        """Refuse a PUT body before Radicale reads it (see calhub.engine.precheck).

        Every iCalendar body has its rules and sizes bounded; a hub calendar takes events
        only, and the body as sent is also read the way the clash engine reads it: Radicale
        rewrites some invalid values (year 0000 becomes 2000) when it parses. Bodies that
        are not iCalendar (a vCard into an address book) are Radicale's to judge.
        """
        folder = path if path.endswith("/") else path.rsplit("/", 1)[0] + "/"
        if not self._may_write(folder, login, password):
            # A login the hub cannot verify was answered 401 by calhub.davlogin already;
            # a write the login may not make gets Radicale's 403 (need-privileges), unread.
            return
        calendar = self.hub_calendar(folder) or Access(self.hub).view_target(login, folder)
        if calendar is None and not ICALENDAR_START.search(body):
            return
        try:
            check_body(
                body,
                path.endswith("/"),
                events_only=calendar is not None,
                limits=self.body_limits(),
            )
            if calendar is not None:
                self.expand(calendar, body.decode("utf-8"))
        except InvalidCalendarData as exc:
            raise WriteRefused.invalid(exc) from exc
        except PARSER_ERRORS as exc:
            # The parsers' own complaint about data they cannot take apart.
            logger.info("Unreadable PUT body for %s: %r", path, exc)
            raise WriteRefused.invalid(unreadable(exc)) from exc

    def body_limits(self) -> BodyLimits:
        """The counts a PUT body may reach, from calhub.toml [hub]."""
        settings = self.hub.settings
        return BodyLimits(
            components=settings.max_components_per_object,
            overrides=settings.max_overrides_per_event,
            dates=settings.max_dates_per_event,
        )

    def _may_write(self, folder: str, login: str, password: str) -> bool:
        """Whether this login may write into ``folder``: nobody else gets a body parsed."""
        if not login or self.hub.accounts.verify(login, password) is None:
            return False
        return Access(self.hub).may_write_events(login, folder)

    def _expand_item(self, calendar: CalendarSettings, item: Item) -> list[Occurrence]:
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
            return self.expand(calendar, item.serialize())
        except InvalidCalendarData as exc:
            raise WriteRefused.invalid(exc) from exc
        except PARSER_ERRORS as exc:
            raise WriteRefused.invalid(unreadable(exc)) from exc

    # -- freshness ---------------------------------------------------------------------

    def _fresh(self, calendar: CalendarSettings) -> bool:
        # A damaged index (IndexCorrupt) is rebuilt whole by the caller (_under_lock):
        # re-indexing this one calendar would leave the others out of its clash checks.
        return self.index.fingerprint(calendar.id) == self.calendar_fingerprint(calendar)

    def _rebuild_damaged(self) -> None:
        """Fill a new index from storage, for a caller that holds the storage lock."""
        problems = self._verify(open_storage(self.hub), repair=True)
        items, occurrences = self.index.count()
        logger.info(
            "Index rebuilt from storage: %d objects, %d occurrences (%d calendars re-read)",
            items,
            occurrences,
            len(problems),
        )

    def _repair_index(self) -> bool:
        """``OccurrenceIndex.repair``: rebuild a new index now, unless this thread holds the
        storage lock already (then its _under_lock call rebuilds: locking again would wait
        for itself)."""
        if getattr(self._locked, "depth", 0):
            return False
        storage = open_storage(self.hub)
        with storage.acquire_lock("w", "calhub"):
            self._locked.depth = 1
            try:
                self._rebuild_damaged()
            finally:
                self._locked.depth = 0
        return True

    def _ensure_calendar(self, calendar: CalendarSettings, collection: BaseCollection) -> bool:
        """Reindex one calendar if the index does not hold it; True if it was reindexed."""
        if self._fresh(calendar):
            return False
        self.reindex_calendar(calendar, collection)
        return True

    @_under_lock
    def reindex_calendar(self, calendar: CalendarSettings, collection: BaseCollection) -> int:
        """Read every object of a calendar from storage into the index."""
        rows = [self.index_row(calendar, item) for item in collection.get_all()]
        self._write_calendar(calendar, rows)
        return len(rows)

    def _write_calendar(
        self, calendar: CalendarSettings, rows: Sequence[tuple[IndexedItem, list[Occurrence]]]
    ) -> None:
        with self.index.transaction() as db:
            if rows or self.index.items(calendar.id):
                # An empty calendar that stays empty cannot change any clash.
                self.index.mark_records_pending(db)
            self.index.drop_calendar(db, calendar.id)
            for row, occurrences in rows:
                self.index.put_item(db, calendar.id, row, occurrences)
            self.index.set_fingerprint(db, calendar.id, self.calendar_fingerprint(calendar))
        logger.info("Indexed calendar %s: %d objects", calendar.id, len(rows))

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
                occurrences = self.expand(calendar, item.serialize())
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
        settings = self.parts.settings
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

    # -- write hooks (inside Radicale's storage write lock) ---------------------------

    @_under_lock
    def before_item_write(
        self, collection: BaseCollection, href: str, item: Item, moved_from: Event | None = None
    ) -> None:
        calendar = self.hub_calendar(collection.path)
        if calendar is None:
            return
        occurrences = self._expand_item(calendar, item)
        self._pending.value = (calendar.id, href, occurrences)
        if calendar.policy != "reject":
            return
        self._ensure_calendar(calendar, collection)
        event = (calendar.id, item.uid)
        replaced = {event} | ({moved_from} if moved_from else set())
        clashes = self.parts.engine.check(occurrences, IndexLookup(self.index, replaced))
        self._refuse_new_hard(clashes, replaced)

    def _refuse_new_hard(self, clashes: Sequence[Clash], replaced: Iterable[Event]) -> None:
        hard = [c for c in clashes if c.severity == "hard"]
        known = self.records.on_record(hard)
        # An approval is for the version approved: a write that changes an approved clash
        # (time, venue, audience) brings a clash nobody approved, refused like a new one.
        approved = self.records.approved_clashes(c for c in hard if c.id in known)
        judged = [c for c in hard if c.id not in known or c.id in approved]
        as_is = self.records.approved_as_is(judged)
        refused = [c for c in judged if c.id not in as_is]
        if refused:
            raise WriteRefused.clashes(refused, self.parts.settings)

    @_under_lock
    def after_item_write(self, collection: BaseCollection, href: str, item: Item) -> None:
        calendar = self.hub_calendar(collection.path)
        if calendar is None:
            return
        if self._ensure_calendar(calendar, collection):
            self._refresh({(calendar.id, item.uid)})
            return
        pending = getattr(self._pending, "value", None)
        self._pending.value = None
        if pending is not None and pending[:2] == (calendar.id, href):
            occurrences = pending[2]
        else:
            occurrences = self._expand_item(calendar, item)
        row, occurrences = self.index_row(calendar, item, occurrences)
        with self.index.transaction() as db:
            self.index.mark_records_pending(db)
            old_uid = self.index.delete_item(db, calendar.id, href)
            self.index.put_item(db, calendar.id, row, occurrences)
        events = {(calendar.id, item.uid)}
        if old_uid and old_uid != item.uid:
            events.add((calendar.id, old_uid))
        self._refresh(events)

    @_under_lock
    def after_item_delete(self, collection_path: str, href: str) -> None:
        calendar = self.hub_calendar(collection_path)
        if calendar is None or not self._fresh(calendar):
            return
        with self.index.transaction() as db:
            self.index.mark_records_pending(db)
            uid = self.index.delete_item(db, calendar.id, href)
        if uid:
            self._refresh({(calendar.id, uid)})

    @_under_lock
    def after_collection_delete(self, collection_path: str) -> None:
        calendar = self.hub.settings.calendar_by_path(collection_path)
        if calendar is None:
            return
        self.forget_calendar(calendar.id)

    @_under_lock
    def forget_calendar(self, calendar_id: str) -> None:
        events = {(calendar_id, item.uid) for item in self.index.items(calendar_id).values()}
        with self.index.transaction() as db:
            self.index.mark_records_pending(db)
            self.index.drop_calendar(db, calendar_id)
        self._refresh(events)

    @_under_lock
    def before_collection_replace(self, path: str, items: Sequence[Item]) -> None:
        calendar = self.hub_calendar(path)
        if calendar is None:
            return
        new: list[Occurrence] = []
        for item in items:
            new.extend(self._expand_item(calendar, item))
        if calendar.policy != "reject":
            return
        old_events = {(calendar.id, i.uid) for i in self.index.items(calendar.id).values()}
        new_events = {(calendar.id, i.uid) for i in items}
        others = IndexLookup(self.index, old_events | new_events)
        clashes = self.parts.engine.check(new, CombinedLookup(others, IntervalIndex(new)))
        self._refuse_new_hard(clashes, old_events | new_events)

    @_under_lock
    def after_collection_replace(self, collection: BaseCollection) -> None:
        calendar = self.hub_calendar(collection.path)
        if calendar is None:
            return
        before = {(calendar.id, i.uid) for i in self.index.items(calendar.id).values()}
        self.reindex_calendar(calendar, collection)
        after = {(calendar.id, i.uid) for i in self.index.items(calendar.id).values()}
        self._refresh(before | after)

    # -- clash bookkeeping -------------------------------------------------------------

    def _refresh(self, events: set[Event]) -> None:
        """Re-check the given events and bring their clash records up to date."""
        engine = self.parts.engine
        candidates = [
            o for calendar, uid in events for o in self.index.occurrences_of(calendar, uid)
        ]
        clashes = {c.id: c for c in engine.check(candidates, IndexLookup(self.index))}
        stale = self.records.active_ids_for(events)
        # A pair clash of these events that check() did not find again is gone. A group
        # clash (overload, one grade-week) may outlive one member leaving it: look again at
        # the weeks of their group records that check() did not find.
        group_rules = {rule.name for rule in engine.rules if rule.is_group_rule}
        weeks = self.records.instance_spans(self.records.of_rules(stale, group_rules))
        missing = {week for week in weeks if week not in clashes}
        spans = [weeks[week] for week in missing]
        if spans:
            start = min(dt.datetime.fromisoformat(first) for first, _ in spans)
            end = max(dt.datetime.fromisoformat(last) for _, last in spans)
            window = self.index.overlapping(
                start - dt.timedelta(days=1), end + dt.timedelta(days=1)
            )
            for clash in engine.scan(window, only=group_rules):
                if clash.id in missing:
                    clashes[clash.id] = clash
        parts = self.parts
        new, resolved = self.records.sync(
            clashes.values(), stale, parts.rules_fingerprint, parts.config
        )
        with self.index.transaction() as db:
            self.index.clear_records_pending(db)
        if new or resolved:
            logger.info("Clashes: %d new, %d resolved", new, resolved)
        self._purge_records()
        request = current_request()
        if request is not None:
            request.clashes_after_write = [c for c in clashes.values() if c.severity == "hard"]

    # -- read helpers for Radicale -----------------------------------------------------

    @_under_lock
    def has_uid(self, collection: BaseCollection, uid: str) -> bool | None:
        calendar = self.hub_calendar(collection.path)
        if calendar is None or not self._fresh(calendar):
            return None
        return self.index.has_uid(calendar.id, uid)

    @_under_lock
    def hrefs_in_range(
        self, collection: BaseCollection, start: int, end: int
    ) -> list[tuple[str, bool]] | None:
        calendar = self.hub_calendar(collection.path)
        if calendar is None or not self._fresh(calendar):
            return None
        return self.index.hrefs_in_range(calendar.id, start, end)

    # -- whole-hub operations (CLI, start-up) -----------------------------------------

    def verify(self, storage: Any, repair: bool) -> list[str]:
        """Compare the index with storage; with ``repair`` rebuild what differs.

        Returns a list of human-readable differences (empty when all agree). The caller
        holds Radicale's storage lock. A damaged file (SQLite's integrity check, or an
        error reading it) is one difference; with ``repair`` it is deleted and the index
        built again from storage, without it nothing else is compared.
        """
        self._locked.depth = depth = getattr(self._locked, "depth", 0) + 1
        try:
            try:
                damage = self.index.check()
                if damage is None:
                    return self._verify(storage, repair)
            except IndexCorrupt as error:
                # Damage the integrity check did not see, or a file already started again.
                damage = str(error)
            if not repair:
                return [f"файл индекса повреждён / the index file is damaged ({damage})"]
            self.index.destroy()
            # Every calendar is re-read into the new file; that is one difference, not one
            # per calendar (the caller logs or prints each).
            self._verify(storage, repair)
            return [
                "файл индекса был повреждён и построен заново из хранилища / the index file "
                f"was damaged ({damage}); rebuilt from storage"
            ]
        finally:
            self._locked.depth = depth - 1

    def _verify(self, storage: Any, repair: bool) -> list[str]:
        problems: list[str] = []
        settings = self.hub.settings
        wanted = {c.id for c in settings.calendars if not c.archived}
        for calendar_id in set(self.index.known_calendars()) - wanted:
            problems.append(f"{calendar_id}: indexed but no longer a hub calendar")
            if repair:
                self.forget_calendar(calendar_id)
        changed = False
        for calendar in settings.calendars:
            if calendar.archived:
                continue
            collection = next(iter(storage.discover(calendar.path)), None)
            if collection is None:
                problems.append(f"{calendar.id}: calendar {calendar.path} missing in storage")
                continue
            difference = self._compare(calendar, collection)
            if difference:
                problems.append(f"{calendar.id}: {difference}")
                if repair:
                    self.reindex_calendar(calendar, collection)
                    changed = True
        if self.index.records_pending():
            # A write was cut short between the index and the clash records.
            problems.append("clash records may lag behind the index (a write was cut short)")
        if repair and (changed or problems or self._rules_changed()):
            self.rescan_all()
        return problems

    def _compare(self, calendar: CalendarSettings, collection: BaseCollection) -> str:
        if not self._fresh(calendar):
            return "not indexed with the current configuration"
        indexed = {href: row.etag for href, row in self.index.items(calendar.id).items()}
        stored = {str(item.href): item.etag for item in collection.get_all()}
        if indexed == stored:
            return ""
        missing = len(set(stored) - set(indexed))
        extra = len(set(indexed) - set(stored))
        changed = len([h for h in set(stored) & set(indexed) if stored[h] != indexed[h]])
        return f"{missing} objects not indexed, {extra} indexed but gone, {changed} changed"

    def _rules_changed(self) -> bool:
        return self.index.meta("rules") != self.parts.rules_fingerprint

    @_under_lock
    def rescan_all(self) -> tuple[int, int]:
        """Find every clash from the index and bring all records in step."""
        clashes = self.parts.engine.scan(self.index.all_occurrences())
        result = self.records.sync(
            clashes, self.records.all_active_ids(), self.parts.rules_fingerprint, self.parts.config
        )
        with self.index.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('rules', ?)", (self.parts.rules_fingerprint,)
            )
            self.index.clear_records_pending(db)
        logger.info("Full clash scan: %d clashes (%d new, %d resolved)", len(clashes), *result)
        self._purge_records(force=True)
        return result

    def _purge_records(self, force: bool = False) -> None:
        """Forget records resolved ``[records] retention_days`` ago whose events are all
        deleted; on the first write after start, then at most once an hour (the query
        reads every resolved record)."""
        now = time.monotonic()
        with self._parts_lock:
            last = getattr(self, "_last_purge", None)
            if not force and last is not None and now - last < PURGE_EVERY_SECONDS:
                return
            self._last_purge = now
        index = self.index

        def alive(events: set[Event]) -> set[Event]:
            return {event for event in events if index.has_uid(*event)}

        self.records.purge(self.parts.settings.records_retention_days, alive)

    @_under_lock
    def rebuild(self, storage: Any) -> tuple[int, int]:
        """Empty the index and build it again from storage. Caller holds the lock.

        Every object is expanded in one batch (on all cores when there are many).
        """
        damage = self.index.check()
        if damage is not None:
            # Emptying a damaged file in place could leave the damage in its free pages.
            logger.warning("Index %s is damaged (%s); starting a new file", self.index.path, damage)
            self.index.destroy()
        self.index.clear()
        stored: list[tuple[CalendarSettings, list[Item]]] = []
        for calendar in self.hub.settings.calendars:
            if calendar.archived:
                continue
            collection = next(iter(storage.discover(calendar.path)), None)
            if collection is not None:
                stored.append((calendar, list(collection.get_all())))
        jobs = [
            expand_job(calendar, item.serialize()) for calendar, items in stored for item in items
        ]
        expanded = iter(expand_all(self.parts.config, jobs))
        for calendar, items in stored:
            rows = []
            for item in items:
                occurrences, error = next(expanded)
                rows.append(self.index_row(calendar, item, occurrences, error))
            self._write_calendar(calendar, rows)
        return self.rescan_all()
