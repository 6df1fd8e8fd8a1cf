"""Mirrored sources: the external calendars a partner's hub calendar mirrors (hub.sqlite).

A source is a URL (an ICS address, a CalDAV calendar, another hub's feed) and the partner
calendar it is mirrored into. The table keeps how to reach it (the username, and the *name*
of the environment variable or the command that gives the password: never the password),
what the last fetch learnt (ETag, Last-Modified, a CalDAV sync token), the last outcome
(success, error in plain words, counts) and when the next run is due. It lives in
``hub.sqlite``, so a backup carries it.

Two server processes on one hub share the work: :meth:`Sources.claim` moves a due source's
next run forward in one statement, and only the process whose statement changed the row
syncs it.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from dataclasses import dataclass

from calhub.store.sqlitedb import ThreadLocalDatabase, utc_text

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    calendar TEXT NOT NULL,
    url TEXT NOT NULL,
    kind TEXT NOT NULL,
    username TEXT NOT NULL DEFAULT '',
    password_env TEXT NOT NULL DEFAULT '',
    password_cmd TEXT NOT NULL DEFAULT '',
    interval_seconds INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    etag TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    sync_token TEXT NOT NULL DEFAULT '',
    last_attempt_at TEXT,
    last_success_at TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    failures INTEGER NOT NULL DEFAULT 0,
    added INTEGER NOT NULL DEFAULT 0,
    changed INTEGER NOT NULL DEFAULT 0,
    removed INTEGER NOT NULL DEFAULT 0,
    refused INTEGER NOT NULL DEFAULT 0,
    mirrored INTEGER NOT NULL DEFAULT 0,
    next_run_at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
"""

KINDS = ("ics", "caldav")

_COLUMNS = (
    "id, calendar, url, kind, username, password_env, password_cmd, interval_seconds, "
    "created_at, created_by, etag, last_modified, sync_token, last_attempt_at, "
    "last_success_at, last_error, failures, added, changed, removed, refused, mirrored, "
    "next_run_at, note"
)


@dataclass(frozen=True, slots=True)
class Counts:
    """What one sync did to the partner's calendar."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    refused: int = 0
    mirrored: int = 0  # events of the source in the calendar after the sync


@dataclass(frozen=True, slots=True)
class Source:
    id: int
    calendar: str
    url: str
    kind: str
    username: str
    password_env: str
    password_cmd: str
    interval_seconds: int
    created_at: str
    created_by: str
    etag: str = ""
    last_modified: str = ""
    sync_token: str = ""
    last_attempt_at: str | None = None
    last_success_at: str | None = None
    last_error: str = ""
    failures: int = 0
    counts: Counts = Counts()
    next_run_at: str = ""
    note: str = ""  # what the last sync left out or could not write, in words

    def as_json(self) -> dict[str, object]:
        """What the CLI and the dashboard show of a source: never a password (it has none)."""
        return {
            "id": self.id,
            "calendar": self.calendar,
            "url": self.url,
            "kind": self.kind,
            "username": self.username,
            "password_env": self.password_env,
            "password_cmd": self.password_cmd,
            "every_seconds": self.interval_seconds,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "last_attempt_at": self.last_attempt_at,
            "last_success_at": self.last_success_at,
            "last_error": self.last_error or None,
            "failures": self.failures,
            "added": self.counts.added,
            "changed": self.counts.changed,
            "removed": self.counts.removed,
            "refused": self.counts.refused,
            "mirrored": self.counts.mirrored,
            "next_run_at": self.next_run_at,
            "note": self.note or None,
        }


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


def _source(row: sqlite3.Row | tuple[object, ...]) -> Source:
    values = list(row)
    number = [int(str(values[i])) for i in (0, 7, 16, 17, 18, 19, 20, 21)]
    return Source(
        id=number[0],
        calendar=str(values[1]),
        url=str(values[2]),
        kind=str(values[3]),
        username=str(values[4]),
        password_env=str(values[5]),
        password_cmd=str(values[6]),
        interval_seconds=number[1],
        created_at=str(values[8]),
        created_by=str(values[9]),
        etag=str(values[10]),
        last_modified=str(values[11]),
        sync_token=str(values[12]),
        last_attempt_at=_optional(values[13]),
        last_success_at=_optional(values[14]),
        last_error=str(values[15]),
        failures=number[2],
        counts=Counts(*number[3:]),
        next_run_at=str(values[22]),
        note=str(values[23]),
    )


@dataclass(frozen=True, slots=True)
class Fetched:
    """What a successful fetch learnt, kept for the next conditional request."""

    etag: str = ""
    last_modified: str = ""
    sync_token: str = ""


class Sources(ThreadLocalDatabase):
    """The ``sources`` table of ``hub.sqlite``."""

    SCHEMA = SCHEMA

    def add(
        self,
        *,
        calendar: str,
        url: str,
        kind: str,
        interval_seconds: int,
        by: str,
        username: str = "",
        password_env: str = "",
        password_cmd: str = "",
        now: dt.datetime | None = None,
    ) -> Source:
        """A new source, due at once."""
        if kind not in KINDS:
            raise ValueError(f"unknown source kind {kind!r}")
        created = utc_text(now)
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO sources (calendar, url, kind, username, password_env, "
                "password_cmd, interval_seconds, created_at, created_by, next_run_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    calendar,
                    url,
                    kind,
                    username,
                    password_env,
                    password_cmd,
                    interval_seconds,
                    created,
                    by,
                    created,
                ),
            )
            source_id = int(cursor.lastrowid or 0)
        logger.info("Source %d (%s, into %s) added by %s", source_id, kind, calendar, by)
        source = self.get(source_id)
        assert source is not None
        return source

    def get(self, source_id: int) -> Source | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM sources WHERE id = ?", (source_id,)
        ).fetchone()
        return None if row is None else _source(row)

    def query(self, calendar: str | None = None) -> list[Source]:
        """Every source (of one calendar), oldest first."""
        if calendar is None:
            rows = self.db.execute(f"SELECT {_COLUMNS} FROM sources ORDER BY id").fetchall()
        else:
            rows = self.db.execute(
                f"SELECT {_COLUMNS} FROM sources WHERE calendar = ? ORDER BY id", (calendar,)
            ).fetchall()
        return [_source(row) for row in rows]

    def due(self, now: dt.datetime | None = None) -> list[int]:
        """The sources whose next run has come, the longest waiting first."""
        rows = self.db.execute(
            "SELECT id FROM sources WHERE next_run_at <= ? ORDER BY next_run_at, id",
            (utc_text(now),),
        ).fetchall()
        return [int(row[0]) for row in rows]

    def claim(self, source_id: int, lease: dt.timedelta, now: dt.datetime | None = None) -> bool:
        """Take a due source for one sync: its next run moves ``lease`` ahead (so no other
        process takes it meanwhile, and a process that dies mid-sync only delays it)."""
        moment = now or dt.datetime.now(dt.UTC)
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE sources SET next_run_at = ?, last_attempt_at = ? "
                "WHERE id = ? AND next_run_at <= ?",
                (utc_text(moment + lease), utc_text(moment), source_id, utc_text(moment)),
            )
            return cursor.rowcount == 1

    def mark_due(self, source_id: int, now: dt.datetime | None = None) -> bool:
        """Make a source due now (a coordinator's "sync now"); False if there is none."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE sources SET next_run_at = ? WHERE id = ?", (utc_text(now), source_id)
            )
            return cursor.rowcount == 1

    def record_success(
        self,
        source_id: int,
        fetched: Fetched,
        counts: Counts | None,
        next_run: dt.datetime,
        note: str = "",
        now: dt.datetime | None = None,
    ) -> None:
        """A sync that worked; ``counts`` None: the source had not changed (a 304), so the
        counts and the note of the last change stay."""
        moment = utc_text(now)
        with self.transaction() as db:
            if counts is None:
                db.execute(
                    "UPDATE sources SET last_success_at = ?, last_attempt_at = ?, "
                    "last_error = '', failures = 0, next_run_at = ? WHERE id = ?",
                    (moment, moment, utc_text(next_run), source_id),
                )
                return
            db.execute(
                "UPDATE sources SET etag = ?, last_modified = ?, sync_token = ?, "
                "last_success_at = ?, last_attempt_at = ?, last_error = '', "
                "failures = 0, added = ?, changed = ?, "
                "removed = ?, refused = ?, mirrored = ?, next_run_at = ?, note = ? "
                "WHERE id = ?",
                (
                    fetched.etag,
                    fetched.last_modified,
                    fetched.sync_token,
                    moment,
                    moment,
                    counts.added,
                    counts.changed,
                    counts.removed,
                    counts.refused,
                    counts.mirrored,
                    utc_text(next_run),
                    note[:1000],
                    source_id,
                ),
            )

    def record_failure(
        self,
        source_id: int,
        error: str,
        next_run: dt.datetime,
        now: dt.datetime | None = None,
    ) -> int:
        """A sync that failed, and when to try again; returns the failures in a row."""
        with self.transaction() as db:
            db.execute(
                "UPDATE sources SET last_error = ?, failures = failures + 1, next_run_at = ?, "
                "last_attempt_at = ? WHERE id = ?",
                (error[:1000], utc_text(next_run), utc_text(now), source_id),
            )
            row = db.execute("SELECT failures FROM sources WHERE id = ?", (source_id,)).fetchone()
        return 0 if row is None else int(row[0])

    def forget_versions(self, source_id: int) -> None:
        """Drop the ETag, Last-Modified and sync token: the next sync reads the source whole."""
        with self.transaction() as db:
            db.execute(
                "UPDATE sources SET etag = '', last_modified = '', sync_token = '' WHERE id = ?",
                (source_id,),
            )

    def remove(self, source_id: int) -> bool:
        with self.transaction() as db:
            cursor = db.execute("DELETE FROM sources WHERE id = ?", (source_id,))
            done = cursor.rowcount == 1
        if done:
            logger.info("Source %d removed", source_id)
        return done
