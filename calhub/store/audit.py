"""The audit log: who created, changed, moved or deleted which event, and who decided what
(approved or reopened a clash, asked for a move, issued or revoked a feed, added or changed
an account). Hub data in ``hub.sqlite``, not cache: backed up, restored, kept
``[audit] keep_days`` days (:meth:`AuditLog.prune`).

An entry never holds a password, a token or a feed's address: the writers give it a login,
an IP address, what was done and a short summary of the event before and after (title,
start, end, venue, audience), never the whole iCalendar text.

A decision is written by :func:`add_entry` in the same transaction as the decision itself
(the approval in :mod:`calhub.store.records`, the feed in :mod:`calhub.store.feeds`), as the
outbox's notices are: a decision on record always has its entry, and an entry always its
decision. Event writes are recorded by the DAV layer's write hooks (:mod:`calhub.dav.hooks`).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from calhub.store.sqlitedb import ThreadLocalDatabase, utc_text

__all__ = [
    "ACTIONS",
    "SCHEMA",
    "AuditEntry",
    "AuditFilters",
    "AuditLog",
    "EventSummary",
    "NewEntry",
    "Origin",
    "add_entry",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    via TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    calendar TEXT NOT NULL DEFAULT '',
    uid TEXT NOT NULL DEFAULT '',
    clash_id TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    before TEXT NOT NULL DEFAULT '',
    after TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
CREATE INDEX IF NOT EXISTS audit_log_event ON audit_log (calendar, uid);
CREATE INDEX IF NOT EXISTS audit_log_clash ON audit_log (clash_id);
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor);
"""

# What an entry says was done (the dashboard and the CLI name each in words).
ACTIONS = (
    "created",
    "changed",
    "moved",
    "deleted",
    "imported",
    "approved",
    "reopened",
    "move-requested",
    "move-answered",
    "feed-created",
    "feed-revoked",
    "account-added",
    "account-changed",
    "account-removed",
    "source-added",
    "source-removed",
    "refused-dismissed",
)

# Comments and summaries are people's words: bounded, so one entry stays small.
_TEXT_LIMIT = 500


@dataclass(frozen=True, slots=True)
class EventSummary:
    """An event in a few words: its first occurrence's title, times (UTC text), venue and
    audience, and how many occurrences it has."""

    title: str
    start: str
    end: str
    venue: str = ""
    audience: str = ""
    occurrences: int = 1

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "venue": self.venue,
            "audience": self.audience,
            "occurrences": self.occurrences,
        }

    @classmethod
    def from_json(cls, data: Any) -> EventSummary | None:
        if not isinstance(data, dict):
            return None
        return cls(
            title=str(data.get("title", "")),
            start=str(data.get("start", "")),
            end=str(data.get("end", "")),
            venue=str(data.get("venue", "")),
            audience=str(data.get("audience", "")),
            occurrences=int(data.get("occurrences", 1)),
        )


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a decision came from, for its entry: the client's address and the way in."""

    address: str = ""
    via: str = ""


NO_ORIGIN = Origin()


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to write (``at``: now when empty)."""

    actor: str
    action: str
    address: str = ""
    via: str = ""
    calendar: str = ""
    uid: str = ""
    clash_id: str = ""
    subject: str = ""
    before: EventSummary | None = None
    after: EventSummary | None = None
    comment: str = ""
    at: str = ""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An entry as stored."""

    id: int
    at: str
    actor: str
    address: str
    via: str
    action: str
    calendar: str
    uid: str
    clash_id: str
    subject: str
    before: EventSummary | None
    after: EventSummary | None
    comment: str

    @property
    def when(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.at)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "actor": self.actor,
            "address": self.address,
            "via": self.via,
            "action": self.action,
            "calendar": self.calendar,
            "uid": self.uid,
            "clash_id": self.clash_id,
            "subject": self.subject,
            "before": None if self.before is None else self.before.as_json(),
            "after": None if self.after is None else self.after.as_json(),
            "comment": self.comment,
        }


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """Which entries to read: ``start``/``end`` (aware times, end exclusive), one calendar,
    one actor, one event UID, one clash; ``calendars``: only entries of these calendars
    (a partner's own; None: every entry)."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    calendar: str = ""
    actor: str = ""
    uid: str = ""
    clash_id: str = ""
    calendars: frozenset[str] | None = field(default=None)

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        values: list[Any] = []
        if self.start is not None:
            clauses.append("at >= ?")
            values.append(utc_text(self.start))
        if self.end is not None:
            clauses.append("at < ?")
            values.append(utc_text(self.end))
        for column, value in (
            ("calendar", self.calendar),
            ("actor", self.actor),
            ("uid", self.uid),
            ("clash_id", self.clash_id),
        ):
            if value:
                clauses.append(f"{column} = ?")
                values.append(value)
        if self.calendars is not None:
            clauses.append("calendar IN (SELECT value FROM json_each(?))")
            values.append(json.dumps(sorted(self.calendars)))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", values


def _summary_text(summary: EventSummary | None) -> str:
    if summary is None:
        return ""
    data = summary.as_json()
    for key in ("title", "venue", "audience"):
        data[key] = data[key][:_TEXT_LIMIT]
    return json.dumps(data, ensure_ascii=False)


def _summary(text: str) -> EventSummary | None:
    if not text:
        return None
    try:
        return EventSummary.from_json(json.loads(text))
    except (ValueError, TypeError):
        return None


def decision(
    actor: str,
    action: str,
    origin: Origin | None,
    *,
    calendar: str = "",
    uid: str = "",
    clash_id: str = "",
    subject: str = "",
    comment: str = "",
) -> NewEntry:
    """The entry of a person's decision (no event summary)."""
    origin = origin or NO_ORIGIN
    return NewEntry(
        actor=actor,
        action=action,
        address=origin.address,
        via=origin.via,
        calendar=calendar,
        uid=uid,
        clash_id=clash_id,
        subject=subject,
        comment=comment,
    )


def add_entry(db: sqlite3.Connection, entry: NewEntry) -> None:
    """Write ``entry`` in the caller's transaction on ``hub.sqlite``."""
    add_entries(db, [entry])


def add_entries(db: sqlite3.Connection, entries: Iterable[NewEntry]) -> int:
    stamp = utc_text()
    rows = [
        (
            entry.at or stamp,
            entry.actor[:_TEXT_LIMIT],
            entry.address[:100],
            entry.via,
            entry.action,
            entry.calendar,
            entry.uid[:_TEXT_LIMIT],
            entry.clash_id,
            entry.subject[:_TEXT_LIMIT],
            _summary_text(entry.before),
            _summary_text(entry.after),
            entry.comment[: _TEXT_LIMIT * 4],
        )
        for entry in entries
    ]
    db.executemany(
        "INSERT INTO audit_log (at, actor, address, via, action, calendar, uid, clash_id, "
        "subject, before, after, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


_COLUMNS = (
    "id, at, actor, address, via, action, calendar, uid, clash_id, subject, before, after, comment"
)


def _entry(row: Sequence[Any]) -> AuditEntry:
    return AuditEntry(
        id=int(row[0]),
        at=str(row[1]),
        actor=str(row[2]),
        address=str(row[3]),
        via=str(row[4]),
        action=str(row[5]),
        calendar=str(row[6]),
        uid=str(row[7]),
        clash_id=str(row[8]),
        subject=str(row[9]),
        before=_summary(str(row[10])),
        after=_summary(str(row[11])),
        comment=str(row[12]),
    )


class AuditLog(ThreadLocalDatabase):
    """The audit entries in ``hub.sqlite``."""

    SCHEMA = SCHEMA

    def record(self, entries: Iterable[NewEntry]) -> int:
        """Write ``entries`` in one transaction of their own; returns how many."""
        entries = list(entries)
        if not entries:
            return 0
        with self.transaction() as db:
            return add_entries(db, entries)

    def count(self, filters: AuditFilters | None = None) -> int:
        where, values = (filters or AuditFilters()).where()
        row = self.db.execute(f"SELECT count(*) FROM audit_log{where}", values).fetchone()
        return int(row[0])

    def page(
        self, filters: AuditFilters | None = None, limit: int = 100, offset: int = 0
    ) -> list[AuditEntry]:
        """Newest first, ``limit`` entries from ``offset``."""
        where, values = (filters or AuditFilters()).where()
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM audit_log{where} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
            [*values, limit, offset],
        )
        return [_entry(row) for row in rows]

    def each(self, filters: AuditFilters | None = None, chunk: int = 1000) -> Iterator[AuditEntry]:
        """Every entry that matches, oldest first, read ``chunk`` at a time (an export)."""
        where, values = (filters or AuditFilters()).where()
        last = 0
        joiner = " AND " if where else " WHERE "
        while True:
            rows = self.db.execute(
                f"SELECT {_COLUMNS} FROM audit_log{where}{joiner}id > ? ORDER BY id LIMIT ?",
                [*values, last, chunk],
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield _entry(row)
            last = int(rows[-1][0])

    def of_clash(
        self,
        clash_id: str,
        events: Iterable[tuple[str, str]],
        calendars: frozenset[str] | None = None,
        limit: int = 200,
    ) -> list[AuditEntry]:
        """A clash's history, newest first: the decisions about it and the writes of its
        events (``calendars``: only entries of these, as :class:`AuditFilters`)."""
        keys = json.dumps(sorted(f"{calendar}\x1f{uid}" for calendar, uid in events))
        scope = ""
        values: list[Any] = [clash_id, keys]
        if calendars is not None:
            scope = " AND calendar IN (SELECT value FROM json_each(?))"
            values.append(json.dumps(sorted(calendars)))
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM audit_log WHERE (clash_id = ? OR (uid != '' AND "
            f"calendar || char(31) || uid IN (SELECT value FROM json_each(?)))){scope} "
            "ORDER BY at DESC, id DESC LIMIT ?",
            [*values, limit],
        )
        return [_entry(row) for row in rows]

    def actors(self) -> list[str]:
        """Every actor on record (the page's filter choices)."""
        return [str(r[0]) for r in self.db.execute("SELECT DISTINCT actor FROM audit_log")]

    def prune(self, keep_days: int, now: dt.datetime | None = None) -> int:
        """Delete the entries older than ``keep_days`` days; returns how many."""
        moment = now or dt.datetime.now(dt.UTC)
        cutoff = utc_text(moment - dt.timedelta(days=keep_days))
        with self.transaction() as db:
            cursor = db.execute("DELETE FROM audit_log WHERE at < ?", (cutoff,))
        return int(cursor.rowcount)
