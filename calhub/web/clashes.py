"""Clash records as the web shows them: counts, pages, grouping, marks.

Who may see which is ``calhub.hub.policy``'s decision (a coordinator every clash, a partner
those with an event of its own calendar); the store filters by it in SQL.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import zoneinfo
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app

from calhub.engine import Audience
from calhub.engine.rules import registry
from calhub.store.record_types import ClashRecord, StoredOccurrence
from calhub.store.records import Filters, Page
from calhub.web.context import current_runtime

if TYPE_CHECKING:
    from calhub.hub.accounts import Account
    from calhub.runtime import Runtime

OccurrenceKey = tuple[str, str, str]  # (calendar, uid, recurrence_id or "")
Marks = dict[OccurrenceKey, str]
MARKS_KEY = "calhub_marks"  # the app's MarkCache, in app.extensions


class MarkCache:
    """The marks of the latest few (records version, scope, window) asked for.

    Reading them costs an index entry per clash instance in the window (issue 21: 30,000 in
    six weeks of a dense 10,000-event hub, see calhub.store.record_marks), and the month
    grid asks for the same few windows all day; the records' ``state()`` changes with every
    write to them, so an entry is never stale. Kept small: an entry of a dense month holds a
    few thousand keys.
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._found: OrderedDict[tuple[str, str | None, str, str], Marks] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str | None, str, str]) -> Marks | None:
        with self._lock:
            found = self._found.get(key)
            if found is not None:
                self._found.move_to_end(key)
            return found

    def put(self, key: tuple[str, str | None, str, str], marks: Marks) -> None:
        with self._lock:
            self._found[key] = marks
            self._found.move_to_end(key)
            while len(self._found) > self.size:
                self._found.popitem(last=False)


def can_see(account: Account, record: ClashRecord) -> bool:
    """Whether ``account`` may see ``record`` (calhub.hub.policy decides)."""
    return current_runtime().policy.can_see_clash(account, record.calendars)


def open_count(runtime: Runtime, account: Account) -> int:
    """Open (not approved, not resolved) clashes ``account`` may see: the nav badge."""
    scope = runtime.policy.clash_scope(account)
    return runtime.records.count(Filters(status="open"), calendar=scope)


def visible_page(
    runtime: Runtime, account: Account, filters: Filters, limit: int | None, offset: int = 0
) -> Page:
    """One page of the records ``account`` may see, open and coming ones first (SQL does
    the filtering, ordering and paging: a hub may hold thousands of records)."""
    scope = runtime.policy.clash_scope(account)
    return runtime.records.page(filters, limit, offset, calendar=scope)


def occurrence_key(occurrence: StoredOccurrence) -> OccurrenceKey:
    return (occurrence["calendar"], occurrence["uid"], occurrence.get("recurrence_id") or "")


def marks(
    runtime: Runtime,
    account: Account,
    start: dt.datetime,
    end: dt.datetime,
    cached: bool = False,
) -> Marks:
    """How to mark each occurrence in [start, end): ``hard``/``soft`` for an open clash
    (hard wins), ``approved`` when all its clashes are approved. With ``cached`` (the
    plan's grid, whose windows recur), served from the app's :class:`MarkCache` while the
    records are unchanged; do not change the dict returned."""
    scope = runtime.policy.clash_scope(account)
    cache: MarkCache | None = current_app.extensions.get(MARKS_KEY) if cached else None
    # The version first: a write while the marks are read shows as a newer version next time.
    key = (runtime.records.state(), scope, start.isoformat(), end.isoformat())
    found = None if cache is None else cache.get(key)
    if found is None:
        found = runtime.records.marks_between(start, end, scope)
        if cache is not None:
            cache.put(key, found)
    return found


Concern = tuple[str, "Audience | None"]  # (mark, whose trouble it is; None: the whole event's)


def concerns(
    runtime: Runtime,
    account: Account,
    start: dt.datetime,
    end: dt.datetime,
    known: dict[OccurrenceKey, Audience],
) -> dict[OccurrenceKey, list[Concern]]:
    """Each occurrence's clashes in [start, end) as the grade board needs them: the mark
    (as :func:`marks` gives it) and whom the clash concerns (the rule says: the classes at
    both events for a students' clash, the whole event for a double-booked room), so an
    event for 10–11 clashing with one for 10А reddens 10А's rows, not grade 11's.
    ``known`` has the audiences of the occurrences on show; others are read from the
    record's own label."""
    rules = registry()
    parser = runtime.parts.parser
    found: dict[OccurrenceKey, list[Concern]] = {}
    scope = runtime.policy.clash_scope(account)
    for severity, approved, occurrences, rule in runtime.records.instances_between(
        start, end, scope
    ):
        mark = "approved" if approved else severity
        audiences = []
        for occurrence in occurrences:
            audience = known.get(occurrence_key(occurrence)) or parser.parse(occurrence["audience"])
            if audience is not None:
                audiences.append(audience)
        kind = rules.get(rule)
        whose = kind.concerned(audiences) if kind is not None else None
        for occurrence in occurrences:
            found.setdefault(occurrence_key(occurrence), []).append((mark, whose))
    return found


def records_of_event(
    runtime: Runtime, account: Account, calendar: str, uid: str, recurrence_id: str = ""
) -> list[ClashRecord]:
    """Unresolved clashes of one event (of one occurrence, when ``recurrence_id`` is given)
    that ``account`` may see."""
    records = runtime.records
    ids = records.active_ids_for([(calendar, uid)])
    if not ids:
        return []
    scope = runtime.policy.clash_scope(account)
    found = []
    for record in records.page(Filters(), ids=sorted(ids), calendar=scope, order="start").records:
        if recurrence_id:
            # This occurrence in one of the record's instances, and shown by that one.
            wanted = (calendar, uid, recurrence_id)
            mine = [
                i
                for i in records.instances(record.id)
                if wanted in {occurrence_key(o) for o in i.occurrences}
            ]
            if not mine:
                continue
            record = record.shown_by(mine[0].occurrences)
        found.append(record)
    return found


@dataclass(frozen=True, slots=True)
class ClashGroup:
    severity: str
    days: list[tuple[dt.date, list[ClashRecord]]]

    @property
    def count(self) -> int:
        return sum(len(records) for _, records in self.days)


def first_day(record: ClashRecord, tz: str) -> dt.date:
    start = min(dt.datetime.fromisoformat(o["start"]) for o in record.occurrences)
    return start.astimezone(zoneinfo.ZoneInfo(tz)).date()


def group_records(records: Iterable[ClashRecord], tz: str) -> list[ClashGroup]:
    """Hard clashes first, then soft; within each, by the day of the instance shown, in the
    order given (the store's: open first, coming ones first)."""
    records = list(records)
    groups = []
    for severity in ("hard", "soft"):
        chosen = [r for r in records if r.severity == severity]
        days = [
            (day, list(items))
            for day, items in itertools.groupby(chosen, key=lambda r: first_day(r, tz))
        ]
        if days:
            groups.append(ClashGroup(severity, days))
    return groups
