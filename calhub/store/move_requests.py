"""Requests to move an event: the coordinator asks a partner to move its side of a clash.

Hub data in ``hub.sqlite`` beside the clash records they are about (so a backup holds
them), written in the records' own transactions: a request, its answer and the clash's
history entry ("asked to move", "moved as asked", "declined") commit together, and the
records' ``state()`` changes with them, so every reader that caches by it sees the news.

A request names one event or occurrence, the coordinator's comment and the slots suggested
(UTC, as the slot finder gave them). It is ``open`` until the partner accepts a slot
(``accepted``, with the slot chosen) or another time (``accepted`` without one), declines
it (``declined``, with a reason), or the coordinator asks again for the same event
(``replaced``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from calhub.errors import NoSuchClash, UserError
from calhub.store.audit import Origin, add_entry, decision
from calhub.store.outbox import add_notice
from calhub.store.sqlitedb import IN_LIST, in_list, utc_text

if TYPE_CHECKING:
    from calhub.store.records import ClashRecords

__all__ = ["SCHEMA", "MoveRequest", "MoveRequests", "RequestClosed"]

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS move_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    clash_id TEXT NOT NULL,
    calendar TEXT NOT NULL,
    uid TEXT NOT NULL,
    recurrence_id TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    asked_by TEXT NOT NULL,
    asked_at TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    slots TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT 'open',
    answered_by TEXT,
    answered_at TEXT,
    answer TEXT NOT NULL DEFAULT '',
    chosen_start TEXT,
    chosen_end TEXT
);
CREATE INDEX IF NOT EXISTS move_requests_calendar ON move_requests (calendar, status);
CREATE INDEX IF NOT EXISTS move_requests_clash ON move_requests (clash_id);
"""

STATUSES = ("open", "accepted", "declined", "replaced")
MAX_SLOTS = 10
MAX_TEXT = 2000
_COLUMNS = (
    "id, clash_id, calendar, uid, recurrence_id, summary, asked_by, asked_at, comment, slots, "
    "status, answered_by, answered_at, answer, chosen_start, chosen_end"
)


class RequestClosed(UserError):
    """The request was answered (or replaced) already."""


@dataclass(frozen=True, slots=True)
class MoveRequest:
    id: int
    clash_id: str
    calendar: str
    uid: str
    recurrence_id: str
    summary: str
    asked_by: str
    asked_at: str  # ISO UTC "...Z"
    comment: str
    slots: tuple[tuple[str, str], ...]  # (start, end), ISO UTC "...Z"
    status: str
    answered_by: str | None = None
    answered_at: str | None = None
    answer: str = ""
    chosen: tuple[str, str] | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def slot_times(self) -> list[tuple[dt.datetime, dt.datetime]]:
        return [(_moment(a), _moment(b)) for a, b in self.slots]


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _request(row: sqlite3.Row | tuple[object, ...]) -> MoveRequest:
    (id_, clash_id, calendar, uid, rid, summary, asked_by, asked_at, comment, slots) = row[:10]
    status, answered_by, answered_at, answer, chosen_start, chosen_end = row[10:]
    pairs = tuple((str(a), str(b)) for a, b in json.loads(str(slots)))
    return MoveRequest(
        id=int(str(id_)),
        clash_id=str(clash_id),
        calendar=str(calendar),
        uid=str(uid),
        recurrence_id=str(rid),
        summary=str(summary),
        asked_by=str(asked_by),
        asked_at=str(asked_at),
        comment=str(comment),
        slots=pairs,
        status=str(status),
        answered_by=None if answered_by is None else str(answered_by),
        answered_at=None if answered_at is None else str(answered_at),
        answer=str(answer),
        chosen=None if chosen_start is None else (str(chosen_start), str(chosen_end)),
    )


class MoveRequests:
    """The ``move_requests`` table, in the transactions of the clash records."""

    def __init__(self, records: ClashRecords) -> None:
        self._records = records

    def ask(
        self,
        clash_id: str,
        *,
        calendar: str,
        uid: str,
        recurrence_id: str,
        summary: str,
        by: str,
        comment: str,
        slots: Sequence[tuple[dt.datetime, dt.datetime]],
        origin: Origin | None = None,
    ) -> MoveRequest:
        """A new open request; an open one for the same event of this clash is replaced."""
        comment = comment.strip()[:MAX_TEXT]
        pairs = [(utc_text(a), utc_text(b)) for a, b in list(slots)[:MAX_SLOTS]]
        stamp = utc_text()
        with self._records.transaction() as db:
            if db.execute("SELECT 1 FROM clashes WHERE id=?", (clash_id,)).fetchone() is None:
                raise NoSuchClash(clash_id)
            db.execute(
                "UPDATE move_requests SET status='replaced', answered_by=?, answered_at=? "
                "WHERE clash_id=? AND calendar=? AND uid=? AND recurrence_id=? AND status='open'",
                (by, stamp, clash_id, calendar, uid, recurrence_id),
            )
            cursor = db.execute(
                "INSERT INTO move_requests (clash_id, calendar, uid, recurrence_id, summary, "
                "asked_by, asked_at, comment, slots) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    clash_id,
                    calendar,
                    uid,
                    recurrence_id,
                    summary,
                    by,
                    stamp,
                    comment,
                    json.dumps(pairs),
                ),
            )
            request_id = int(cursor.lastrowid or 0)
            db.execute(
                "INSERT INTO history (clash_id, at, actor, action, comment) VALUES (?, ?, ?, ?, ?)",
                (clash_id, stamp, by, "move-asked", comment),
            )
            add_entry(
                db,
                decision(
                    by,
                    "move-requested",
                    origin,
                    calendar=calendar,
                    uid=uid,
                    clash_id=clash_id,
                    subject=summary,
                    comment=comment,
                ),
            )
            add_notice(
                db,
                "move-asked",
                clash_id,
                by,
                stamp,
                {
                    "request": request_id,
                    "calendar": calendar,
                    "uid": uid,
                    "summary": summary,
                    "comment": comment,
                    "slots": pairs,
                },
            )
        logger.info("Move request %d for %s/%s asked by %s", request_id, calendar, uid, by)
        found = self.get(request_id)
        assert found is not None
        return found

    def answer(
        self,
        request_id: int,
        *,
        by: str,
        accepted: bool,
        comment: str = "",
        chosen: tuple[dt.datetime, dt.datetime] | None = None,
        origin: Origin | None = None,
    ) -> MoveRequest:
        """Close an open request: accepted (with the slot taken, if it was one) or declined."""
        comment = comment.strip()[:MAX_TEXT]
        stamp = utc_text()
        status = "accepted" if accepted else "declined"
        start, end = (utc_text(chosen[0]), utc_text(chosen[1])) if chosen else (None, None)
        with self._records.transaction() as db:
            row = db.execute(
                "SELECT clash_id, status, calendar, uid, summary FROM move_requests WHERE id=?",
                (request_id,),
            ).fetchone()
            if row is None or row[1] != "open":
                raise RequestClosed(
                    "На эту просьбу уже ответили. / This request has been answered already.",
                    hint="Reload the page to see its answer.",
                )
            db.execute(
                "UPDATE move_requests SET status=?, answered_by=?, answered_at=?, answer=?, "
                "chosen_start=?, chosen_end=? WHERE id=?",
                (status, by, stamp, comment, start, end, request_id),
            )
            db.execute(
                "INSERT INTO history (clash_id, at, actor, action, comment) VALUES (?, ?, ?, ?, ?)",
                (row[0], stamp, by, f"move-{status}", comment),
            )
            add_entry(
                db,
                decision(
                    by,
                    "move-answered",
                    origin,
                    calendar=row[2],
                    uid=row[3],
                    clash_id=row[0],
                    subject=f"{status}: {row[4]}" + (f" → {start}–{end}" if start else ""),
                    comment=comment,
                ),
            )
            add_notice(
                db,
                f"move-{status}",
                row[0],
                by,
                stamp,
                {
                    "request": request_id,
                    "calendar": row[2],
                    "uid": row[3],
                    "summary": row[4],
                    "comment": comment,
                    "chosen": [start, end] if start else None,
                },
            )
        logger.info("Move request %d %s by %s", request_id, status, by)
        found = self.get(request_id)
        assert found is not None
        return found

    def get(self, request_id: int) -> MoveRequest | None:
        row = self._records.db.execute(
            f"SELECT {_COLUMNS} FROM move_requests WHERE id=?", (request_id,)
        ).fetchone()
        return None if row is None else _request(row)

    def of_clash(self, clash_id: str) -> list[MoveRequest]:
        """Every request about one clash, newest first."""
        rows = self._records.db.execute(
            f"SELECT {_COLUMNS} FROM move_requests WHERE clash_id=? ORDER BY id DESC",
            (clash_id,),
        ).fetchall()
        return [_request(row) for row in rows]

    def open_for(self, calendars: Collection[str] | None = None) -> list[MoveRequest]:
        """Open requests for events of ``calendars`` (None: every calendar), oldest first."""
        sql = f"SELECT {_COLUMNS} FROM move_requests WHERE status='open'"
        args: list[str] = []
        if calendars is not None:
            sql += f" AND calendar IN {IN_LIST}"
            args.append(in_list(calendars))
        rows = self._records.db.execute(sql + " ORDER BY id", args).fetchall()
        return [_request(row) for row in rows]

    def recent_for(
        self, calendars: Collection[str] | None = None, limit: int = 20
    ) -> list[MoveRequest]:
        """The latest answered requests for events of ``calendars``, newest first."""
        sql = f"SELECT {_COLUMNS} FROM move_requests WHERE status IN ('accepted', 'declined')"
        args: list[object] = []
        if calendars is not None:
            sql += f" AND calendar IN {IN_LIST}"
            args.append(in_list(calendars))
        rows = self._records.db.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit])
        return [_request(row) for row in rows.fetchall()]
