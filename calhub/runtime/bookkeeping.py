"""Keeping the clash records in step with the occurrence index.

The engine decides what clashes; this module decides what to keep: after a write it checks
the events written again and brings their records up to date (:meth:`ClashBook.refresh`),
after a rebuild or a change of rules it scans everything (:meth:`ClashBook.rescan_all`),
and it judges which hard clashes a write to a ``reject`` calendar may not bring
(:meth:`ClashBook.unapproved_hard`). The DAV layer calls it inside Radicale's storage
lock (:mod:`calhub.dav.hooks`), or once the lock is released (:mod:`calhub.dav.settling`);
either way the index it reads holds the write.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from calhub.engine import Clash
from calhub.runtime.records_lock import RecordsLock
from calhub.store.audit import NewEntry
from calhub.store.index import IndexLookup

if TYPE_CHECKING:
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)

Event = tuple[str, str]  # (calendar id, uid)
PURGE_EVERY_SECONDS = 3600


class ClashBook:
    """The clash bookkeeping of one runtime (its index, records and engine)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._purge_lock = threading.Lock()
        self._last_purge: float | None = None
        self._lock = RecordsLock(runtime.hub.paths.root / "hub.sqlite.records-lock")

    def unapproved_hard(
        self, clashes: Sequence[Clash], replaced: Iterable[Event] = ()
    ) -> list[Clash]:
        """The hard clashes among ``clashes`` that a ``reject`` calendar refuses: new ones,
        and approved ones whose events changed since the approval."""
        records = self._runtime.records
        hard = [c for c in clashes if c.severity == "hard"]
        known = records.on_record(hard)
        # An approval is for the version approved: a write that changes an approved clash
        # (time, venue, audience) brings a clash nobody approved, refused like a new one.
        approved = records.approved_clashes(c for c in hard if c.id in known)
        judged = [c for c in hard if c.id not in known or c.id in approved]
        as_is = records.approved_as_is(judged)
        return [c for c in judged if c.id not in as_is]

    def refresh(
        self,
        events: set[Event],
        audit: list[NewEntry] | None = None,
        deferred: int | None = None,
    ) -> list[Clash]:
        """Re-check the given events and bring their clash records up to date; returns the
        clashes the events are in now. ``audit``: the entries of the write, committed with
        the records when they change (see :meth:`ClashRecords.sync`). ``deferred``: the
        write's mark when it ran outside the storage lock (else the index's pending mark).

        One refresh at a time (:class:`RecordsLock`), reading the index as one commit left
        it: outside the storage lock other writes go on meanwhile."""
        index = self._runtime.index
        with self._lock.held():
            # Inside the snapshot a damaged index raises at once, never rebuilt from here:
            # that takes the storage lock, which a writer waiting for this lock may hold.
            with index.snapshot():
                clashes = self._refresh(events, audit)
                self.purge()  # it deletes records too
            with index.quiet_transaction() as db:
                if deferred is None:
                    index.clear_records_pending(db)
                else:
                    index.clear_records_deferred(db, deferred)
        return clashes

    def _refresh(self, events: set[Event], audit: list[NewEntry] | None) -> list[Clash]:
        runtime = self._runtime
        index, records = runtime.index, runtime.records
        parts = runtime.parts
        engine = parts.engine
        candidates = [o for calendar, uid in events for o in index.occurrences_of(calendar, uid)]
        clashes = {c.id: c for c in engine.check(candidates, IndexLookup(index))}
        stale = records.active_ids_for(events)
        # A pair clash of these events that check() did not find again is gone. A group
        # clash (overload, one grade-week) may outlive one member leaving it: look again at
        # the weeks of their group records that check() did not find.
        group_rules = {rule.name for rule in engine.rules if rule.is_group_rule}
        weeks = records.instance_spans(records.of_rules(stale, group_rules))
        missing = {week for week in weeks if week not in clashes}
        spans = [weeks[week] for week in missing]
        if spans:
            start = min(dt.datetime.fromisoformat(first) for first, _ in spans)
            end = max(dt.datetime.fromisoformat(last) for _, last in spans)
            window = index.overlapping(start - dt.timedelta(days=1), end + dt.timedelta(days=1))
            for clash in engine.scan(window, only=group_rules):
                if clash.id in missing:
                    clashes[clash.id] = clash
        new, resolved = records.sync(
            clashes.values(), stale, parts.rules_fingerprint, parts.config, audit
        )
        if new or resolved:
            logger.info("Clashes: %d new, %d resolved", new, resolved)
        return list(clashes.values())

    def rescan_all(self) -> tuple[int, int]:
        """Find every clash from the index and bring all records in step: (new, resolved)."""
        runtime = self._runtime
        index, records, parts = runtime.index, runtime.records, runtime.parts
        with self._lock.held():
            with index.snapshot():
                occurrences = index.all_occurrences()
                last = index.last_deferred()
            clashes = parts.engine.scan(occurrences)
            result = records.sync(
                clashes, records.all_active_ids(), parts.rules_fingerprint, parts.config
            )
            with index.transaction() as db:
                index.set_rules_fingerprint(db, parts.rules_fingerprint)
                index.clear_records_pending(db)
                # Also the writes whose own refresh is still to come: this scan read them.
                index.clear_deferred_upto(db, last)
            logger.info("Full clash scan: %d clashes (%d new, %d resolved)", len(clashes), *result)
            self.purge(force=True)
        return result

    def rules_changed(self) -> bool:
        """Whether the records were scanned under other rules than the current ones."""
        runtime = self._runtime
        return runtime.index.meta("rules") != runtime.parts.rules_fingerprint

    def purge(self, force: bool = False) -> None:
        """Forget records resolved ``[records] retention_days`` ago whose events are all
        deleted; on the first write after start, then at most once an hour (the query
        reads every resolved record)."""
        now = time.monotonic()
        with self._purge_lock:
            last = self._last_purge
            if not force and last is not None and now - last < PURGE_EVERY_SECONDS:
                return
            self._last_purge = now
        index = self._runtime.index

        def alive(events: set[Event]) -> set[Event]:
            return {event for event in events if index.has_uid(*event)}

        self._runtime.records.purge(self._runtime.settings.records_retention_days, alive)
