"""Refused writes: events a calendar app sent that the hub did not store, kept in ``hub.sqlite``.

A ``reject`` calendar answers a clashing PUT with 409, and calendar apps do not show that to
people well: DAVx5 logs "edit conflict, ignoring" and sends the event again at every sync,
Thunderbird reports a failed modification and offers to overwrite, which is refused again.
So the hub keeps what was refused (when, why, the event as sent) for the partner and the
coordinator to see on the dashboard, and the event is not lost.

One row per (login, calendar, object): the object is the event's UID, or its href when the
body has none. A re-send updates the row (how many times, the last time, the latest body)
instead of adding one. A later successful write of the same calendar and UID resolves it;
the coordinator or the partner may dismiss it. Resolved and dismissed rows stay a while
(``KEEP_CLOSED``) as history. Each login keeps at most ``MAX_ROWS_PER_LOGIN`` rows, the
oldest closed ones going first; a body over ``MAX_BODY_BYTES`` is not kept (its size is).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from calhub.errors import UserError
from calhub.store.audit import SCHEMA as AUDIT_SCHEMA
from calhub.store.audit import Origin, add_entry, decision
from calhub.store.sqlitedb import ThreadLocalDatabase, utc_text

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

MAX_ROWS_PER_LOGIN = 100
# An event, even a recurring one with hundreds of moved instances, is far smaller.
MAX_BODY_BYTES = 1024 * 1024
KEEP_CLOSED = dt.timedelta(days=60)
STATES = ("open", "closed", "all")

SCHEMA = """
CREATE TABLE IF NOT EXISTS refused_writes (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL,
    calendar TEXT NOT NULL,
    object TEXT NOT NULL,
    href TEXT NOT NULL,
    uid TEXT NOT NULL DEFAULT '',
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    times INTEGER NOT NULL DEFAULT 1,
    status INTEGER NOT NULL,
    condition TEXT NOT NULL DEFAULT '',
    reason_ru TEXT NOT NULL DEFAULT '',
    reason_en TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    start TEXT NOT NULL DEFAULT '',
    end TEXT NOT NULL DEFAULT '',
    all_day INTEGER NOT NULL DEFAULT 0,
    location TEXT NOT NULL DEFAULT '',
    clashes TEXT NOT NULL DEFAULT '[]',
    body BLOB NOT NULL,
    body_size INTEGER NOT NULL DEFAULT 0,
    resolved_at TEXT,
    resolved_by TEXT NOT NULL DEFAULT '',
    dismissed_at TEXT,
    dismissed_by TEXT NOT NULL DEFAULT '',
    UNIQUE (login, calendar, object)
);
CREATE INDEX IF NOT EXISTS refused_writes_event ON refused_writes (calendar, uid);
CREATE INDEX IF NOT EXISTS refused_writes_login ON refused_writes (login, last_at);
"""

_COLUMNS = (
    "id, login, calendar, href, uid, first_at, last_at, times, status, condition, reason_ru, "
    "reason_en, summary, start, end, all_day, location, clashes, body, body_size, "
    "resolved_at, resolved_by, dismissed_at, dismissed_by"
)
_OPEN = "resolved_at IS NULL AND dismissed_at IS NULL"


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused write, as the WSGI layer saw it and the event as the body said."""

    login: str
    calendar: str
    href: str
    uid: str
    status: int
    reason_ru: str
    reason_en: str
    body: bytes
    condition: str = ""
    summary: str = ""
    start: str = ""  # ISO: a UTC time (``...Z``) or, for an all-day event, a date
    end: str = ""
    all_day: bool = False
    location: str = ""
    # Each: {"id", "rule", "severity", "message": {"ru", "en"}, "events": [occurrence]}.
    clashes: Sequence[dict[str, Any]] = field(default_factory=tuple)

    @property
    def object(self) -> str:
        return self.uid or f"href:{self.href}"


@dataclass(frozen=True, slots=True)
class RefusedWrite:
    """A row of the store, as readers see it."""

    id: int
    login: str
    calendar: str
    href: str
    uid: str
    first_at: str
    last_at: str
    times: int
    status: int
    condition: str
    reason: dict[str, str]
    summary: str
    start: str
    end: str
    all_day: bool
    location: str
    clashes: list[dict[str, Any]]
    body: bytes
    body_size: int
    resolved_at: str | None
    resolved_by: str
    dismissed_at: str | None
    dismissed_by: str

    @property
    def state(self) -> str:
        if self.resolved_at:
            return "resolved"
        if self.dismissed_at:
            return "dismissed"
        return "open"

    @property
    def body_kept(self) -> bool:
        return bool(self.body) or self.body_size == 0

    def as_json(self) -> dict[str, Any]:
        """Everything but the body (which is served as a file)."""
        return {
            "id": self.id,
            "login": self.login,
            "calendar": self.calendar,
            "href": self.href,
            "uid": self.uid,
            "state": self.state,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "times": self.times,
            "status": self.status,
            "condition": self.condition,
            "reason": self.reason,
            "event": {
                "summary": self.summary,
                "start": self.start or None,
                "end": self.end or None,
                "all_day": self.all_day,
                "location": self.location,
            },
            "clashes": self.clashes,
            "body_size": self.body_size,
            "body_kept": self.body_kept,
            "resolved": {"at": self.resolved_at, "by": self.resolved_by}
            if self.resolved_at
            else None,
            "dismissed": {"at": self.dismissed_at, "by": self.dismissed_by}
            if self.dismissed_at
            else None,
        }


def _row(row: tuple[Any, ...]) -> RefusedWrite:
    clashes = json.loads(row[17]) if row[17] else []
    return RefusedWrite(
        id=row[0],
        login=row[1],
        calendar=row[2],
        href=row[3],
        uid=row[4],
        first_at=row[5],
        last_at=row[6],
        times=row[7],
        status=row[8],
        condition=row[9],
        reason={"ru": row[10], "en": row[11]},
        summary=row[12],
        start=row[13],
        end=row[14],
        all_day=bool(row[15]),
        location=row[16],
        clashes=clashes if isinstance(clashes, list) else [],
        body=bytes(row[18]),
        body_size=row[19],
        resolved_at=row[20],
        resolved_by=row[21],
        dismissed_at=row[22],
        dismissed_by=row[23],
    )


class RefusedWrites(ThreadLocalDatabase):
    """The ``refused_writes`` table of ``hub.sqlite`` (hub data: backed up, never rebuilt).

    The table is created when missing, so an older hub.sqlite is migrated in place the first
    time a process opens it.
    """

    # The audit log's table too: a dismissal writes its entry in its own transaction.
    SCHEMA = SCHEMA + AUDIT_SCHEMA
    SYNCHRONOUS = "FULL"

    def __init__(
        self,
        path: Any,
        max_rows_per_login: int = MAX_ROWS_PER_LOGIN,
        max_body_bytes: int = MAX_BODY_BYTES,
        keep_closed: dt.timedelta = KEEP_CLOSED,
    ) -> None:
        super().__init__(path)
        self.max_rows_per_login = max_rows_per_login
        self.max_body_bytes = max_body_bytes
        self.keep_closed = keep_closed

    # -- writing -------------------------------------------------------------------------

    def record(self, refusal: Refusal, at: dt.datetime | None = None) -> int:
        """Keep ``refusal``: a new row, or the row of the same object updated. Its id."""
        stamp = utc_text(at)
        body = refusal.body if len(refusal.body) <= self.max_body_bytes else b""
        if not body and refusal.body:
            logger.warning(
                "Refused write of %s to %s: body of %d bytes is over %d and not kept",
                refusal.login,
                refusal.calendar,
                len(refusal.body),
                self.max_body_bytes,
            )
        values = {
            "href": refusal.href,
            "uid": refusal.uid,
            "status": refusal.status,
            "condition": refusal.condition,
            "reason_ru": refusal.reason_ru,
            "reason_en": refusal.reason_en,
            "summary": refusal.summary,
            "start": refusal.start,
            "end": refusal.end,
            "all_day": int(refusal.all_day),
            "location": refusal.location,
            "clashes": json.dumps(list(refusal.clashes), ensure_ascii=False),
            "body": body,
            "body_size": len(refusal.body),
        }
        key = (refusal.login, refusal.calendar, refusal.object)
        with self.transaction() as db:
            found = db.execute(
                "SELECT id, body, resolved_at, dismissed_at FROM refused_writes "
                "WHERE login=? AND calendar=? AND object=?",
                key,
            ).fetchone()
            if found is None:
                row_id = self._insert(db, key, values, stamp)
            else:
                row_id = found[0]
                self._update(db, row_id, values, stamp, found)
            self._trim(db, refusal.login, stamp)
        return row_id

    @staticmethod
    def _insert(
        db: sqlite3.Connection, key: tuple[str, str, str], values: dict[str, Any], stamp: str
    ) -> int:
        names = ", ".join(values)
        marks = ", ".join("?" * len(values))
        cursor = db.execute(
            f"INSERT INTO refused_writes (login, calendar, object, first_at, last_at, times, "
            f"{names}) VALUES (?, ?, ?, ?, ?, 1, {marks})",
            (*key, stamp, stamp, *values.values()),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    @staticmethod
    def _update(
        db: sqlite3.Connection,
        row_id: int,
        values: dict[str, Any],
        stamp: str,
        found: tuple[Any, ...],
    ) -> None:
        settings = ", ".join(f"{name}=?" for name in values)
        _, old_body, resolved_at, dismissed_at = found
        if resolved_at is not None:
            # The object got in since, and this is a later edit refused: a new refusal.
            db.execute(
                f"UPDATE refused_writes SET {settings}, first_at=?, last_at=?, times=1, "
                "resolved_at=NULL, resolved_by='', dismissed_at=NULL, dismissed_by='' "
                "WHERE id=?",
                (*values.values(), stamp, stamp, row_id),
            )
            return
        reopen = ""
        if dismissed_at is not None and bytes(old_body) != values["body"]:
            # Dismissed, then the event was changed and refused again: worth a new look.
            # The same body sent again (a client's retry) stays dismissed.
            reopen = ", dismissed_at=NULL, dismissed_by=''"
        db.execute(
            f"UPDATE refused_writes SET {settings}, last_at=?, times=times+1{reopen} WHERE id=?",
            (*values.values(), stamp, row_id),
        )

    def _trim(self, db: sqlite3.Connection, login: str, stamp: str) -> None:
        """Drop closed rows past ``keep_closed`` and the login's rows over its cap."""
        moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        limit = utc_text(moment - self.keep_closed)
        db.execute(
            "DELETE FROM refused_writes WHERE coalesce(resolved_at, dismissed_at) < ?", (limit,)
        )
        over = (
            db.execute("SELECT count(*) FROM refused_writes WHERE login=?", (login,)).fetchone()[0]
            - self.max_rows_per_login
        )
        if over <= 0:
            return
        # Closed rows go first, then the open ones refused longest ago.
        dropped = db.execute(
            f"SELECT id, calendar, object FROM refused_writes WHERE login=? "
            f"ORDER BY ({_OPEN}), last_at, id LIMIT ?",
            (login, over),
        ).fetchall()
        db.executemany("DELETE FROM refused_writes WHERE id=?", [(row[0],) for row in dropped])
        for _, calendar, obj in dropped:
            logger.warning(
                "Refused writes of %s over %d: dropped the oldest, %s in %s",
                login,
                self.max_rows_per_login,
                obj,
                calendar,
            )

    def has_open(self, calendar: str) -> bool:
        """Whether any row of ``calendar`` is waiting for its event (cheap, indexed)."""
        row = self.db.execute(
            "SELECT 1 FROM refused_writes WHERE calendar=? AND resolved_at IS NULL LIMIT 1",
            (calendar,),
        ).fetchone()
        return row is not None

    def resolve(self, calendar: str, uid: str, by: str) -> int:
        """The event ``uid`` got into ``calendar``: its rows are resolved. How many."""
        if not uid:
            return 0
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE refused_writes SET resolved_at=?, resolved_by=? "
                "WHERE calendar=? AND uid=? AND resolved_at IS NULL",
                (utc_text(), by, calendar, uid),
            )
        if cursor.rowcount:
            logger.info("Refused write of %s in %s resolved: %s wrote it", uid, calendar, by)
        return cursor.rowcount

    def dismiss(self, row_id: int, by: str, origin: Origin | None = None) -> bool:
        """Set an open row aside (someone has seen it); False if there is no open row."""
        with self.transaction() as db:
            cursor = db.execute(
                f"UPDATE refused_writes SET dismissed_at=?, dismissed_by=? WHERE id=? AND {_OPEN}",
                (utc_text(), by, row_id),
            )
            if cursor.rowcount:
                row = db.execute(
                    "SELECT calendar, uid, summary, login FROM refused_writes WHERE id=?",
                    (row_id,),
                ).fetchone()
                subject = f"refused write {row_id} of {row[3]}: «{row[2]}»"
                entry = decision(
                    by, "refused-dismissed", origin, calendar=row[0], uid=row[1], subject=subject
                )
                add_entry(db, entry)
        return cursor.rowcount > 0

    # -- reading -------------------------------------------------------------------------

    def get(self, row_id: int) -> RefusedWrite | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM refused_writes WHERE id=?", (row_id,)
        ).fetchone()
        return None if row is None else _row(row)

    def query(self, login: str | None = None, state: str = "open") -> list[RefusedWrite]:
        """Rows of ``login`` (every login's with None), newest refusal first.

        ``state``: ``open``, ``closed`` (resolved or dismissed) or ``all``.
        """
        if state not in STATES:
            raise UserError(f"state must be one of {', '.join(STATES)}")
        sql = f"SELECT {_COLUMNS} FROM refused_writes WHERE 1=1"
        args: list[Any] = []
        if login is not None:
            sql += " AND login=?"
            args.append(login)
        if state == "open":
            sql += f" AND {_OPEN}"
        elif state == "closed":
            sql += f" AND NOT ({_OPEN})"
        sql += " ORDER BY last_at DESC, id DESC"
        return [_row(row) for row in self.db.execute(sql, args)]

    def open_count(self, login: str | None = None) -> int:
        if login is None:
            row = self.db.execute(f"SELECT count(*) FROM refused_writes WHERE {_OPEN}").fetchone()
        else:
            row = self.db.execute(
                f"SELECT count(*) FROM refused_writes WHERE login=? AND {_OPEN}", (login,)
            ).fetchone()
        return int(row[0])

    def logins(self) -> list[str]:
        """Every login with a row, for the coordinator's filter."""
        rows = self.db.execute("SELECT DISTINCT login FROM refused_writes ORDER BY login")
        return [row[0] for row in rows]
