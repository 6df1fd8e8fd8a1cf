"""Clash records, approvals and their history: hub data in ``hub.sqlite``, not cache.

A clash record keeps its id, when it was first detected and what people did about it across
restarts and index rebuilds. Its status is ``open``, ``approved`` (a coordinator accepted
it, with a comment) or ``resolved`` (it disappeared by itself: an event moved, was
cancelled or deleted). An approval stays attached to the clash id, so a clash that comes
back after being resolved comes back approved.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from calhub import __version__
from calhub.engine import Clash, Occurrence
from calhub.errors import UserError
from calhub.sqlitedb import ThreadLocalDatabase

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
    comment TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    clash_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS history_clash ON history (clash_id);
"""


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


def _occurrences_text(clash: Clash) -> str:
    return json.dumps([occurrence_json(o) for o in clash.occurrences], ensure_ascii=False)


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
        columns = {row[1] for row in connection.execute("PRAGMA table_info(clashes)")}
        if "fingerprint" not in columns:
            # hub.sqlite from before fingerprints: rows without one are rewritten once.
            connection.execute("BEGIN IMMEDIATE")
            columns = {row[1] for row in connection.execute("PRAGMA table_info(clashes)")}
            if "fingerprint" not in columns:
                connection.execute(
                    "ALTER TABLE clashes ADD COLUMN fingerprint TEXT NOT NULL DEFAULT ''"
                )
            connection.execute("COMMIT")
        return connection

    def sync(
        self, clashes: Iterable[Clash], stale: Iterable[str], wording: str = ""
    ) -> tuple[int, int]:
        """Record ``clashes`` as present and resolve the ``stale`` ids not among them.

        ``wording``: see :func:`clash_fingerprint`. Returns (new, resolved) counts.
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
        with self.transaction() as db:
            for clash, fingerprint in changed:
                new += self._upsert(db, clash, fingerprint, stamp)
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

    def _upsert(self, db: sqlite3.Connection, clash: Clash, fingerprint: str, stamp: str) -> int:
        occurrences = _occurrences_text(clash)
        first_start = _iso(min(o.start for o in clash.occurrences))
        row = db.execute("SELECT resolved FROM clashes WHERE id=?", (clash.id,)).fetchone()
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
        db.execute("DELETE FROM clash_members WHERE clash_id=?", (clash.id,))
        db.executemany(
            "INSERT OR IGNORE INTO clash_members VALUES (?, ?, ?)",
            {(clash.id, o.calendar, o.uid) for o in clash.occurrences},
        )
        return 1 if row is None else 0

    def all_active_ids(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT id FROM clashes WHERE resolved=0")}

    # -- people's decisions ----------------------------------------------------------

    def approve(self, clash_id: str, actor: str, comment: str) -> dict[str, Any]:
        comment = comment.strip()
        if not comment:
            raise UserError("An approval needs a comment.", hint="Say why the clash is acceptable.")
        stamp = now_iso()
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM clashes WHERE id=?", (clash_id,)).fetchone() is None:
                raise KeyError(clash_id)
            db.execute(
                "INSERT OR REPLACE INTO approvals VALUES (?, ?, ?, ?)",
                (clash_id, actor, stamp, comment),
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
        sql = "SELECT clash_id, at, actor, action, comment FROM history"
        args: list[Any] = []
        if clash_id is not None:
            sql += " WHERE clash_id=?"
            args.append(clash_id)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [
            {"clash_id": r[0], "at": r[1], "actor": r[2], "action": r[3], "comment": r[4]}
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
        "occurrences": json.loads(occurrences),
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
