"""Each clash instance's mark, kept with it, for the month grid to read from one index.

The grid marks every occurrence on show: ``hard`` or ``soft`` for an open clash (hard
wins), ``approved`` when all its clashes are approved (:func:`calhub.web.clashes.marks`).
Worked out from the records, that is one join per clash instance in the window: on a dense
10,000-event hub, 30,000 instances in six weeks, their 20 MB of occurrences parsed, half a
second (issue 21). So each instance row carries two more columns:

- ``keys``: its occurrences' (calendar, uid, recurrence id), compact (:func:`keys_text`);
- ``mark``: its record's state, -1 resolved (or no record), 0 approved, 1 soft, 2 hard.

Triggers keep ``mark`` equal to what the record and its approval say, whichever code writes
them (a sync, an approval, a reopen, a migration, the purge), and a partial index of the
unresolved instances holds both columns, so a window is one range of one index.

``keys`` is written with the row (:func:`keys_text`); a row without (written by code that
does not know of it, or an occurrence whose ids hold the separators) is read from its
occurrences instead, so a mark is never lost, only slower to find.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Iterable
from typing import Any

from calhub.store.clash_versions import key
from calhub.store.sqlitedb import utc_text

logger = logging.getLogger(__name__)

OccurrenceKey = tuple[str, str, str]  # (calendar, uid, recurrence id or "")
# Control characters iCalendar text may not hold: between a key's parts, and between keys.
FIELD, RECORD = "\x1f", "\x1e"
MARKS = ("approved", "soft", "hard")  # by rank: mark 0, 1, 2

# Columns added to clash_instances (calhub.store.records.ADDED_COLUMNS).
ADDED_COLUMNS = (
    ("clash_instances", "keys", "TEXT NOT NULL DEFAULT ''"),
    ("clash_instances", "mark", "INTEGER NOT NULL DEFAULT -1"),
)


def mark_of(clash_id: str) -> str:
    """SQL for the mark an instance of the record ``clash_id`` (an SQL expression) has."""
    return (
        "coalesce((SELECT CASE WHEN c.resolved THEN -1 WHEN EXISTS (SELECT 1 FROM approvals a "
        "WHERE a.clash_id = c.id) THEN 0 WHEN c.severity = 'hard' THEN 2 ELSE 1 END "
        f"FROM clashes c WHERE c.id = {clash_id}), -1)"
    )


def _remark(clash_id: str) -> str:
    return (
        f"UPDATE clash_instances SET mark = {mark_of(clash_id)} "
        f"WHERE clash_id = {clash_id} AND mark != {mark_of(clash_id)};"
    )


# After the columns exist (a file from before them is migrated first). A trigger on
# approvals fires for ``INSERT OR REPLACE`` too: SQLite runs the insert's, and the mark is
# worked out from the tables as they are then, not counted up and down.
SCHEMA = f"""
CREATE INDEX IF NOT EXISTS clash_instances_marks
    ON clash_instances (start_at, end_at, mark, clash_id, keys) WHERE mark >= 0;
CREATE TRIGGER IF NOT EXISTS clash_instances_mark AFTER INSERT ON clash_instances
WHEN NEW.mark != {mark_of("NEW.clash_id")}
BEGIN
    UPDATE clash_instances SET mark = {mark_of("NEW.clash_id")} WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER IF NOT EXISTS clashes_mark_new AFTER INSERT ON clashes
BEGIN {_remark("NEW.id")} END;
CREATE TRIGGER IF NOT EXISTS clashes_mark_changed AFTER UPDATE OF resolved, severity ON clashes
WHEN OLD.resolved IS NOT NEW.resolved OR OLD.severity IS NOT NEW.severity
BEGIN {_remark("NEW.id")} END;
CREATE TRIGGER IF NOT EXISTS clashes_mark_gone AFTER DELETE ON clashes
BEGIN UPDATE clash_instances SET mark = -1 WHERE clash_id = OLD.id AND mark != -1; END;
CREATE TRIGGER IF NOT EXISTS approvals_mark_new AFTER INSERT ON approvals
BEGIN {_remark("NEW.clash_id")} END;
CREATE TRIGGER IF NOT EXISTS approvals_mark_gone AFTER DELETE ON approvals
BEGIN {_remark("OLD.clash_id")} END;
CREATE TRIGGER IF NOT EXISTS approvals_mark_moved AFTER UPDATE OF clash_id ON approvals
BEGIN {_remark("OLD.clash_id")} {_remark("NEW.clash_id")} END;
"""

# An instance row as the stores write it: the record's mark worked out in the statement, so
# the trigger above has nothing to do.
INSERT = (
    "INSERT {verb} INTO clash_instances (clash_id, instance, start_at, end_at, occurrences, "
    f"fingerprint, keys, mark) VALUES (?, ?, ?, ?, ?, ?, ?, {mark_of('?')})"
)


def insert_sql(replace: bool = False) -> str:
    """The statement for rows ``(clash_id, instance, start, end, occurrences text,
    fingerprint, keys, clash_id)``."""
    return INSERT.format(verb="OR REPLACE" if replace else "")


def keys_text(keys: Iterable[OccurrenceKey]) -> str:
    """``keys`` as the ``keys`` column holds them; "" when an id holds a separator (that
    row's marks are read from its occurrences)."""
    parts = [FIELD.join(k) for k in keys]
    text = RECORD.join(parts)
    if text.count(FIELD) != 2 * len(parts) or text.count(RECORD) != max(len(parts) - 1, 0):
        return ""
    return text


def keys_of_json(text: str) -> str:
    """:func:`keys_text` of an instance's occurrences as stored (JSON)."""
    return keys_text(key(o) for o in json.loads(text))


def fill(connection: sqlite3.Connection) -> None:
    """Give the rows of a file from before these columns their keys and marks (once, in the
    migration's transaction)."""
    connection.create_function("calhub_keys", 1, keys_of_json, deterministic=True)
    done = connection.execute(
        f"UPDATE clash_instances SET keys = calhub_keys(occurrences), "
        f"mark = {mark_of('clash_instances.clash_id')}"
    ).rowcount
    logger.info("hub.sqlite: %d clash instances given their marks", done)


def window_query(
    start: dt.datetime, end: dt.datetime, calendar: str | None, longest: int | None
) -> tuple[str, list[Any]]:
    """The query of :func:`marks_between`: (SQL, arguments). One row: the keys of each mark
    joined in one text, then the rows without keys. Joined by SQLite, 30,000 instances'
    keys are one string to split, not 30,000 rows to make (half the time, issue 21)."""
    joined = ", ".join(
        f"group_concat(CASE WHEN i.mark = {mark} AND i.keys != '' THEN i.keys END, char(30))"
        for mark in range(len(MARKS))
    )
    sql = (
        f"SELECT {joined}, group_concat(CASE WHEN i.keys = '' THEN i.rowid END) "
        "FROM clash_instances i WHERE i.mark >= 0 AND i.start_at < ? AND i.end_at > ?"
    )
    args: list[Any] = [utc_text(end), utc_text(start)]
    if longest is not None:
        sql += " AND i.start_at > ?"
        args.append(utc_text(start - dt.timedelta(seconds=longest + 1)))
    if calendar is not None:
        # The window's range first (the unary + keeps SQLite from going by the partner's
        # records instead: a busy partner is in most of them, and their rows are wide).
        sql += " AND +i.clash_id IN (SELECT clash_id FROM clash_members WHERE calendar=?)"
        args.append(calendar)
    return sql, args


def marks_between(
    db: sqlite3.Connection,
    start: dt.datetime,
    end: dt.datetime,
    calendar: str | None = None,
    longest: int | None = None,
) -> dict[OccurrenceKey, str]:
    """Each occurrence's mark from the unresolved instances overlapping [start, end) (of
    records with an event of ``calendar``, if given). ``longest``: the longest instance
    on record in seconds, so the window reads a range of the index."""
    sql, args = window_query(start, end, calendar, longest)
    *joined, unkeyed = db.execute(sql, args).fetchone()
    ranks: dict[OccurrenceKey, int] = {}
    # A higher mark overrides a lower one.
    for mark, text in enumerate(joined):
        for one in set(text.split(RECORD)) if text else ():
            calendar_id, uid, recurrence_id = one.split(FIELD)
            ranks[(calendar_id, uid, recurrence_id)] = mark
    for rowid in unkeyed.split(",") if unkeyed else ():
        mark, text = db.execute(
            "SELECT mark, occurrences FROM clash_instances WHERE rowid=?", (int(rowid),)
        ).fetchone()
        for occurrence in json.loads(text):
            found = key(occurrence)
            if ranks.get(found, -1) < mark:
                ranks[found] = mark
    return {found: MARKS[mark] for found, mark in ranks.items()}
