"""Clash records as the web shows them: who may see which, counts, grouping, marks.

A coordinator sees every clash; a partner only those with an event of its own calendar
(the same rule as ``/api/conflicts``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from calhub.records import Filters, Page

if TYPE_CHECKING:
    from calhub.accounts import Account
    from calhub.hub import Hub

OccurrenceKey = tuple[str, str, str]  # (calendar, uid, recurrence_id or "")

COUNT_OPEN = (
    "SELECT count(*) FROM clashes c LEFT JOIN approvals a ON a.clash_id = c.id "
    "WHERE c.resolved = 0 AND a.clash_id IS NULL"
)
COUNT_OPEN_OF_CALENDAR = (
    "SELECT count(*) FROM clashes c LEFT JOIN approvals a ON a.clash_id = c.id "
    "WHERE c.resolved = 0 AND a.clash_id IS NULL "
    "AND c.id IN (SELECT clash_id FROM clash_members WHERE calendar = ?)"
)


def visible_calendar(account: Account) -> str | None:
    """The calendar whose clashes ``account`` may see, or None for all of them."""
    return None if account.is_coordinator else account.login


def can_see(account: Account, record: Mapping[str, Any]) -> bool:
    calendar = visible_calendar(account)
    return calendar is None or any(o["calendar"] == calendar for o in record["occurrences"])


def open_count(hub: Hub, account: Account) -> int:
    """Open (not approved, not resolved) clashes ``account`` may see: the nav badge."""
    calendar = visible_calendar(account)
    db = hub.tracker.records.db
    if calendar is None:
        row = db.execute(COUNT_OPEN).fetchone()
    else:
        row = db.execute(COUNT_OPEN_OF_CALENDAR, (calendar,)).fetchone()
    return int(row[0])


def visible_records(hub: Hub, account: Account, filters: Filters) -> list[dict[str, Any]]:
    """Every record ``account`` may see matching ``filters``, by first start."""
    calendar = visible_calendar(account)
    return hub.tracker.records.page(filters, calendar=calendar, order="start").records


def visible_page(hub: Hub, account: Account, filters: Filters, limit: int, offset: int) -> Page:
    """One page of the records ``account`` may see, open and coming ones first (SQL does
    the filtering, ordering and paging: a hub may hold thousands of records)."""
    calendar = visible_calendar(account)
    return hub.tracker.records.page(filters, limit, offset, calendar=calendar)


def occurrence_key(occurrence: Mapping[str, Any]) -> OccurrenceKey:
    return (occurrence["calendar"], occurrence["uid"], occurrence.get("recurrence_id") or "")


def marks(
    hub: Hub, account: Account, start: dt.datetime, end: dt.datetime
) -> dict[OccurrenceKey, str]:
    """How to mark each occurrence in [start, end): ``hard``/``soft`` for an open clash
    (hard wins), ``approved`` when all its clashes are approved."""
    found: dict[OccurrenceKey, str] = {}
    rank = {"approved": 0, "soft": 1, "hard": 2}
    instances = hub.tracker.records.instances_between(start, end, visible_calendar(account))
    for severity, approved, occurrences in instances:
        mark = "approved" if approved else severity
        for occurrence in occurrences:
            key = occurrence_key(occurrence)
            if rank[mark] > rank.get(found.get(key, ""), -1):
                found[key] = mark
    return found


def records_of_event(
    hub: Hub, account: Account, calendar: str, uid: str, recurrence_id: str = ""
) -> list[dict[str, Any]]:
    """Unresolved clashes of one event (of one occurrence, when ``recurrence_id`` is given)."""
    records = hub.tracker.records
    ids = records.active_ids_for([(calendar, uid)])
    if not ids:
        return []
    found = []
    for record in records.query(Filters(), ids=sorted(ids)):
        if not can_see(account, record):
            continue
        if recurrence_id:
            # This occurrence in one of the record's instances, and shown by that one.
            wanted = (calendar, uid, recurrence_id)
            mine = [
                i
                for i in records.instances(record["id"])
                if wanted in {occurrence_key(o) for o in i["occurrences"]}
            ]
            if not mine:
                continue
            record["occurrences"] = mine[0]["occurrences"]
        found.append(record)
    return found


@dataclass(frozen=True, slots=True)
class ClashGroup:
    severity: str
    days: list[tuple[dt.date, list[dict[str, Any]]]]

    @property
    def count(self) -> int:
        return sum(len(records) for _, records in self.days)


def first_day(record: Mapping[str, Any], tz: str) -> dt.date:
    start = min(dt.datetime.fromisoformat(o["start"]) for o in record["occurrences"])
    return start.astimezone(zoneinfo.ZoneInfo(tz)).date()


def group_records(records: Iterable[dict[str, Any]], tz: str) -> list[ClashGroup]:
    """Hard clashes first, then soft; within each, by the day of the instance shown, in the
    order given (the store's: open first, coming ones first)."""
    records = list(records)
    groups = []
    for severity in ("hard", "soft"):
        chosen = [r for r in records if r["severity"] == severity]
        days = [
            (day, list(items))
            for day, items in itertools.groupby(chosen, key=lambda r: first_day(r, tz))
        ]
        if days:
            groups.append(ClashGroup(severity, days))
    return groups
