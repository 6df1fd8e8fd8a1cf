"""What runs inside Radicale's storage lock on every write: the clash check, the index and
the clash records, kept in step with Radicale's storage.

Radicale's storage plugin (:mod:`calhub.dav.plugins.storage`) calls these hooks while it
holds the storage write lock, so the check of a write, the write itself and the
bookkeeping after it are one step for every other writer, in this process or another.
The engine decides what clashes, the runtime's clash book what to keep
(:mod:`calhub.runtime.bookkeeping`), the indexer which rows the index holds
(:mod:`calhub.dav.indexing`).

A write to a calendar with policy ``reject`` that would add a new, unapproved hard clash
raises ``WriteRefused`` before anything is stored; ``calhub.dav.mapper`` turns it into a 409.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Callable, Collection, Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast

from calhub.dav import auditing, known, locking, settling
from calhub.dav.history import HistoryBook
from calhub.dav.indexing import Indexer
from calhub.dav.maintenance import recovering
from calhub.dav.mirror import mirroring, source_of
from calhub.dav.mirror import refusal as mirror_refusal
from calhub.dav.refusal import WriteRefused
from calhub.dav.watch import FolderWatch
from calhub.engine import Clash, IntervalIndex, Occurrence
from calhub.engine.index import NO_NARROWING, CountingLookup, Narrowing
from calhub.engine.parser import resolve_audience
from calhub.store.audit import EventSummary, NewEntry
from calhub.store.index import IndexCorrupt, IndexedItem, IndexLookup, KnownFile, known_file

if TYPE_CHECKING:
    from radicale.item import Item
    from radicale.storage import BaseCollection

    from calhub.hub.settings import CalendarSettings
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)

Event = tuple[str, str]  # (calendar id, uid)
Pending = tuple[str, str, list[Occurrence]]  # (calendar id, href, occurrences)

# The occurrences a write was checked with, from before_item_write to after_item_write of
# the same request: expanding an object twice per PUT would double its cost.
_pending: ContextVar[Pending | None] = ContextVar("calhub_pending_write", default=None)

# What the audit entry of a write says the event was before it: (calendar id, href, the
# event before, the calendar it is moved from or ""), from before_item_write to after.
_before: ContextVar[tuple[str, str, EventSummary | None, str] | None] = ContextVar(
    "calhub_audit_before", default=None
)
# The event a delete removes, (calendar id, href, uid, the event), from before_item_delete
# to after_item_delete; and whether the writes inside are a MOVE's (its delete is no delete).
_deleting: ContextVar[tuple[str, str, str, EventSummary | None] | None] = ContextVar(
    "calhub_audit_deleting", default=None
)
_moving: ContextVar[bool] = ContextVar("calhub_audit_moving", default=False)

Deferred = tuple[str, str, "IndexedItem", list[Occurrence]]  # (calendar id, href, row, occ.)
# The index rows of a batch of writes (WriteHooks.one_transaction), written together at its
# end: one index transaction and one clash refresh for the batch, not one per object.
_deferred: ContextVar[list[Deferred] | None] = ContextVar("calhub_index_batch", default=None)


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
    method: Callable[Concatenate[WriteHooks, _P], _R],
) -> Callable[Concatenate[WriteHooks, _P], _R]:
    """A hook called while the caller holds Radicale's storage lock: a damaged index found
    on the way is rebuilt from storage, once, and the hook run again."""

    @functools.wraps(method)
    def run(self: WriteHooks, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return recovering(self.runtime, lambda: method(self, *args, **kwargs))

    # functools.wraps hides the signature from mypy; it is the method's own.
    return cast("Callable[Concatenate[WriteHooks, _P], _R]", run)


class _WriteEntry:
    """The audit entry of one write, from ``after_item_write`` through the clash refresh,
    which commits it with the clash records when they change (one commit and sync of
    ``hub.sqlite`` instead of two). Made once, should the index be rebuilt on the way and
    the hook run again (:func:`_under_lock`)."""

    __slots__ = ("committed", "deferred", "entry")

    def __init__(self) -> None:
        self.entry: NewEntry | None = None
        self.committed = False
        # Its records (and the entry with them) follow once the lock is released.
        self.deferred = False


class _Batch:
    """What a batch of writes (``WriteHooks.batch``) holds until it ends."""

    def __init__(self) -> None:
        # (calendar id, href) → the item to be written there and its occurrences, as the
        # caller checked them
        self.expected: dict[tuple[str, str], tuple[Item, Sequence[Occurrence]]] = {}
        self.events: set[Event] = set()  # whose clash records are to be brought up to date
        self.audit: list[NewEntry] = []  # the writes' audit entries, written at its end


class WriteHooks:
    """The storage plugin's calls, for one runtime (one per opened storage)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.indexer = Indexer(runtime)
        self._batch: _Batch | None = None
        self.known_rows = known.RowCache()
        self.watch = FolderWatch()
        self.kept_listings = known.KeptListings()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Many writes of one caller under one hold of the write lock (an import): the clash
        records are brought up to date once, at the end, for every event written (each
        write's index rows still go in at once, so each check sees the writes before it),
        and :meth:`expect` may hand over the occurrences of an item already expanded."""
        if self._batch is not None:
            raise RuntimeError("a batch of writes is already open on this storage")
        self._batch = _Batch()
        try:
            yield
        finally:
            batch, self._batch = self._batch, None
            if batch.events:
                self._refresh_records(batch.events)
            if batch.audit:
                auditing.record(self.runtime, auditing.collapse(batch.audit))

    def forget_audit(self) -> None:
        """In a batch: its writes so far are undone (a refused import): no entries for them."""
        if self._batch is not None:
            self._batch.audit.clear()

    @contextlib.contextmanager
    def moving(self) -> Iterator[None]:
        """The writes inside are one MOVE: one audit entry, ``moved``, not a delete."""
        token = _moving.set(True)
        try:
            yield
        finally:
            _moving.reset(token)

    def _audit(self, entry: NewEntry) -> None:
        if self._batch is not None:
            self._batch.audit.append(entry)
        else:
            auditing.record(self.runtime, [entry])

    def _summary_text(self, calendar: CalendarSettings, item: Item) -> EventSummary | None:
        """The event from its text (no occurrence in the index's horizon), its audience as
        the engine reads it."""
        parser = self.runtime.parts.parser
        default = parser.parse(calendar.audience) if calendar.audience else None

        def audience(component: Any) -> str:
            return resolve_audience(component, parser, default)[0].label()

        return auditing.summarize_text(item.serialize(), audience)

    def _summary_of(self, event: Event) -> EventSummary | None:
        """The event as the index holds it (before a write changes it)."""
        first, count = self.runtime.index.first_of(*event)
        return None if first is None else auditing.summary_of(first, count)

    def expect(
        self, calendar_id: str, href: str, item: Item, occurrences: Sequence[Occurrence]
    ) -> None:
        """In a batch: the next write of this very ``item`` at ``href`` has ``occurrences``."""
        if self._batch is None:
            raise RuntimeError("expect() is for a batch of writes")
        self._batch.expected[(calendar_id, href)] = (item, occurrences)

    def _expanded(self, calendar: CalendarSettings, href: str, item: Item) -> list[Occurrence]:
        if self._batch is not None:
            expected = self._batch.expected.pop((calendar.id, href), None)
            if expected is not None and expected[0] is item:
                return list(expected[1])
        return self.indexer.expand_item(calendar, item)

    def _refresh(self, events: set[Event], write: _WriteEntry | None = None) -> None:
        if self._batch is not None:
            self._batch.events |= events
        elif write is None or write.entry is None or write.committed:
            self.runtime.clashes.refresh(events)
        else:
            pending = [write.entry]
            try:
                self.runtime.clashes.refresh(events, pending)
            finally:
                # Committed even if a later step of the refresh failed (the index's pending
                # mark, the purge): a second run after an index rebuild must not write it again.
                write.committed = not pending

    @_under_lock
    def _refresh_records(self, events: set[Event]) -> None:
        self.runtime.clashes.refresh(events)

    def _refuse_new_hard(self, clashes: Sequence[Clash], replaced: set[Event]) -> None:
        refused = self.runtime.clashes.unapproved_hard(clashes, replaced)
        if refused:
            raise WriteRefused.clashes(refused, self.runtime.parts.settings)

    @_under_lock
    def before_item_write(
        self, collection: BaseCollection, href: str, item: Item, moved_from: Event | None = None
    ) -> None:
        calendar = self.indexer.hub_calendar(collection.path)
        if calendar is None:
            return
        old = self._check_mirrored(collection, href, item.serialize())
        occurrences = self._expanded(calendar, href, item)
        _pending.set((calendar.id, href, occurrences))
        before = self._summary_of(moved_from or (calendar.id, item.uid))
        if before is None:
            previous = item if moved_from else old
            before = None if previous is None else self._summary_text(calendar, previous)
        _before.set((calendar.id, href, before, moved_from[0] if moved_from else ""))
        # A mirrored event is checked in record mode whatever the calendar's policy: the
        # clash is recorded, the copy of what the partner already published is kept.
        if calendar.policy != "reject" or mirroring() is not None:
            return
        self.indexer.ensure_calendar(calendar, collection)
        event = (calendar.id, item.uid)
        replaced = {event} | ({moved_from} if moved_from else set())
        lookup = IndexLookup(self.runtime.index, replaced)
        clashes = self.runtime.parts.engine.check(occurrences, lookup)
        self._refuse_new_hard(clashes, replaced)

    def _check_mirrored(
        self, collection: BaseCollection, href: str, text: str | None
    ) -> Item | None:
        """Refuse a write or delete of a mirrored event by anyone but its mirror, and a
        write by the mirror over anything but its own events; returns the stored item."""
        writer = mirroring()
        marked = None if text is None else source_of(text)
        if writer is None and marked is not None:
            raise mirror_refusal(self.runtime, marked)
        old = next(iter(collection.get_multi([href])), (href, None))[1]
        before = None if old is None else source_of(old.serialize())
        if before != writer and (writer is None or old is not None):
            # A client over a mirrored event, or the mirror over a local event or another
            # source's (calhub.sources leaves those out; this holds it for any caller).
            raise mirror_refusal(self.runtime, before if before is not None else writer or 0)
        return old

    @_under_lock
    def before_item_delete(self, collection: BaseCollection, href: str) -> None:
        calendar = self.indexer.hub_calendar(collection.path)
        if calendar is None:
            return
        old = self._check_mirrored(collection, href, None)
        if old is not None:
            before = self._summary_of((calendar.id, old.uid))
            if before is None:
                before = self._summary_text(calendar, old)
            _deleting.set((calendar.id, href, old.uid, before))

    def after_item_write(self, collection: BaseCollection, href: str, item: Item) -> None:
        write = _WriteEntry()
        try:
            occurrences = self._after_item_write(collection, href, item, write)
        except Exception:
            if write.entry is not None and not write.committed:
                auditing.unwritten([write.entry])
            raise
        if occurrences is None or write.committed or write.deferred:
            return
        # Last, once the event is stored, indexed and its clashes recorded (with those
        # when they changed, above): see calhub.dav.auditing for what a failure means.
        if write.entry is None:
            calendar = self.indexer.hub_calendar(collection.path)
            assert calendar is not None
            write.entry = self._write_entry(calendar, href, item, occurrences)
        self._audit(write.entry)

    def _write_entry(
        self, calendar: CalendarSettings, href: str, item: Item, occurrences: list[Occurrence]
    ) -> NewEntry:
        noted = _before.get()
        _before.set(None)
        before, moved_from = None, ""
        if noted is not None and noted[:2] == (calendar.id, href):
            before, moved_from = noted[2], noted[3]
        action = "moved" if moved_from else "created" if before is None else "changed"
        after = auditing.summarize(occurrences) or self._summary_text(calendar, item)
        return auditing.event_entry(action, calendar.id, item.uid, before, after, moved_from)

    @_under_lock
    def _after_item_write(
        self, collection: BaseCollection, href: str, item: Item, write: _WriteEntry
    ) -> list[Occurrence] | None:
        """The index and the clash records of a stored write; its occurrences (None: not
        a hub calendar). ``write``'s entry is made here, and committed with the records
        when they change."""
        calendar = self.indexer.hub_calendar(collection.path)
        if calendar is None:
            return None
        pending = _pending.get()
        _pending.set(None)
        if self.indexer.ensure_calendar(calendar, collection):
            self._refresh({(calendar.id, item.uid)})
            return self.runtime.index.occurrences_of(calendar.id, item.uid)
        if pending is not None and pending[:2] == (calendar.id, href):
            occurrences = pending[2]
        else:
            occurrences = self.indexer.expand_item(calendar, item)
        row, occurrences = self.indexer.index_row(calendar, item, occurrences)
        deferred = _deferred.get()
        if deferred is not None:
            deferred.append((calendar.id, href, row, occurrences))
            return occurrences
        index = self.runtime.index
        later = self._later()
        with index.transaction() as db:
            states = index.states_of_write(db)
            mark = self._mark(db, later)
            old_uid = index.delete_item(db, calendar.id, href)
            index.put_item(db, calendar.id, row, occurrences)
        self.known_rows.carry(calendar.id, *states, {href: known_file(row)})
        events = {(calendar.id, item.uid)}
        if old_uid and old_uid != item.uid:
            events.add((calendar.id, old_uid))
        if write.entry is None and self._batch is None:
            write.entry = self._write_entry(calendar, href, item, occurrences)
        if later is not None and mark is not None:
            write.deferred = True
            later.append(functools.partial(self._settle, events, write, mark))
        else:
            self._refresh(events, write)
        return occurrences

    def _later(self) -> list[settling.Work] | None:
        """Where this write's records go once the lock is released (calhub.dav.settling):
        a single write of a DAV request; None: in the lock, as a batch's are."""
        if self._batch is not None or _deferred.get() is not None:
            return None
        return settling.pending()

    def _mark(self, db: Any, later: list[settling.Work] | None) -> int | None:
        """The index's mark that this write's records are still to follow: the write's own
        (its id) when they follow after the lock, else the one the refresh in it clears."""
        if later is not None:
            return self.runtime.index.mark_records_deferred(db)
        self.runtime.index.mark_records_pending(db)
        return None

    def _settle(self, events: set[Event], write: _WriteEntry | None, mark: int) -> None:
        """A write's records, and its audit entry with them, after the lock."""
        entry = None if write is None or write.committed else write.entry
        pending = [] if entry is None else [entry]
        try:
            self.runtime.clashes.refresh(events, pending, deferred=mark)
        except Exception:
            if entry is not None and pending:
                auditing.unwritten(pending)
            raise
        if entry is not None:
            assert write is not None
            write.committed = True
            if pending:
                self._audit(entry)  # the records did not change: on its own

    @contextlib.contextmanager
    def one_transaction(self) -> Iterator[None]:
        """Writes inside (the caller holds the storage write lock throughout) put their
        index rows in one transaction at the end and refresh the clash records once.

        Only for writes checked in ``record`` mode (the mirror's): a ``reject`` check of a
        later object would not see the earlier ones in the index yet."""
        deferred: list[Deferred] = []
        token = _deferred.set(deferred)
        try:
            yield
        finally:
            _deferred.reset(token)
            if deferred:
                self._write_deferred(deferred)

    @_under_lock
    def _write_deferred(self, deferred: list[Deferred]) -> None:
        index = self.runtime.index
        events: set[Event] = set()
        with index.transaction() as db:
            index.mark_records_pending(db)
            for calendar_id, href, row, occurrences in deferred:
                old_uid = index.delete_item(db, calendar_id, href)
                index.put_item(db, calendar_id, row, occurrences)
                events.add((calendar_id, row.uid))
                if old_uid and old_uid != row.uid:
                    events.add((calendar_id, old_uid))
        self._refresh(events)

    def after_item_delete(self, collection_path: str, href: str) -> None:
        calendar = self.indexer.hub_calendar(collection_path)
        noted = _deleting.get()
        _deleting.set(None)
        self._after_item_delete(collection_path, href)
        if calendar is None or _moving.get():
            return
        if noted is not None and noted[:2] == (calendar.id, href):
            self._audit(auditing.event_entry("deleted", calendar.id, noted[2], noted[3], None))

    @_under_lock
    def _after_item_delete(self, collection_path: str, href: str) -> None:
        calendar = self.indexer.hub_calendar(collection_path)
        if calendar is None or not self.indexer.fresh(calendar):
            return
        index = self.runtime.index
        later = self._later()
        with index.transaction() as db:
            states = index.states_of_write(db)
            uid = index.delete_item(db, calendar.id, href)
            # After the lock, only a known object's records are to follow.
            mark = self._mark(db, later) if uid or later is None else None
        self.known_rows.carry(calendar.id, *states, {href: None})
        if uid and later is not None and mark is not None:
            later.append(functools.partial(self._settle, {(calendar.id, uid)}, None, mark))
        elif uid:
            self._refresh({(calendar.id, uid)})

    @_under_lock
    def after_collection_delete(self, collection_path: str) -> None:
        calendar = self.runtime.settings.calendar_by_path(collection_path)
        if calendar is None:
            return
        self.runtime.clashes.refresh(self.indexer.forget_calendar(calendar.id))

    @_under_lock
    def before_collection_replace(self, path: str, items: Sequence[Item]) -> None:
        calendar = self.indexer.hub_calendar(path)
        if calendar is None:
            return
        new: list[Occurrence] = []
        for item in items:
            new.extend(self.indexer.expand_item(calendar, item))
        if calendar.policy != "reject":
            return
        old_events = self.indexer.events_of(calendar.id)
        new_events = {(calendar.id, i.uid) for i in items}
        others = IndexLookup(self.runtime.index, old_events | new_events)
        lookup = CombinedLookup(others, IntervalIndex(new))
        clashes = self.runtime.parts.engine.check(new, lookup)
        self._refuse_new_hard(clashes, old_events | new_events)

    @_under_lock
    def after_collection_replace(self, collection: BaseCollection) -> None:
        calendar = self.indexer.hub_calendar(collection.path)
        if calendar is None:
            return
        before = self.indexer.events_of(calendar.id)
        self.indexer.reindex_calendar(calendar, collection)
        self.runtime.clashes.refresh(before | self.indexer.events_of(calendar.id))

    @_under_lock
    def reindex_calendar(self, calendar: CalendarSettings, collection: BaseCollection) -> int:
        """Read a hub calendar whole into the index (a new or updated calendar)."""
        return self.indexer.reindex_calendar(calendar, collection)

    # -- read helpers for Radicale -----------------------------------------------------

    @_under_lock
    def has_uid(self, collection: BaseCollection, uid: str) -> bool | None:
        calendar = self.indexer.hub_calendar(collection.path)
        if calendar is None or not self.indexer.fresh(calendar):
            return None
        return self.runtime.index.has_uid(calendar.id, uid)

    @_under_lock
    def hrefs_in_range(
        self, collection: BaseCollection, start: int, end: int
    ) -> list[tuple[str, bool]] | None:
        calendar = self.indexer.hub_calendar(collection.path)
        if calendar is None or not self.indexer.fresh(calendar):
            return None
        return self.runtime.index.hrefs_in_range(calendar.id, start, end)

    def listing(self, collection: BaseCollection, max_size: int) -> known.Listing | None:
        """The objects of a hub calendar from the index, if it provably holds the folder as
        it is now (see :mod:`calhub.dav.known`); None means: read the files."""
        if known.files_only():
            return None
        folder = known.folder_of(collection)
        calendar = self.indexer.hub_calendar(collection.path)
        if folder is None or calendar is None:
            return None
        # Taken before the scan: a change during it moves the generation past this one.
        generation = self.folder_generation(folder)
        if generation is not None:
            kept = self.kept_listings.get(folder, generation, max_size)
            if kept is not None:
                return kept
        rows = self.known_files(collection)
        if rows is None:
            return None  # Radicale's own path reads the files
        listing = known.scan(folder, rows, max_size)
        if listing is not None and generation is not None:
            self.kept_listings.keep(folder, generation, max_size, listing)
        return listing

    def folder_generation(self, folder: str) -> known.Generation | None:
        """The watch generation of a storage folder (:mod:`calhub.dav.watch`), or None when
        nothing is known of it or ``[hub] watch_storage`` is off (the folder is written by
        another host too, whose writes this kernel never sees)."""
        if not self.runtime.settings.watch_storage:
            return None
        return self.watch.generation(folder)

    def known_files(
        self, collection: BaseCollection, hrefs: Sequence[str] | None = None
    ) -> dict[str, KnownFile] | None:
        """The index's rows of a hub calendar's objects (with ``hrefs``: at least of those),
        each with the file stat it was read from, or None when the index cannot be asked
        (then: read the files)."""
        if known.files_only() or known.folder_of(collection) is None:
            return None
        calendar = self.indexer.hub_calendar(collection.path)
        if calendar is None:
            return None
        try:
            # Marked as under the lock (Radicale holds it, or built the answer in it): a
            # damaged index found here is not rebuilt by taking the lock again, which would
            # wait for this very request; the next write rebuilds it.
            with locking.holding():
                if not self.indexer.fresh(calendar):
                    return None
                return self.known_rows.rows(self.runtime.index, calendar.id, hrefs)
        except IndexCorrupt:
            return None

    def history_book(self, collection_path: str, folder: str) -> HistoryBook | None:
        """The sync history of a hub calendar's folder, written through to the index."""
        calendar = self.indexer.hub_calendar(collection_path)
        if calendar is None:
            return None
        return HistoryBook(self.runtime.index, calendar.id, folder)
