"""Clash records, approvals and their history: hub data in ``hub.sqlite``, not cache.

A clash record keeps its id, when it was first detected and what people did about it across
restarts and index rebuilds. Its status is ``open``, ``approved`` (a coordinator accepted
it, with a comment) or ``resolved`` (it disappeared by itself: an event moved, was
cancelled or deleted). An approval stays attached to the clash id, so a clash that comes
back after being resolved comes back approved.

An approval is for the version of the clash the coordinator saw: the time, venue and
audience of each of its events (kept with the approval, see :mod:`calhub.store.clash_versions`).
When a sync finds an approved clash with an event moved, sent to another venue or to other
classes, the approval no longer applies: it is put aside (``past_approvals``), the clash is
open again and the history says what changed (``changed``). A change of title or
description keeps it. Should the events later be back to a version the coordinator
approved, that approval applies again (``reapproved``); a coordinator's reopen forgets
every approved version of the clash. A write to a ``reject`` calendar is refused when it
would change an approved hard clash into a version nobody approved
(:meth:`ClashRecords.approved_as_is`).

A record is one rule and one pair of events (a group rule: one set of events), listing the
engine's clashes it stands for as its instances (:mod:`calhub.store.record_groups`); an approval
covers every instance of the version approved, so a date joining the record reopens it.
Resolved records whose events are all deleted are purged after ``[records]
retention_days`` (:meth:`ClashRecords.purge`). Reading is in :mod:`calhub.store.records_pages`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from calhub import __version__
from calhub.engine import Clash, EngineConfig, Occurrence
from calhub.engine.messages import Wording
from calhub.engine.rules import registry
from calhub.errors import NoSuchClash, UserError
from calhub.store import record_marks
from calhub.store.audit import SCHEMA as AUDIT_SCHEMA
from calhub.store.audit import NewEntry, Origin, add_entries, add_entry, decision
from calhub.store.clash_versions import Change, changes, key, lapsed_text, reapproved_text, version
from calhub.store.move_requests import SCHEMA as MOVE_REQUESTS_SCHEMA
from calhub.store.outbox import SCHEMA as OUTBOX_SCHEMA
from calhub.store.outbox import add_notice
from calhub.store.record_groups import RecordGroup, group_clashes, is_group_rule, record_id
from calhub.store.record_types import ClashRecord
from calhub.store.records_migrate import group_existing
from calhub.store.records_pages import Filters, Page, PagedRecords
from calhub.store.sqlitedb import IN_LIST, ThreadLocalDatabase, in_list, utc_text

# Filters and Page live in calhub.store.records_pages; importing them from here goes on working.
__all__ = [
    "STATUSES",
    "ClashChanged",
    "ClashRecord",
    "ClashRecords",
    "Filters",
    "Page",
    "occurrence_json",
]

logger = logging.getLogger(__name__)

STATUSES = ("open", "approved", "resolved")
# The records a purge may forget, resolved before a cutoff, with their events.
PURGE_CANDIDATES = (
    "SELECT c.id, m.calendar, m.uid FROM clashes c "
    "LEFT JOIN clash_members m ON m.clash_id = c.id "
    "WHERE c.resolved=1 AND c.resolved_at < ?"
)
GROUP_RULES = tuple(name for name, rule in registry().items() if rule.is_group_rule)

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS clashes (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    resolved INTEGER NOT NULL DEFAULT 0,
    first_start TEXT NOT NULL,
    detected_at TEXT NOT NULL,
    resolved_at TEXT,
    occurrences TEXT NOT NULL,
    message_ru TEXT NOT NULL,
    message_en TEXT NOT NULL,
    fingerprint TEXT NOT NULL DEFAULT '',
    instances INTEGER NOT NULL DEFAULT 0,
    last_end TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS clash_instances (
    clash_id TEXT NOT NULL,
    instance TEXT NOT NULL,
    start_at TEXT NOT NULL,
    end_at TEXT NOT NULL,
    occurrences TEXT NOT NULL,
    fingerprint TEXT NOT NULL DEFAULT '',
    keys TEXT NOT NULL DEFAULT '',
    mark INTEGER NOT NULL DEFAULT -1,
    PRIMARY KEY (clash_id, instance)
);
CREATE INDEX IF NOT EXISTS clash_instances_end ON clash_instances (clash_id, end_at);
CREATE INDEX IF NOT EXISTS clash_instances_key ON clash_instances (instance);
CREATE INDEX IF NOT EXISTS clash_instances_start ON clash_instances (start_at);
CREATE TABLE IF NOT EXISTS clash_members (
    clash_id TEXT NOT NULL,
    calendar TEXT NOT NULL,
    uid TEXT NOT NULL,
    PRIMARY KEY (clash_id, calendar, uid)
);
CREATE INDEX IF NOT EXISTS clash_members_event ON clash_members (calendar, uid);
CREATE TABLE IF NOT EXISTS approvals (
    clash_id TEXT PRIMARY KEY,
    approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    comment TEXT NOT NULL,
    occurrences TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS past_approvals (
    id INTEGER PRIMARY KEY,
    clash_id TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    comment TEXT NOT NULL,
    occurrences TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS past_approvals_clash ON past_approvals (clash_id);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    clash_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    message_ru TEXT NOT NULL DEFAULT '',
    message_en TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS history_clash ON history (clash_id);
CREATE TABLE IF NOT EXISTS records_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- The month view's marks read the severity of every record with an instance in the window
-- (tens of thousands on a dense hub): from this index, not from the records' wide rows.
CREATE INDEX IF NOT EXISTS clashes_marks ON clashes (id, resolved, severity, rule);
-- The purge (on a server's first write, then hourly) looks for records resolved long ago:
-- from this index of resolved records only, not a scan of every record (1.5 s at 200,000).
CREATE INDEX IF NOT EXISTS clashes_resolved_at ON clashes (resolved_at) WHERE resolved=1;
-- The longest instance ever written, in whole seconds rounded up ('longest_instance', set
-- by ClashRecords._connect from the rows already there): an instance overlapping a window
-- starts at most that long before it, so a window reads a range of the start index, not
-- every instance that starts before its end.
CREATE TRIGGER IF NOT EXISTS clash_instances_longest AFTER INSERT ON clash_instances
BEGIN
    UPDATE records_meta
    SET value = CAST((julianday(NEW.end_at) - julianday(NEW.start_at)) * 86400 AS INTEGER) + 1
    WHERE key = 'longest_instance'
    AND CAST(value AS INTEGER) <= (julianday(NEW.end_at) - julianday(NEW.start_at)) * 86400;
END;
"""
    + MOVE_REQUESTS_SCHEMA
    + OUTBOX_SCHEMA
    + AUDIT_SCHEMA
)

# Columns added to hub.sqlite after its first release: (table, column, definition).
# ``approvals.occurrences`` is the approved version; an approval from before it is for the
# version on record when the file is migrated (it is the one the coordinator last saw).
# ``clashes.instances`` came with one record per pair of events (calhub.store.record_groups): a
# file without it holds one record per pair of occurrences and is regrouped in place
# (calhub.store.records_migrate).
ADDED_COLUMNS = (
    ("clashes", "fingerprint", "TEXT NOT NULL DEFAULT ''"),
    ("clashes", "instances", "INTEGER NOT NULL DEFAULT 0"),
    ("clashes", "last_end", "TEXT NOT NULL DEFAULT ''"),
    ("clashes", "version", "TEXT NOT NULL DEFAULT ''"),
    ("clash_instances", "fingerprint", "TEXT NOT NULL DEFAULT ''"),
    ("approvals", "occurrences", "TEXT NOT NULL DEFAULT ''"),
    ("history", "message_ru", "TEXT NOT NULL DEFAULT ''"),
    ("history", "message_en", "TEXT NOT NULL DEFAULT ''"),
    *record_marks.ADDED_COLUMNS,
)


def occurrence_json(occurrence: Occurrence) -> dict[str, Any]:
    """One occurrence as it is stored (read back as a ``StoredOccurrence``)."""
    return {
        "calendar": occurrence.calendar,
        "uid": occurrence.uid,
        "recurrence_id": occurrence.recurrence_id or None,
        "summary": occurrence.summary,
        "start": utc_text(occurrence.start),
        "end": utc_text(occurrence.end),
        "all_day": occurrence.all_day,
        "location": occurrence.location,
        "audience": occurrence.audience.label(),
    }


def clash_fingerprint(
    clash: Clash, wording: str, pieces: dict[tuple[str, str, str], bytes] | None = None
) -> str:
    """A digest of everything a clash's stored row is made from.

    ``wording`` stands for what the messages depend on besides the occurrences (the
    engine configuration: time zone, calendar names, rule parameters); the calhub version
    stands for the code that writes them. Comparing digests lets a rescan of thousands of
    clashes skip the ones already on record without writing their messages again.
    ``pieces`` keeps each occurrence's share across calls: in a busy hub one occurrence
    is in dozens of clashes.
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{__version__}\x1f{wording}\x1f{clash.rule}\x1f{clash.severity}".encode())
    for occurrence in clash.occurrences:
        piece = None if pieces is None else pieces.get(occurrence.key)
        if piece is None:
            piece = _fingerprint_piece(occurrence)
            if pieces is not None:
                pieces[occurrence.key] = piece
        digest.update(piece)
    return digest.hexdigest()


def _fingerprint_piece(o: Occurrence) -> bytes:
    fields = (
        o.calendar,
        o.uid,
        o.recurrence_id,
        o.summary,
        o.start.isoformat(),
        o.end.isoformat(),
        str(o.all_day),
        o.location,
        o.venue,
        str(sorted(o.audience.grades)),
        str(sorted(o.audience.classes)),
        o.audience_source,
        str(o.is_blackout),
    )
    return "\x1e".join(fields).encode("utf-8", "surrogatepass") + b"\x1d"


# A sync of more clashes than this reads the whole table once instead of row by row.
_BULK_SYNC = 500


def _occurrences_text(occurrences: list[dict[str, Any]]) -> str:
    return json.dumps(occurrences, ensure_ascii=False)


def _list_text(parts: Iterable[str]) -> str:
    """The JSON list of the already encoded ``parts``: the very text ``json.dumps`` gives
    for the list of them (its item separator is ``", "``)."""
    return "[" + ", ".join(parts) + "]"


class _Shown:
    """Each occurrence's stored form (dict and JSON text), made once per sync.

    In a busy week one occurrence is a member of every grade-week clash it counts in and
    of each of their records, and a pair of events clashes at many dates: encoding it
    anew for every row made most of a moved event's sync. Keyed like the fingerprints'
    pieces (:func:`clash_fingerprint`): within one sync a key is one occurrence, as every
    clash it is given was found on the same index.
    """

    __slots__ = ("dicts", "texts")

    def __init__(self) -> None:
        self.dicts: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.texts: dict[tuple[str, str, str], str] = {}

    def of(self, occurrence: Occurrence) -> dict[str, Any]:
        found = self.dicts.get(occurrence.key)
        if found is None:
            found = self.dicts[occurrence.key] = occurrence_json(occurrence)
        return found

    def text(self, occurrence: Occurrence) -> str:
        found = self.texts.get(occurrence.key)
        if found is None:
            found = self.texts[occurrence.key] = json.dumps(self.of(occurrence), ensure_ascii=False)
        return found

    def list_text(self, occurrences: Iterable[Occurrence]) -> str:
        return _list_text(self.text(o) for o in occurrences)


def _version(text: str) -> list[dict[str, Any]]:
    """A stored version of a clash (its occurrences JSON); ``[]`` when none is known."""
    if not text:
        return []
    loaded = json.loads(text)
    return loaded if isinstance(loaded, list) else []


_COUNT_CHANGE = (
    "INSERT INTO records_meta VALUES ('changes', '1') "
    "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
)


class ClashChanged(UserError):
    """An approval of a version the clash no longer has (an event changed meanwhile)."""


def _wording(config: EngineConfig | None) -> Wording:
    if config is None:
        return Wording(dt.UTC)
    return Wording(config.zone, dict(config.calendar_names))


def _missing_columns(connection: sqlite3.Connection) -> list[tuple[str, str, str]]:
    present: dict[str, set[str]] = {}
    for table, _, _ in ADDED_COLUMNS:
        if table not in present:
            rows = connection.execute(f"PRAGMA table_info({table})")
            present[table] = {row[1] for row in rows}
    return [added for added in ADDED_COLUMNS if added[1] not in present[added[0]]]


# How many changes a history entry spells out; the rest are counted.
MAX_LISTED_CHANGES = 5


def _with_count(found: list[Change], text: tuple[str, str]) -> tuple[str, str]:
    if len(found) <= MAX_LISTED_CHANGES:
        return text
    return (f"{text[0]} Изменений всего: {len(found)}.", f"{text[1]} {len(found)} changes in all.")


class ClashRecords(ThreadLocalDatabase, PagedRecords):
    """``hub.sqlite``: hub data, so every commit reaches the disk before we answer.

    Records are per rule and pair of events (:mod:`calhub.store.record_groups`); the engine's
    clashes are their instances.
    """

    SCHEMA = SCHEMA
    SYNCHRONOUS = "FULL"

    # -- keeping records in step with the engine ---------------------------------------

    def active_ids_for(self, events: Iterable[tuple[str, str]]) -> set[str]:
        """Ids of unresolved records that involve any of these (calendar, uid) events."""
        ids: set[str] = set()
        for calendar, uid in set(events):
            rows = self.db.execute(
                "SELECT m.clash_id FROM clash_members m JOIN clashes c ON c.id = m.clash_id "
                "WHERE m.calendar=? AND m.uid=? AND c.resolved=0",
                (calendar, uid),
            )
            ids.update(row[0] for row in rows)
        return ids

    def approved(self, ids: Iterable[str]) -> set[str]:
        """Those of the record ``ids`` with an approval."""
        wanted = list(set(ids))
        if not wanted:
            return set()
        rows = self.db.execute(
            f"SELECT clash_id FROM approvals WHERE clash_id IN {IN_LIST}", (in_list(wanted),)
        )
        return {row[0] for row in rows}

    def on_record(self, clashes: Iterable[Clash]) -> set[str]:
        """Ids of the engine ``clashes`` already on record, unresolved, as an instance of
        their record (a group clash: as its record)."""
        wanted = list(clashes)
        if not wanted:
            return set()
        ids = in_list({c.id for c in wanted})
        rows = self.db.execute(
            f"SELECT i.instance FROM clash_instances i JOIN clashes c ON c.id = i.clash_id "
            f"WHERE i.instance IN {IN_LIST} AND c.resolved=0 "
            f"UNION SELECT id FROM clashes WHERE id IN {IN_LIST} AND resolved=0",
            (ids, ids),
        )
        return {row[0] for row in rows}

    def approved_clashes(self, clashes: Iterable[Clash]) -> set[str]:
        """Ids of the engine ``clashes`` whose record has an approval."""
        by_record: dict[str, set[str]] = {}
        for clash in clashes:
            by_record.setdefault(record_id(clash), set()).add(clash.id)
        found: set[str] = set()
        for rid in self.approved(by_record):
            found |= by_record[rid]
        return found

    def approved_as_is(self, clashes: Iterable[Clash]) -> set[str]:
        """Ids of the engine ``clashes`` the coordinator approved in exactly this version.

        That is their record's approval, or one set aside when an event changed, that
        holds each of the clash's occurrences with the time, venue and audience it has
        now (see :mod:`calhub.store.clash_versions`). Only records with an approval are read.
        """
        by_record: dict[str, list[Clash]] = {}
        for clash in clashes:
            by_record.setdefault(record_id(clash), []).append(clash)
        if not by_record:
            return set()
        records = in_list(by_record)
        rows = self.db.execute(
            f"SELECT clash_id, occurrences, 1 FROM approvals WHERE clash_id IN {IN_LIST} "
            f"UNION ALL SELECT clash_id, occurrences, 0 FROM past_approvals "
            f"WHERE clash_id IN {IN_LIST}",
            (records, records),
        )
        found: set[str] = set()
        current: dict[str, list[dict[str, Any]]] = {}
        for rid, text, is_current in rows:
            mine = by_record[rid]
            approved = _version(text)
            if not approved:
                # No version on record: approved as it is found (see _recheck_approval).
                if is_current:
                    found.update(c.id for c in mine)
                continue
            if rid not in current:
                seen = {o.key: o for c in mine for o in c.occurrences}
                current[rid] = [occurrence_json(o) for o in seen.values()]
            # What differs from this approved version, occurrence by occurrence.
            differ = {key(change.after) for change in changes(approved, current[rid])}
            for clash in mine:
                if not any(o.key in differ for o in clash.occurrences):
                    found.add(clash.id)
        return found

    def of_rules(self, ids: Iterable[str], rules: Iterable[str]) -> set[str]:
        """Those of ``ids`` whose clash is of one of ``rules``."""
        wanted, names = list(set(ids)), list(set(rules))
        if not wanted or not names:
            return set()
        rows = self.db.execute(
            f"SELECT id FROM clashes WHERE id IN {IN_LIST} AND rule IN {IN_LIST}",
            (in_list(wanted), in_list(names)),
        )
        return {row[0] for row in rows}

    def instance_spans(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Start and end of each instance of the unresolved records ``ids``, by instance
        (an engine clash id)."""
        spans = {}
        for clash_id in set(ids):
            rows = self.db.execute(
                "SELECT i.instance, i.start_at, i.end_at FROM clash_instances i "
                "JOIN clashes c ON c.id = i.clash_id WHERE i.clash_id=? AND c.resolved=0",
                (clash_id,),
            )
            spans.update({row[0]: (row[1], row[2]) for row in rows})
        return spans

    def _connect(self) -> sqlite3.Connection:
        connection = super()._connect()
        epoch = connection.execute("SELECT 1 FROM records_meta WHERE key='epoch'").fetchone()
        if epoch is None:
            # Which file this is: a restored or new hub.sqlite starts counting anew.
            connection.execute(
                "INSERT OR IGNORE INTO records_meta VALUES ('epoch', ?)", (secrets.token_hex(8),)
            )
        longest = "SELECT 1 FROM records_meta WHERE key='longest_instance'"
        if connection.execute(longest).fetchone() is None:
            # One statement, so no instance is written between the scan and the row (the
            # trigger keeps it from then on).
            connection.execute(
                "INSERT OR IGNORE INTO records_meta SELECT 'longest_instance', "
                "CAST(coalesce(max(julianday(end_at) - julianday(start_at)), 0) * 86400 "
                "AS INTEGER) + 1 FROM clash_instances"
            )
        if _missing_columns(connection):
            connection.execute("BEGIN IMMEDIATE")
            try:
                # Looked at again under the write lock: another connection may have just
                # migrated the file.
                missing = _missing_columns(connection)
                self._migrate(connection, missing)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        # After the migration: its triggers and index need the instances' newer columns.
        connection.executescript(record_marks.SCHEMA)
        return connection

    @staticmethod
    def _migrate(connection: sqlite3.Connection, missing: list[tuple[str, str, str]]) -> None:
        """An older hub.sqlite, migrated in place: rows without a fingerprint are rewritten
        once, approvals keep the version on record (see ADDED_COLUMNS), records of
        occurrences become records of events (calhub.store.records_migrate)."""
        for table, column, definition in missing:
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
        connection.execute(
            "UPDATE approvals SET occurrences = coalesce((SELECT c.occurrences "
            "FROM clashes c WHERE c.id = approvals.clash_id), '') WHERE occurrences = ''"
        )
        added = {(t, c) for t, c, _ in missing}
        # Records of occurrences (before instances), or overload records of one grade-week
        # (before instance fingerprints): regrouped into records of events.
        if added & {("clashes", "instances"), ("clash_instances", "fingerprint")}:
            group_existing(connection)
        if ("clash_instances", "mark") in added:
            record_marks.fill(connection)

    def sync(
        self,
        clashes: Iterable[Clash],
        stale: Iterable[str],
        wording: str = "",
        config: EngineConfig | None = None,
        audit: list[NewEntry] | None = None,
    ) -> tuple[int, int]:
        """Record ``clashes`` as present and resolve the ``stale`` record ids not among them.

        ``clashes`` holds every engine clash of each record it touches (the engine finds
        every clash of the events it checks). ``wording``: see :func:`clash_fingerprint`.
        ``config`` gives the time zone and calendar names of the messages (UTC and
        calendar ids without it). Returns (new, resolved) counts of records.

        ``audit``: entries of the write that changed these events. When the records change,
        they are written in the same transaction (one commit, one sync of the file, instead
        of two) and the list is emptied once it is committed; when nothing changes, no
        transaction is opened and they stay in the list for the caller to write.
        """
        pairs: list[Clash] = []
        weeks: list[Clash] = []
        for clash in clashes:
            (weeks if is_group_rule(clash.rule) else pairs).append(clash)
        stale = set(stale)
        stale_groups = self.of_rules(stale, GROUP_RULES)
        groups = group_clashes(pairs)
        stored = self._stored_states(groups)
        changed = []
        pieces: dict[tuple[str, str, str], bytes] = {}
        plan = self._group_plan(weeks, stale_groups, wording, pieces)
        for group in groups.values():
            fingerprint = group.fingerprint(
                [clash_fingerprint(clash, wording, pieces) for clash in group.clashes]
            )
            if stored.get(group.id) != (0, group.severity, fingerprint):
                changed.append((group, fingerprint))
        vanished = stale - stale_groups - set(groups)
        if not changed and not vanished and plan is None:
            # Most writes leave every clash as it was: no transaction, no fsync.
            return 0, 0
        stamp = utc_text()
        new = resolved = 0
        words = _wording(config)
        shown = _Shown()
        with self.transaction() as db:
            for group, fingerprint in changed:
                new += self._upsert(db, group, fingerprint, stamp, words, shown)
            for clash_id in vanished:
                resolved += _resolve(db, clash_id, stamp)
            if plan is not None:
                more, fewer = self._apply_group_plan(db, plan, stamp, words, shown)
                new, resolved = new + more, resolved + fewer
            if audit:
                add_entries(db, audit)
        if audit:
            audit.clear()  # committed with the records
        return new, resolved

    def _group_plan(
        self,
        weeks: list[Clash],
        stale_groups: set[str],
        wording: str,
        pieces: dict[tuple[str, str, str], bytes],
    ) -> _GroupPlan | None:
        """What a sync changes in the records of group rules, instance by instance.

        The instances looked at are the clashes found and every instance of the stale
        group records (the caller found again those that still exist, see
        ``ClashBook.refresh``); each moves to the record of its events, and the other
        instances of those records stay as they are. None when nothing changes.
        """
        found = {clash.id: clash for clash in weeks}
        plan = _GroupPlan(found)
        for cid, clash in found.items():
            plan.fingerprints[cid] = clash_fingerprint(clash, wording, pieces)
            plan.records[cid] = record_id(clash)
        base = (
            "SELECT i.instance, i.clash_id, i.fingerprint FROM clash_instances i "
            "JOIN clashes c ON c.id = i.clash_id WHERE c.resolved=0 AND "
        )
        for column, wanted in (("i.clash_id", sorted(stale_groups)), ("i.instance", list(found))):
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for instance, rid, fingerprint in self.db.execute(
                    f"{base}{column} IN ({marks})", chunk
                ):
                    plan.stored[instance] = (rid, fingerprint)
        plan.changed = [
            cid
            for cid in found
            if plan.stored.get(cid) != (plan.records[cid], plan.fingerprints[cid])
        ]
        plan.vanished = [instance for instance in plan.stored if instance not in found]
        for cid in plan.changed:
            plan.affected.add(plan.records[cid])
            if cid in plan.stored:
                plan.affected.add(plan.stored[cid][0])
        plan.affected.update(plan.stored[instance][0] for instance in plan.vanished)
        return plan if plan.affected else None

    def _apply_group_plan(
        self, db: sqlite3.Connection, plan: _GroupPlan, stamp: str, words: Wording, shown: _Shown
    ) -> tuple[int, int]:
        leaving: dict[str, set[str]] = {}
        for instance in [*plan.changed, *plan.vanished]:
            if instance in plan.stored:
                leaving.setdefault(plan.stored[instance][0], set()).add(instance)
        arriving: dict[str, list[Clash]] = {}
        for cid in plan.changed:
            arriving.setdefault(plan.records[cid], []).append(plan.found[cid])
        new = resolved = 0
        for rid in sorted(plan.affected):
            state = db.execute("SELECT resolved FROM clashes WHERE id=?", (rid,)).fetchone()
            kept = {
                row[0]
                for row in db.execute(
                    "SELECT instance FROM clash_instances WHERE clash_id=?", (rid,)
                )
            }
            if state is None or state[0]:
                # A resolved record keeps the instances it was last seen with; back, it
                # starts again from those found now.
                db.execute("DELETE FROM clash_instances WHERE clash_id=?", (rid,))
                kept = set()
            gone = leaving.get(rid, set())
            if not kept - gone and rid not in arriving:
                moved = gone and all(plan.records.get(i, rid) != rid for i in gone)
                if moved and _untouched(db, rid):
                    # Every grade-week went on in the record of another set of events, and
                    # nobody ever acted on this one: it is superseded, not history (else
                    # each edit in a busy week would leave one more record behind).
                    _forget(db, rid)
                    continue
                # Nothing left: resolved, shown as it was last.
                resolved += _resolve(db, rid, stamp)
                continue
            for instance in gone:
                db.execute(
                    "DELETE FROM clash_instances WHERE clash_id=? AND instance=?", (rid, instance)
                )
            mine = arriving.get(rid, [])
            db.executemany(
                record_marks.insert_sql(replace=True),
                [
                    (
                        rid,
                        clash.id,
                        min(shown.of(o)["start"] for o in clash.occurrences),
                        max(shown.of(o)["end"] for o in clash.occurrences),
                        shown.list_text(clash.occurrences),
                        plan.fingerprints[clash.id],
                        record_marks.keys_text(o.key for o in clash.occurrences),
                        rid,
                    )
                    for clash in mine
                ],
            )
            rows = db.execute(
                "SELECT start_at, end_at, instance, occurrences FROM clash_instances "
                "WHERE clash_id=? ORDER BY start_at, instance",
                (rid,),
            ).fetchall()
            # Every occurrence of the record once, a later instance's over an earlier one's;
            # those of the instances just written are at hand, the others are read back.
            written = {clash.id: clash for clash in mine}
            flat: dict[tuple[str, str, str], dict[str, Any]] = {}
            texts: dict[tuple[str, str, str], str | None] = {}
            for _, _, instance, text in rows:
                clash = written.get(instance)
                if clash is None:
                    for occurrence in json.loads(text):
                        flat[key(occurrence)] = occurrence
                        texts[key(occurrence)] = None
                    continue
                for member in clash.occurrences:
                    flat[member.key] = shown.of(member)
                    texts[member.key] = shown.text(member)
            order = sorted(flat)
            current = [flat[k] for k in order]
            current_text = _list_text(
                texts[k] or json.dumps(flat[k], ensure_ascii=False) for k in order
            )
            earliest = min(mine, key=lambda c: (c.earliest, c.id)) if mine else None
            new += self._write_row(
                db,
                rid,
                earliest,
                (current, current_text),
                (len(rows), rows[0][0], max(row[1] for row in rows)),
                "",
                stamp,
                words,
            )
        return new, resolved

    def _stored_states(self, ids: Mapping[str, Any]) -> dict[str, tuple[int, str, str]]:
        """(resolved, severity, fingerprint) of those of ``ids`` on record."""
        query = "SELECT id, resolved, severity, fingerprint FROM clashes"
        if len(ids) > _BULK_SYNC:
            rows: Iterable[Any] = self.db.execute(query)
        else:
            rows = [
                row
                for clash_id in ids
                for row in self.db.execute(f"{query} WHERE id=?", (clash_id,))
            ]
        return {row[0]: (row[1], row[2], row[3]) for row in rows if row[0] in ids}

    def _upsert(
        self,
        db: sqlite3.Connection,
        group: RecordGroup,
        fingerprint: str,
        stamp: str,
        words: Wording,
        shown: _Shown,
    ) -> int:
        occurrences = group.occurrences()
        current = ([shown.of(o) for o in occurrences], shown.list_text(occurrences))
        instances = group.instances()
        span = (len(instances), min(i.start for i in instances), max(i.end for i in instances))
        new = self._write_row(db, group.id, group, current, span, fingerprint, stamp, words)
        db.execute("DELETE FROM clash_instances WHERE clash_id=?", (group.id,))
        db.executemany(
            record_marks.insert_sql(),
            [
                (
                    group.id,
                    i.key,
                    i.start,
                    i.end,
                    shown.list_text(i.occurrences),
                    "",
                    record_marks.keys_text(o.key for o in i.occurrences),
                    group.id,
                )
                for i in instances
            ],
        )
        return new

    def _write_row(
        self,
        db: sqlite3.Connection,
        rid: str,
        source: RecordGroup | Clash | None,
        shown: tuple[list[dict[str, Any]], str],
        span: tuple[int, str, str],
        fingerprint: str,
        stamp: str,
        words: Wording,
    ) -> int:
        """Insert or update one record's row and members; 1 when it is new.

        ``source`` writes the messages (a group of pair clashes, or a group rule's first
        clash); None keeps those on record. ``shown``: the record's occurrences, and their
        JSON text."""
        current, current_text = shown
        count, first_start, last_end = span
        row = db.execute(
            "SELECT resolved, occurrences, message_ru, message_en, rule, severity "
            "FROM clashes WHERE id=?",
            (rid,),
        ).fetchone()
        if isinstance(source, RecordGroup):
            rule, severity = source.rule, source.severity
            message_ru, message_en = source.messages(words)
        elif source is not None:
            rule, severity = source.rule, source.severity
            message_ru, message_en = source.message_ru, source.message_en
        else:
            assert row is not None, rid
            message_ru, message_en, rule, severity = row[2:]
        values = (
            severity,
            first_start,
            current_text,
            message_ru,
            message_en,
            fingerprint,
            count,
            last_end,
            version(current),
            rid,
        )
        if row is None:
            db.execute(
                "INSERT INTO clashes (severity, first_start, occurrences, message_ru, "
                "message_en, fingerprint, instances, last_end, version, id, rule, resolved, "
                "detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                (*values, rule, stamp),
            )
            db.execute(
                "INSERT INTO history (clash_id, at, actor, action) VALUES (?, ?, ?, ?)",
                (rid, stamp, "calhub", "detected"),
            )
            add_notice(db, "detected", rid, "calhub", stamp)
        else:
            db.execute(
                "UPDATE clashes SET severity=?, resolved=0, resolved_at=NULL, first_start=?, "
                "occurrences=?, message_ru=?, message_en=?, fingerprint=?, instances=?, "
                "last_end=?, version=? WHERE id=?",
                values,
            )
            if row[0]:
                db.execute(
                    "INSERT INTO history (clash_id, at, actor, action) VALUES (?, ?, ?, ?)",
                    (rid, stamp, "calhub", "reappeared"),
                )
                add_notice(db, "reappeared", rid, "calhub", stamp)
            self._recheck_approval(db, rid, row[1], current, stamp, words)
        db.execute("DELETE FROM clash_members WHERE clash_id=?", (rid,))
        db.executemany(
            "INSERT OR IGNORE INTO clash_members VALUES (?, ?, ?)",
            {(rid, o["calendar"], o["uid"]) for o in current},
        )
        return 1 if row is None else 0

    def _recheck_approval(
        self,
        db: sqlite3.Connection,
        clash_id: str,
        previous: str,
        current: list[dict[str, Any]],
        stamp: str,
        words: Wording,
    ) -> None:
        """Keep, set aside or bring back the approval of a record that changed.

        A record is approved for the occurrences approved: one that moved, went elsewhere
        or to other classes, or joined it (its series was extended), lapses the approval;
        one that left it (fewer dates) keeps it. ``previous``: the record's occurrences
        before this write, as stored (read only when an approval comes back).
        """
        row = db.execute(
            "SELECT occurrences FROM approvals WHERE clash_id=?", (clash_id,)
        ).fetchone()
        lapsed: list[Change] = []
        if row is not None:
            approved = _version(row[0])
            if not approved:
                # Approved with no version on record (an old file whose clash row had no
                # occurrences): nothing to compare with, so it is for the version found now.
                db.execute(
                    "UPDATE approvals SET occurrences=? WHERE clash_id=?",
                    (_occurrences_text(current), clash_id),
                )
                return
            lapsed = changes(approved, current)
            if not lapsed:
                return
        past = db.execute(
            "SELECT id, approved_by, approved_at, comment, occurrences FROM past_approvals "
            "WHERE clash_id=? ORDER BY id DESC",
            (clash_id,),
        ).fetchall()
        again = next((p for p in past if not changes(_version(p[4]), current)), None)
        if row is None and again is None:
            return
        if row is not None:
            db.execute(
                "INSERT INTO past_approvals (clash_id, approved_by, approved_at, comment, "
                "occurrences) SELECT clash_id, approved_by, approved_at, comment, occurrences "
                "FROM approvals WHERE clash_id=?",
                (clash_id,),
            )
            db.execute("DELETE FROM approvals WHERE clash_id=?", (clash_id,))
        if again is None:
            action = "changed"
            message_ru, message_en = _with_count(
                lapsed, lapsed_text(lapsed[:MAX_LISTED_CHANGES], words)
            )
            logger.info(
                "Clash %s open again: its approval was for another version (%s)",
                clash_id,
                ", ".join(sorted({change.kind for change in lapsed})),
            )
        else:
            action = "reapproved"
            db.execute("DELETE FROM past_approvals WHERE id=?", (again[0],))
            db.execute(
                "INSERT INTO approvals (clash_id, approved_by, approved_at, comment, "
                "occurrences) VALUES (?, ?, ?, ?, ?)",
                (clash_id, *again[1:]),
            )
            back = changes(_version(previous), current)
            message_ru, message_en = _with_count(
                back, reapproved_text(back[:MAX_LISTED_CHANGES], words, again[1], again[2])
            )
            logger.info(
                "Clash %s approved again: back to the version %s approved", clash_id, again[1]
            )
        db.execute(
            "INSERT INTO history (clash_id, at, actor, action, message_ru, message_en) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (clash_id, stamp, "calhub", action, message_ru, message_en),
        )
        if action == "changed":
            add_notice(
                db, "changed", clash_id, "calhub", stamp, {"ru": message_ru, "en": message_en}
            )

    def all_active_ids(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT id FROM clashes WHERE resolved=0")}

    # -- forgetting --------------------------------------------------------------------

    def purge(
        self,
        retention_days: int,
        alive: Callable[[set[tuple[str, str]]], set[tuple[str, str]]],
        now: dt.datetime | None = None,
    ) -> int:
        """Delete records resolved more than ``retention_days`` ago whose events are all
        gone (``alive`` tells which of some (calendar, uid) events still exist), with their
        instances, approvals and history. A record with a live event stays, approvals and
        all: its clash may come back. Returns how many were deleted."""
        moment = now or dt.datetime.now(dt.UTC)
        cutoff = utc_text(moment - dt.timedelta(days=retention_days))
        events: dict[str, set[tuple[str, str]]] = {}
        rows = self.db.execute(PURGE_CANDIDATES, (cutoff,))
        for clash_id, calendar, uid in rows:
            mine = events.setdefault(clash_id, set())
            if calendar is not None:
                mine.add((calendar, uid))
        if not events:
            return 0
        living = alive(set().union(*events.values()))
        doomed = [clash_id for clash_id, mine in events.items() if not mine & living]
        deleted = 0
        for start in range(0, len(doomed), 500):
            chunk = doomed[start : start + 500]
            marks = ",".join("?" * len(chunk))
            with self.transaction() as db:
                # Still resolved and old under the write lock: a write may have brought one
                # back meanwhile.
                ids = [
                    row[0]
                    for row in db.execute(
                        f"SELECT id FROM clashes WHERE id IN ({marks}) AND resolved=1 "
                        "AND resolved_at < ?",
                        [*chunk, cutoff],
                    )
                ]
                if not ids:
                    continue
                these = ",".join("?" * len(ids))
                for table in (
                    "clash_instances",
                    "clash_members",
                    "approvals",
                    "past_approvals",
                    "history",
                    "move_requests",
                ):
                    db.execute(f"DELETE FROM {table} WHERE clash_id IN ({these})", ids)
                db.execute(f"DELETE FROM clashes WHERE id IN ({these})", ids)
                deleted += len(ids)
        if deleted:
            logger.info(
                "Purged %d clash records resolved over %d days ago whose events are gone",
                deleted,
                retention_days,
            )
        return deleted

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that counts itself (see :meth:`state`)."""
        with super().transaction() as db:
            yield db
            db.execute(_COUNT_CHANGE)

    def state(self) -> str:
        """Which version of the records this is: the file's epoch and how many write
        transactions it has seen. Equal states mean equal records."""
        rows = dict(self.db.execute("SELECT key, value FROM records_meta"))
        return f"{rows.get('epoch', '')}:{rows.get('changes', '0')}"

    # -- people's decisions ----------------------------------------------------------

    def approve(
        self,
        clash_id: str,
        actor: str,
        comment: str,
        shown: str | None = None,
        origin: Origin | None = None,
    ) -> ClashRecord:
        """Approve the record as it is, every occurrence of it; with ``shown`` (a record's
        ``version``, see :func:`calhub.store.clash_versions.version`) only if the events still
        have the time, venue and audience shown, else :class:`ClashChanged`."""
        comment = comment.strip()
        if not comment:
            raise UserError("An approval needs a comment.", hint="Say why the clash is acceptable.")
        stamp = utc_text()
        with self.transaction() as db:
            row = db.execute(
                "SELECT occurrences, version FROM clashes WHERE id=?", (clash_id,)
            ).fetchone()
            if row is None:
                raise NoSuchClash(clash_id)
            if shown is not None and shown != (row[1] or version(_version(row[0]))):
                raise ClashChanged(
                    f"Clash {clash_id} changed after it was shown; it was not approved.",
                    hint="Look at its events again and approve the new version.",
                )
            # The version approved is the one on record: what the coordinator is shown.
            db.execute(
                "INSERT OR REPLACE INTO approvals (clash_id, approved_by, approved_at, comment, "
                "occurrences) VALUES (?, ?, ?, ?, ?)",
                (clash_id, actor, stamp, comment, row[0]),
            )
            db.execute(
                "INSERT INTO history (clash_id, at, actor, action, comment) VALUES (?, ?, ?, ?, ?)",
                (clash_id, stamp, actor, "approved", comment),
            )
            add_notice(db, "approved", clash_id, actor, stamp, {"comment": comment})
            subject = _clash_subject(row[0])
            add_entry(
                db,
                decision(
                    actor, "approved", origin, clash_id=clash_id, subject=subject, comment=comment
                ),
            )
        record = self.get(clash_id)
        assert record is not None
        return record

    def reopen(
        self, clash_id: str, actor: str, comment: str = "", origin: Origin | None = None
    ) -> ClashRecord:
        stamp = utc_text()
        with self.transaction() as db:
            row = db.execute("SELECT occurrences FROM clashes WHERE id=?", (clash_id,)).fetchone()
            if row is None:
                raise NoSuchClash(clash_id)
            db.execute("DELETE FROM approvals WHERE clash_id=?", (clash_id,))
            # A coordinator's "no" withdraws every version of the clash approved before.
            db.execute("DELETE FROM past_approvals WHERE clash_id=?", (clash_id,))
            db.execute(
                "INSERT INTO history (clash_id, at, actor, action, comment) VALUES (?, ?, ?, ?, ?)",
                (clash_id, stamp, actor, "reopened", comment.strip()),
            )
            add_notice(db, "reopened", clash_id, actor, stamp, {"comment": comment.strip()})
            add_entry(
                db,
                decision(
                    actor,
                    "reopened",
                    origin,
                    clash_id=clash_id,
                    subject=_clash_subject(row[0]),
                    comment=comment.strip(),
                ),
            )
        record = self.get(clash_id)
        assert record is not None
        return record


def _clash_subject(occurrences_text: str) -> str:
    """A clash's events in a few words for its audit entry: ``bfu «Лекция» × kgtu «…»``."""
    events = _version(occurrences_text)
    named = [f"{o.get('calendar', '')} «{o.get('summary', '')}»" for o in events[:3]]
    return " × ".join(named) + (f" (+{len(events) - 3})" if len(events) > 3 else "")


def _resolve(db: sqlite3.Connection, clash_id: str, stamp: str) -> int:
    cursor = db.execute(
        "UPDATE clashes SET resolved=1, resolved_at=? WHERE id=? AND resolved=0",
        (stamp, clash_id),
    )
    if not cursor.rowcount:
        return 0
    db.execute(
        "INSERT INTO history (clash_id, at, actor, action) VALUES (?, ?, ?, ?)",
        (clash_id, stamp, "calhub", "resolved"),
    )
    return 1


def _untouched(db: sqlite3.Connection, clash_id: str) -> bool:
    """Whether no one but calhub ever acted on a record (no approval, no decision)."""
    row = db.execute(
        "SELECT EXISTS (SELECT 1 FROM approvals WHERE clash_id=:id) "
        "OR EXISTS (SELECT 1 FROM past_approvals WHERE clash_id=:id) "
        "OR EXISTS (SELECT 1 FROM history WHERE clash_id=:id AND actor != 'calhub')",
        {"id": clash_id},
    ).fetchone()
    return not row[0]


def _forget(db: sqlite3.Connection, clash_id: str) -> None:
    for table in ("clash_instances", "clash_members", "history", "move_requests"):
        db.execute(f"DELETE FROM {table} WHERE clash_id=?", (clash_id,))
    db.execute("DELETE FROM clashes WHERE id=?", (clash_id,))


@dataclass(slots=True)
class _GroupPlan:
    """A sync's changes to group-rule records: see :meth:`ClashRecords._group_plan`."""

    found: dict[str, Clash]
    fingerprints: dict[str, str] = field(default_factory=dict)
    records: dict[str, str] = field(default_factory=dict)  # instance -> its record now
    stored: dict[str, tuple[str, str]] = field(default_factory=dict)  # -> (record, print)
    changed: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    affected: set[str] = field(default_factory=set)
