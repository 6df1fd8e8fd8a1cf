"""Reading clash records for people: filtered, ordered and paged by SQLite.

Every list (the web page, ``/api/conflicts``, ``calhub conflicts``) asks for one page of
records: the filters (status, severity, calendar, dates: a record is in a window when one
of its instances is), a partner's own records, the order (open, approved, resolved; hard
first; the next to happen first, past ones last) and the page are SQL, so no request reads
every record ever written (issue 12). Each record is shown by one instance (the next to
happen) with how many it has; :meth:`PagedRecords.instances` lists them, paged too.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from calhub.store import record_marks
from calhub.store.record_groups import is_group_rule
from calhub.store.record_types import (
    Approval,
    ClashRecord,
    HistoryEntry,
    Instance,
    InstanceMark,
    Message,
    StoredOccurrence,
)
from calhub.store.sqlitedb import IN_LIST, in_list, utc_text

__all__ = ["ClashRecord", "Filters", "HistoryEntry", "Instance", "Page", "PagedRecords"]


@dataclass(frozen=True, slots=True)
class Filters:
    """Which records a list shows. ``status``: open, approved, resolved, or ``unresolved``
    (open or approved); ``calendar``: with an event of it; ``calendars``: with an event
    of any of them; ``start``/``end``: with an instance in that window."""

    status: str | None = None
    calendar: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    severity: str | None = None
    calendars: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Page:
    """One page of clash records and how many match in all."""

    records: list[ClashRecord]
    total: int
    offset: int = 0
    limit: int | None = None


_RECORD_COLUMNS = (
    "c.id, c.rule, c.severity, c.resolved, c.detected_at, c.resolved_at, "
    "c.message_ru, c.message_en, a.approved_by, a.approved_at, a.comment, "
    "c.version, c.instances, c.first_start, c.last_end"
)
# Open first, then approved, then resolved; hard before soft; coming ones before past ones,
# the next first; past ones latest first.
_PEOPLE_ORDER = (
    " ORDER BY CASE WHEN c.resolved=1 THEN 2 WHEN a.clash_id IS NULL THEN 0 ELSE 1 END, "
    "CASE c.severity WHEN 'hard' THEN 0 ELSE 1 END, next_start IS NULL, next_start, "
    "c.last_end DESC, c.id"
)
_START_ORDER = " ORDER BY c.first_start, c.id"


class PagedRecords:
    """The reading half of :class:`calhub.store.records.ClashRecords` (``db`` is its connection)."""

    if TYPE_CHECKING:
        # Given by ThreadLocalDatabase, which comes first among ClashRecords' bases.
        @property
        def db(self) -> sqlite3.Connection: ...

    def get(self, clash_id: str, instances: bool = True) -> ClashRecord | None:
        """One record; with ``instances``, every place it happens (``instances``)."""
        rows = self.page(Filters(), ids=[clash_id]).records
        if not rows:
            return None
        record = rows[0]
        return record.with_instances(self.instances(clash_id)) if instances else record

    def instances(self, clash_id: str, limit: int | None = None, offset: int = 0) -> list[Instance]:
        """Where a record's clash happens, earliest first: start, end, the occurrences."""
        rows = self.db.execute(
            "SELECT start_at, end_at, occurrences FROM clash_instances WHERE clash_id=? "
            "ORDER BY start_at, instance LIMIT ? OFFSET ?",
            (clash_id, -1 if limit is None else limit, offset),
        )
        return [Instance(r[0], r[1], _occurrences(r[2])) for r in rows]

    def instances_between(
        self, start: dt.datetime, end: dt.datetime, calendar: str | None = None
    ) -> list[InstanceMark]:
        """Each instance of an unresolved record in [start, end) (of records with an event of
        ``calendar`` if given): its severity, approval, occurrences and rule."""
        return list(self.each_instance_between(start, end, calendar))

    def each_instance_between(
        self, start: dt.datetime, end: dt.datetime, calendar: str | None = None
    ) -> Iterator[InstanceMark]:
        """:meth:`instances_between` one at a time: a window of a dense hub holds tens of
        thousands (issue 21: 54,000 in six weeks, over 100 MB read into one list)."""
        sql = (
            "SELECT c.severity, a.clash_id IS NOT NULL, i.occurrences, c.rule"
            " FROM clash_instances i JOIN clashes c ON c.id = i.clash_id"
            " LEFT JOIN approvals a ON a.clash_id = c.id "
            "WHERE c.resolved=0 AND i.start_at < ? AND i.end_at > ?"
        )
        args: list[Any] = [utc_text(end), utc_text(start)]
        longest = self._longest_instance()
        if longest is not None:
            sql += " AND i.start_at > ?"
            args.append(utc_text(start - dt.timedelta(seconds=longest + 1)))
        if calendar is not None:
            sql += " AND c.id IN (SELECT clash_id FROM clash_members WHERE calendar=?)"
            args.append(calendar)
        for row in self.db.execute(sql, args):
            yield InstanceMark(row[0], bool(row[1]), _occurrences(row[2]), row[3])

    def marks_between(
        self, start: dt.datetime, end: dt.datetime, calendar: str | None = None
    ) -> dict[tuple[str, str, str], str]:
        """Each occurrence's mark in [start, end): ``hard``/``soft`` for an open clash (hard
        wins), ``approved`` when all its clashes there are approved; of records with an event
        of ``calendar``, if given. From the marks kept with the instances
        (:mod:`calhub.store.record_marks`): one range of one index."""
        return record_marks.marks_between(self.db, start, end, calendar, self._longest_instance())

    def _longest_instance(self) -> int | None:
        """The longest instance on record, in whole seconds (kept by a trigger): an
        instance overlapping a window starts at most that long before it."""
        row = self.db.execute(
            "SELECT CAST(value AS INTEGER) FROM records_meta WHERE key='longest_instance'"
        ).fetchone()
        return None if row is None else int(row[0])

    def history(
        self, clash_id: str | None = None, limit: int = 200, calendar: str | None = None
    ) -> list[HistoryEntry]:
        """The latest entries first (of one record; of records with an event of
        ``calendar``)."""
        sql = (
            "SELECT clash_id, at, actor, action, comment, message_ru, message_en FROM history"
            " WHERE 1=1"
        )
        args: list[Any] = []
        if clash_id is not None:
            sql += " AND clash_id=?"
            args.append(clash_id)
        if calendar is not None:
            sql += " AND clash_id IN (SELECT clash_id FROM clash_members WHERE calendar=?)"
            args.append(calendar)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        # ``message``: what calhub itself says about the entry (a changed approved clash).
        return [
            HistoryEntry(r[0], r[1], r[2], r[3], r[4], Message(r[5], r[6]))
            for r in self.db.execute(sql, args)
        ]

    def query(self, filters: Filters, ids: Iterable[str] | None = None) -> list[ClashRecord]:
        """Every record matching ``filters`` (of ``ids``, if given), by first start."""
        return self.page(filters, ids=ids, order="start").records

    def events_in_open(self, severity: str = "hard") -> set[tuple[str, str]]:
        """(calendar, uid) of every event in an open (unapproved, unresolved) clash of
        ``severity``: what a feed marks as not settled, without reading the records."""
        rows = self.db.execute(
            "SELECT DISTINCT m.calendar, m.uid FROM clash_members m "
            "JOIN clashes c ON c.id = m.clash_id LEFT JOIN approvals a ON a.clash_id = c.id "
            "WHERE c.resolved = 0 AND a.clash_id IS NULL AND c.severity = ?",
            (severity,),
        )
        return {(str(calendar), str(uid)) for calendar, uid in rows}

    def open_by_calendar(self) -> dict[str, int]:
        """How many open records have an event of each calendar (a record of two events of
        one calendar counts once for it)."""
        rows = self.db.execute(
            "SELECT m.calendar, count(DISTINCT m.clash_id) FROM clash_members m "
            "JOIN clashes c ON c.id = m.clash_id LEFT JOIN approvals a ON a.clash_id = c.id "
            "WHERE c.resolved = 0 AND a.clash_id IS NULL GROUP BY m.calendar"
        )
        return {str(calendar): int(count) for calendar, count in rows}

    def count(self, filters: Filters, calendar: str | None = None) -> int:
        """How many records match ``filters`` (with an event of ``calendar``, if given)."""
        where, args = _where(filters, None, calendar)
        # Here and below, the SQL built holds placeholders and constant text only.
        sql = f"SELECT count(*) FROM clashes c LEFT JOIN approvals a ON a.clash_id = c.id{where}"
        return int(self.db.execute(sql, args).fetchone()[0])

    def open_counts(self, calendar: str | None = None) -> dict[str, int]:
        """Open records by severity (``hard``, ``soft``; with an event of ``calendar``, if
        given): one query, for the live badge, which asks only after a write."""
        where, args = _where(Filters(status="open"), None, calendar)
        sql = (
            "SELECT c.severity, count(*) FROM clashes c LEFT JOIN approvals a "
            f"ON a.clash_id = c.id{where} GROUP BY c.severity"
        )
        found = {"hard": 0, "soft": 0}
        for severity, number in self.db.execute(sql, args):
            found[str(severity)] = int(number)
        return found

    def page(
        self,
        filters: Filters,
        limit: int | None = None,
        offset: int = 0,
        *,
        ids: Iterable[str] | None = None,
        calendar: str | None = None,
        order: str = "people",
        now: dt.datetime | None = None,
    ) -> Page:
        """Records matching ``filters``, filtered, ordered and paged by SQLite.

        ``calendar``: only records with an event of it (what a partner may see).
        ``order``: ``people`` (open, then approved, then resolved; hard first; the next
        to happen first, past ones last) or ``start`` (by first start). Each record shows
        one instance as its ``occurrences`` (the next to happen in the filters' window,
        else the latest) with ``count`` instances in all; a group clash shows all its
        events.
        """
        wanted = None if ids is None else list(ids)
        if wanted is not None and not wanted:
            return Page([], 0, offset, limit)
        moment = utc_text(now or dt.datetime.now(dt.UTC))
        where, args = _where(filters, wanted, calendar)
        next_start = (
            "(SELECT min(i.start_at) FROM clash_instances i WHERE i.clash_id = c.id "
            "AND i.end_at > ?) AS next_start"
        )
        sql = (
            f"SELECT {_RECORD_COLUMNS}, c.occurrences, {next_start} FROM clashes c "
            f"LEFT JOIN approvals a ON a.clash_id = c.id{where}"
        )
        sql += _PEOPLE_ORDER if order == "people" else _START_ORDER
        sql += " LIMIT ? OFFSET ?"
        rows = self.db.execute(
            sql, [moment, *args, -1 if limit is None else limit, offset]
        ).fetchall()
        records = [self._shown(row, filters, moment) for row in rows]
        if limit is None and offset == 0:
            total = len(records)
        else:
            total = self.count(filters, calendar) if wanted is None else len(records)
        return Page(records, total, offset, limit)

    def _shown(self, row: tuple[Any, ...], filters: Filters, moment: str) -> ClashRecord:
        """A record with the instance it is shown by."""
        count, clash_id = row[12], row[0]
        if count <= 1:
            return _record(row[:15], row[16], _occurrences(row[15]))
        window, args = "", [clash_id]
        if filters.end is not None:
            window += " AND start_at < ?"
            args.append(utc_text(filters.end))
        if filters.start is not None:
            window += " AND end_at > ?"
            args.append(utc_text(filters.start))
        base = f"SELECT occurrences FROM clash_instances WHERE clash_id=?{window}"
        found = self.db.execute(
            f"{base} AND end_at > ? ORDER BY start_at LIMIT 1", [*args, moment]
        ).fetchone()
        if found is None:
            found = self.db.execute(f"{base} ORDER BY start_at DESC LIMIT 1", args).fetchone()
        return _record(row[:15], row[16], _occurrences(found[0] if found else row[15]))


def _where(filters: Filters, ids: list[str] | None, calendar: str | None) -> tuple[str, list[Any]]:
    sql = " WHERE 1=1"
    args: list[Any] = []
    if ids is not None:
        sql += f" AND c.id IN {IN_LIST}"
        args.append(in_list(ids))
    if filters.status == "resolved":
        sql += " AND c.resolved=1"
    elif filters.status == "approved":
        sql += " AND c.resolved=0 AND a.clash_id IS NOT NULL"
    elif filters.status == "open":
        sql += " AND c.resolved=0 AND a.clash_id IS NULL"
    elif filters.status == "unresolved":
        sql += " AND c.resolved=0"
    if filters.severity:
        sql += " AND c.severity=?"
        args.append(filters.severity)
    for chosen in (filters.calendar, calendar):
        if chosen:
            sql += " AND c.id IN (SELECT clash_id FROM clash_members WHERE calendar=?)"
            args.append(chosen)
    if filters.calendars:
        sql += f" AND c.id IN (SELECT clash_id FROM clash_members WHERE calendar IN {IN_LIST})"
        args.append(in_list(filters.calendars))
    if filters.start is not None or filters.end is not None:
        # In the window when one of its instances overlaps it.
        sql += " AND EXISTS (SELECT 1 FROM clash_instances i WHERE i.clash_id = c.id"
        if filters.end is not None:
            sql += " AND i.start_at < ?"
            args.append(utc_text(filters.end))
        if filters.start is not None:
            sql += " AND i.end_at > ?"
            args.append(utc_text(filters.start))
        sql += ")"
    return sql, args


def _occurrences(text: str) -> list[StoredOccurrence]:
    found: list[StoredOccurrence] = json.loads(text)
    return found


def _record(
    row: tuple[Any, ...], next_start: str | None, occurrences: list[StoredOccurrence]
) -> ClashRecord:
    (clash_id, rule, severity, resolved, detected, resolved_at, message_ru, message_en) = row[:8]
    approved_by, approved_at, comment, stored_version, count, first_start, last_end = row[8:]
    status = "resolved" if resolved else "approved" if approved_by else "open"
    approval = Approval(approved_by, approved_at, comment) if approved_by else None
    return ClashRecord(
        id=clash_id,
        rule=rule,
        severity=severity,
        status=status,
        detected_at=detected,
        resolved_at=resolved_at,
        approval=approval,
        message=Message(message_ru, message_en),
        occurrences=occurrences,
        count=count,
        first_start=first_start,
        next_start=next_start,
        last_end=last_end,
        version=stored_version,
        # A group clash (overload) counts events, not dates.
        group_rule=is_group_rule(rule),
    )
