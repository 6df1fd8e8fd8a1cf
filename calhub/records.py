"""Clash records, approvals and their history: hub data in ``hub.sqlite``, not cache.

A clash record keeps its id, when it was first detected and what people did about it across
restarts and index rebuilds. Its status is ``open``, ``approved`` (a coordinator accepted
it, with a comment) or ``resolved`` (it disappeared by itself: an event moved, was
cancelled or deleted). An approval stays attached to the clash id, so a clash that comes
back after being resolved comes back approved.

An approval is for the version of the clash the coordinator saw: the time, venue and
audience of each of its events (kept with the approval, see :mod:`calhub.clash_versions`).
When a sync finds an approved clash with an event moved, sent to another venue or to other
classes, the approval no longer applies: it is put aside (``past_approvals``), the clash is
open again and the history says what changed (``changed``). A change of title or
description keeps it. Should the events later be back to a version the coordinator
approved, that approval applies again (``reapproved``); a coordinator's reopen forgets
every approved version of the clash. A write to a ``reject`` calendar is refused when it
would change an approved hard clash into a version nobody approved
(:meth:`ClashRecords.approved_as_is`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from calhub import __version__
from calhub.clash_versions import changes, lapsed_text, reapproved_text, version
from calhub.engine import Clash, EngineConfig, Occurrence
from calhub.engine.messages import Wording
from calhub.errors import UserError
from calhub.sqlitedb import ThreadLocalDatabase

logger = logging.getLogger(__name__)

STATUSES = ("open", "approved", "resolved")

SCHEMA = """
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
    fingerprint TEXT NOT NULL DEFAULT ''
);
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
"""

# Columns added to hub.sqlite after its first release: (table, column, definition).
# ``approvals.occurrences`` is the approved version; an approval from before it is for the
# version on record when the file is migrated (it is the one the coordinator last saw).
ADDED_COLUMNS = (
    ("clashes", "fingerprint", "TEXT NOT NULL DEFAULT ''"),
    ("approvals", "occurrences", "TEXT NOT NULL DEFAULT ''"),
    ("history", "message_ru", "TEXT NOT NULL DEFAULT ''"),
    ("history", "message_en", "TEXT NOT NULL DEFAULT ''"),
)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def occurrence_json(occurrence: Occurrence) -> dict[str, Any]:
    return {
        "calendar": occurrence.calendar,
        "uid": occurrence.uid,
        "recurrence_id": occurrence.recurrence_id or None,
        "summary": occurrence.summary,
        "start": _iso(occurrence.start),
        "end": _iso(occurrence.end),
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


def _version(text: str) -> list[dict[str, Any]]:
    """A stored version of a clash (its occurrences JSON); ``[]`` when none is known."""
    if not text:
        return []
    loaded = json.loads(text)
    return loaded if isinstance(loaded, list) else []


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


@dataclass(frozen=True, slots=True)
class Filters:
    status: str | None = None
    calendar: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    severity: str | None = None


class ClashRecords(ThreadLocalDatabase):
    """``hub.sqlite``: hub data, so every commit reaches the disk before we answer."""

    SCHEMA = SCHEMA
    SYNCHRONOUS = "FULL"

    # -- keeping records in step with the engine ---------------------------------------

    def active_ids_for(self, events: Iterable[tuple[str, str]]) -> set[str]:
        """Ids of unresolved clashes that involve any of these (calendar, uid) events."""
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
        wanted = list(set(ids))
        if not wanted:
            return set()
        marks = ",".join("?" * len(wanted))
        rows = self.db.execute(
            f"SELECT clash_id FROM approvals WHERE clash_id IN ({marks})", wanted
        )
        return {row[0] for row in rows}

    def approved_as_is(self, clashes: Iterable[Clash]) -> set[str]:
        """Ids of ``clashes`` the coordinator approved in exactly this version.

        That is the clash's approval, or one set aside when an event changed, whose events
        have the time, venue and audience these have (see :mod:`calhub.clash_versions`).
        Only clashes with an approval have their occurrences read.
        """
        wanted = {clash.id: clash for clash in clashes}
        if not wanted:
            return set()
        marks = ",".join("?" * len(wanted))
        rows = self.db.execute(
            f"SELECT clash_id, occurrences, 1 FROM approvals WHERE clash_id IN ({marks}) "
            f"UNION ALL SELECT clash_id, occurrences, 0 FROM past_approvals "
            f"WHERE clash_id IN ({marks})",
            [*wanted, *wanted],
        )
        found: set[str] = set()
        current: dict[str, list[dict[str, Any]]] = {}
        for clash_id, text, is_current in rows:
            if clash_id in found:
                continue
            approved = _version(text)
            if not approved:
                # No version on record: approved as it is found (see _recheck_approval).
                if is_current:
                    found.add(clash_id)
                continue
            if clash_id not in current:
                current[clash_id] = [occurrence_json(o) for o in wanted[clash_id].occurrences]
            if not changes(approved, current[clash_id]):
                found.add(clash_id)
        return found

    def of_rules(self, ids: Iterable[str], rules: Iterable[str]) -> set[str]:
        """Those of ``ids`` whose clash is of one of ``rules``."""
        wanted, names = list(set(ids)), list(set(rules))
        if not wanted or not names:
            return set()
        rows = self.db.execute(
            f"SELECT id FROM clashes WHERE id IN ({','.join('?' * len(wanted))}) "
            f"AND rule IN ({','.join('?' * len(names))})",
            [*wanted, *names],
        )
        return {row[0] for row in rows}

    def active_occurrence_spans(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """For each clash id, the earliest start and latest end of its occurrences."""
        spans = {}
        for clash_id in set(ids):
            row = self.db.execute(
                "SELECT occurrences FROM clashes WHERE id=?", (clash_id,)
            ).fetchone()
            if row is not None:
                occurrences = json.loads(row[0])
                spans[clash_id] = (
                    min(o["start"] for o in occurrences),
                    max(o["end"] for o in occurrences),
                )
        return spans

    def _connect(self) -> sqlite3.Connection:
        connection = super()._connect()
        if _missing_columns(connection):
            # An older hub.sqlite, migrated in place: rows without a fingerprint are
            # rewritten once, approvals keep the version on record (see ADDED_COLUMNS).
            connection.execute("BEGIN IMMEDIATE")
            try:
                for table, column, definition in _missing_columns(connection):
                    connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
                connection.execute(
                    "UPDATE approvals SET occurrences = coalesce((SELECT c.occurrences "
                    "FROM clashes c WHERE c.id = approvals.clash_id), '') WHERE occurrences = ''"
                )
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        return connection

    def sync(
        self,
        clashes: Iterable[Clash],
        stale: Iterable[str],
        wording: str = "",
        config: EngineConfig | None = None,
    ) -> tuple[int, int]:
        """Record ``clashes`` as present and resolve the ``stale`` ids not among them.

        ``wording``: see :func:`clash_fingerprint`. ``config`` gives the time zone and
        calendar names of the history entries about changed approved clashes (UTC and
        calendar ids without it). Returns (new, resolved) counts.
        """
        present = {clash.id: clash for clash in clashes}
        stored = self._stored_states(present)
        changed = []
        pieces: dict[tuple[str, str, str], bytes] = {}
        for clash in present.values():
            fingerprint = clash_fingerprint(clash, wording, pieces)
            if stored.get(clash.id) != (0, clash.severity, fingerprint):
                changed.append((clash, fingerprint))
        vanished = set(stale) - set(present)
        if not changed and not vanished:
            # Most writes leave every clash as it was: no transaction, no fsync.
            return 0, 0
        stamp = now_iso()
        new = resolved = 0
        words = _wording(config)
        with self.transaction() as db:
            for clash, fingerprint in changed:
                new += self._upsert(db, clash, fingerprint, stamp, words)
            for clash_id in vanished:
                cursor = db.execute(
                    "UPDATE clashes SET resolved=1, resolved_at=? WHERE id=? AND resolved=0",
                    (stamp, clash_id),
                )
                if cursor.rowcount:
                    resolved += 1
                    db.execute(
                        "INSERT INTO history (clash_id, at, actor, action) VALUES (?, ?, ?, ?)",
                        (clash_id, stamp, "calhub", "resolved"),
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
        self, db: sqlite3.Connection, clash: Clash, fingerprint: str, stamp: str, words: Wording
    ) -> int:
        current = [occurrence_json(o) for o in clash.occurrences]
        occurrences = _occurrences_text(current)
        first_start = _iso(min(o.start for o in clash.occurrences))
        row = db.execute(
            "SELECT resolved, occurrences FROM clashes WHERE id=?", (clash.id,)
        ).fetchone()
        if row is None:
            db.execute(
                "INSERT INTO clashes (id, rule, severity, resolved, first_start, detected_at, "
                "occurrences, message_ru, message_en, fingerprint) "
                "VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
                (
                    clash.id,
                    clash.rule,
                    clash.severity,
                    first_start,
                    stamp,
                    occurrences,
                    clash.message_ru,
                    clash.message_en,
                    fingerprint,
                ),
            )
            db.execute(
                "INSERT INTO history (clash_id, at, actor, action) VALUES (?, ?, ?, ?)",
                (clash.id, stamp, "calhub", "detected"),
            )
        else:
            db.execute(
                "UPDATE clashes SET severity=?, resolved=0, resolved_at=NULL, first_start=?, "
                "occurrences=?, message_ru=?, message_en=?, fingerprint=? WHERE id=?",
                (
                    clash.severity,
                    first_start,
                    occurrences,
                    clash.message_ru,
                    clash.message_en,
                    fingerprint,
                    clash.id,
                ),
            )
            if row[0]:
                db.execute(
                    "INSERT INTO history (clash_id, at, actor, action) VALUES (?, ?, ?, ?)",
                    (clash.id, stamp, "calhub", "reappeared"),
                )
            self._recheck_approval(db, clash.id, _version(row[1]), current, stamp, words)
        db.execute("DELETE FROM clash_members WHERE clash_id=?", (clash.id,))
        db.executemany(
            "INSERT OR IGNORE INTO clash_members VALUES (?, ?, ?)",
            {(clash.id, o.calendar, o.uid) for o in clash.occurrences},
        )
        return 1 if row is None else 0

    def _recheck_approval(
        self,
        db: sqlite3.Connection,
        clash_id: str,
        previous: list[dict[str, Any]],
        current: list[dict[str, Any]],
        stamp: str,
        words: Wording,
    ) -> None:
        """Keep, set aside or bring back the approval of a clash whose record changed."""
        row = db.execute(
            "SELECT occurrences FROM approvals WHERE clash_id=?", (clash_id,)
        ).fetchone()
        lapsed: list[Any] = []
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
            message_ru, message_en = lapsed_text(lapsed, words)
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
            message_ru, message_en = reapproved_text(
                changes(previous, current), words, again[1], again[2]
            )
            logger.info(
                "Clash %s approved again: back to the version %s approved", clash_id, again[1]
            )
        db.execute(
            "INSERT INTO history (clash_id, at, actor, action, message_ru, message_en) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (clash_id, stamp, "calhub", action, message_ru, message_en),
        )

    def all_active_ids(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT id FROM clashes WHERE resolved=0")}

    # -- people's decisions ----------------------------------------------------------

    def approve(
        self, clash_id: str, actor: str, comment: str, shown: str | None = None
    ) -> dict[str, Any]:
        """Approve the clash as it is on record; with ``shown`` (a record's ``version``, see
        :func:`calhub.clash_versions.version`) only if the events still have the time,
        venue and audience shown, else :class:`ClashChanged`."""
        comment = comment.strip()
        if not comment:
            raise UserError("An approval needs a comment.", hint="Say why the clash is acceptable.")
        stamp = now_iso()
        with self.transaction() as db:
            row = db.execute("SELECT occurrences FROM clashes WHERE id=?", (clash_id,)).fetchone()
            if row is None:
                raise KeyError(clash_id)
            if shown is not None and shown != version(_version(row[0])):
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
        record = self.get(clash_id)
        assert record is not None
        return record

    def reopen(self, clash_id: str, actor: str, comment: str = "") -> dict[str, Any]:
        stamp = now_iso()
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM clashes WHERE id=?", (clash_id,)).fetchone() is None:
                raise KeyError(clash_id)
            db.execute("DELETE FROM approvals WHERE clash_id=?", (clash_id,))
            # A coordinator's "no" withdraws every version of the clash approved before.
            db.execute("DELETE FROM past_approvals WHERE clash_id=?", (clash_id,))
            db.execute(
                "INSERT INTO history (clash_id, at, actor, action, comment) VALUES (?, ?, ?, ?, ?)",
                (clash_id, stamp, actor, "reopened", comment.strip()),
            )
        record = self.get(clash_id)
        assert record is not None
        return record

    # -- reading -----------------------------------------------------------------------

    def get(self, clash_id: str) -> dict[str, Any] | None:
        rows = self.query(Filters(), ids=[clash_id])
        return rows[0] if rows else None

    def history(self, clash_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        sql = "SELECT clash_id, at, actor, action, comment, message_ru, message_en FROM history"
        args: list[Any] = []
        if clash_id is not None:
            sql += " WHERE clash_id=?"
            args.append(clash_id)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [
            {
                "clash_id": r[0],
                "at": r[1],
                "actor": r[2],
                "action": r[3],
                "comment": r[4],
                # What calhub itself says about the entry (a changed approved clash).
                "message": {"ru": r[5], "en": r[6]},
            }
            for r in self.db.execute(sql, args)
        ]

    def query(self, filters: Filters, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT c.id, c.rule, c.severity, c.resolved, c.detected_at, c.resolved_at, "
            "c.occurrences, c.message_ru, c.message_en, a.approved_by, a.approved_at, a.comment "
            "FROM clashes c LEFT JOIN approvals a ON a.clash_id = c.id WHERE 1=1"
        )
        args: list[Any] = []
        if ids is not None:
            wanted = list(ids)
            sql += f" AND c.id IN ({','.join('?' * len(wanted))})"
            args.extend(wanted)
        if filters.status == "resolved":
            sql += " AND c.resolved=1"
        elif filters.status == "approved":
            sql += " AND c.resolved=0 AND a.clash_id IS NOT NULL"
        elif filters.status == "open":
            sql += " AND c.resolved=0 AND a.clash_id IS NULL"
        if filters.severity:
            sql += " AND c.severity=?"
            args.append(filters.severity)
        if filters.calendar:
            sql += " AND c.id IN (SELECT clash_id FROM clash_members WHERE calendar=?)"
            args.append(filters.calendar)
        sql += " ORDER BY c.first_start, c.id"
        records = [_record(row) for row in self.db.execute(sql, args)]
        if filters.start or filters.end:
            records = [r for r in records if _in_window(r, filters.start, filters.end)]
        return records


def _record(row: tuple) -> dict[str, Any]:
    (clash_id, rule, severity, resolved, detected, resolved_at, occurrences) = row[:7]
    message_ru, message_en, approved_by, approved_at, comment = row[7:]
    status = "resolved" if resolved else "approved" if approved_by else "open"
    stored = json.loads(occurrences)
    approval: Mapping[str, Any] | None = None
    if approved_by:
        approval = {"by": approved_by, "at": approved_at, "comment": comment}
    return {
        "id": clash_id,
        "rule": rule,
        "severity": severity,
        "status": status,
        "detected_at": detected,
        "resolved_at": resolved_at,
        "approval": approval,
        "message": {"ru": message_ru, "en": message_en},
        "occurrences": stored,
        "version": version(stored),
    }


def _in_window(
    record: Mapping[str, Any], start: dt.datetime | None, end: dt.datetime | None
) -> bool:
    """A clash is in a window when any of its occurrences overlaps it."""
    for occurrence in record["occurrences"]:
        o_start = dt.datetime.fromisoformat(occurrence["start"])
        o_end = dt.datetime.fromisoformat(occurrence["end"])
        if (end is None or o_start < end) and (start is None or o_end > start):
            return True
    return False
