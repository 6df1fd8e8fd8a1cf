"""Reading a report's facts from the hub: the index, Radicale's storage, the clash records.

- the occurrences held or planned: the index (``runtime.index``), those starting in the
  range, of every calendar but the closed periods';
- the cancelled ones (counted apart) and the transparent ones (held, but free time: the
  index leaves both out, as they never clash), and when each event was written: the stored
  objects of the range, read under Radicale's shared lock; the times are
  the objects' own LAST-MODIFIED, CREATED and DTSTAMP (:mod:`calhub.engine.stamps`);
- the clashes: the records with a date in the range (``runtime.records``), settled at their
  approval or resolution time, and the move requests accepted (``runtime.move_requests``);
- the ratings: the source passed in (:class:`calhub.reports.ratings.RatingsSource`).

A report shows what the index holds: occurrences within the hub's horizon
(``horizon_past_days``, ``horizon_future_days``).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import zoneinfo
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from calhub.engine import Audience, InvalidCalendarData, Occurrence
from calhub.engine.stamps import WriteStamps, object_stamps, scan_stamps, with_all_parts
from calhub.engine.validate import parse_calendar
from calhub.errors import UserError
from calhub.reports.compute import compute, scoped
from calhub.reports.model import ClashFact, OccurrenceFact, Report, ReportFacts
from calhub.reports.ranges import day_bounds
from calhub.reports.ratings import NO_FEEDBACK, RatingsSource
from calhub.store.records import Filters

if TYPE_CHECKING:
    from calhub.dav.storage import Storage
    from calhub.hub.accounts import Account
    from calhub.hub.settings import CalendarSettings
    from calhub.runtime import EngineParts, Runtime
    from calhub.store.record_types import ClashRecord

logger = logging.getLogger(__name__)

__all__ = ["ObjectFacts", "ObjectMemo", "collect", "make_report"]


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _objects(
    storage: Storage, calendar: CalendarSettings, hrefs: Iterable[str]
) -> list[tuple[str, str]]:
    """(href, text) of the stored objects asked for, read under Radicale's shared lock."""
    wanted = sorted(set(hrefs))
    if not wanted:
        return []
    texts: list[tuple[str, str]] = []
    with storage.acquire_lock("r", "calhub-report"):
        collection: Any = next(iter(storage.discover(calendar.path)), None)
        if collection is None or not callable(getattr(collection, "get_multi", None)):
            logger.warning("Report: calendar %s has no collection in storage", calendar.id)
            return []
        for href, item in collection.get_multi(wanted):
            if item is not None:
                texts.append((str(href), str(item.serialize())))
    return texts


@dataclass(frozen=True, slots=True)
class ObjectFacts:
    """What a report learns from one stored object: its components' write times, and the
    occurrences the index leaves out (``True``: cancelled; ``False``: transparent)."""

    stamps: dict[tuple[str, str], WriteStamps]
    extra: tuple[tuple[Occurrence, bool], ...] = ()


class ObjectMemo:
    """:class:`ObjectFacts` by (calendar, href, etag, calendar fingerprint), so a report
    made again after a write reads and parses only the objects that changed (the web app
    keeps one; a command makes its report once and needs none). Bounded, oldest out."""

    def __init__(self, size: int = 50_000) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._kept: OrderedDict[tuple[str, str, str, str], ObjectFacts] = OrderedDict()

    def get(self, key: tuple[str, str, str, str]) -> ObjectFacts | None:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, key: tuple[str, str, str, str], facts: ObjectFacts) -> None:
        with self._lock:
            self._kept[key] = facts
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kept)


def _read_object(
    parts: EngineParts, calendar: CalendarSettings, text: str, zone: zoneinfo.ZoneInfo
) -> ObjectFacts:
    # Most objects have neither: their times come from a scan of the lines, no parse.
    upper = text.upper()
    if "CANCELLED" not in upper and "TRANSPARENT" not in upper:
        return ObjectFacts(scan_stamps(text, zone))
    parsed = parse_calendar(text, keep_timezones=True)
    stamps = object_stamps(parsed, zone)
    everything = with_all_parts(parsed, zone)
    if everything is None:
        return ObjectFacts(stamps)
    kept = {o.key for o in parts.expand(calendar, text)}
    extra = tuple(
        (o, everything.is_cancelled(o.uid, o.recurrence_id))
        for o in parts.expand(calendar, everything.text)
        if o.key not in kept
    )
    return ObjectFacts(stamps, extra)


class _Stamps:
    """The write times of one calendar's objects in the range, by (uid, recurrence id)."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str], WriteStamps] = {}

    def add(self, found: dict[tuple[str, str], WriteStamps]) -> None:
        self.by_key.update(found)

    def of(self, uid: str, recurrence_id: str) -> tuple[dt.datetime | None, dt.datetime | None]:
        """(changed, published) of one occurrence: its override's change, else the master's;
        the series' first publication."""
        master = self.by_key.get((uid, ""))
        own = self.by_key.get((uid, recurrence_id)) if recurrence_id else None
        governing = own or master
        changed = None if governing is None else governing.changed
        published_from = [s.published for s in (master, own) if s is not None and s.published]
        published = min(published_from) if published_from else None
        return changed, published


def _fact(o: Occurrence, stamps: _Stamps, cancelled: bool = False) -> OccurrenceFact:
    changed, published = stamps.of(o.uid, o.recurrence_id)
    return OccurrenceFact(
        calendar=o.calendar,
        uid=o.uid,
        summary=o.summary,
        start=o.start,
        end=o.end,
        all_day=o.all_day,
        audience=o.audience,
        cancelled=cancelled,
        changed=changed,
        published=published,
    )


def _calendar_facts(
    runtime: Runtime,
    storage: Storage,
    calendar: CalendarSettings,
    held: list[Occurrence],
    start: dt.datetime,
    end: dt.datetime,
    memo: ObjectMemo | None = None,
) -> list[OccurrenceFact]:
    zone = zoneinfo.ZoneInfo(runtime.settings.timezone)
    parts = runtime.parts
    held = list(held)
    fingerprint = parts.calendar_fingerprint(calendar)
    items = runtime.index.items(calendar.id)
    found: list[ObjectFacts] = []
    unread: dict[str, tuple[str, str, str, str]] = {}
    for href, _ in runtime.index.hrefs_in_range(
        calendar.id, math.floor(start.timestamp()), math.ceil(end.timestamp())
    ):
        item = items.get(href)
        key = (calendar.id, href, "" if item is None else item.etag, fingerprint)
        known = None if memo is None or item is None else memo.get(key)
        if known is None:
            unread[href] = key
        else:
            found.append(known)
    for href, text in _objects(storage, calendar, unread):
        try:
            facts = _read_object(parts, calendar, text, zone)
        except (InvalidCalendarData, ValueError) as exc:
            # The index took the object, so this is rare: a report leaves its times out.
            logger.warning("Report: an object of %s could not be read: %s", calendar.id, exc)
            continue
        found.append(facts)
        if memo is not None and unread[href][2]:
            memo.put(unread[href], facts)
    stamps = _Stamps()
    cancelled: list[Occurrence] = []
    for facts in found:
        stamps.add(facts.stamps)
        for o, is_cancelled in facts.extra:
            if start <= o.start < end:
                (cancelled if is_cancelled else held).append(o)
    result = [_fact(o, stamps) for o in held]
    result.extend(_fact(o, stamps, cancelled=True) for o in cancelled)
    return result


def _clash_facts(runtime: Runtime, records: list[ClashRecord]) -> list[ClashFact]:
    audiences: dict[str, frozenset[int]] = {}
    parser = runtime.parts.parser

    def grades(label: str) -> frozenset[int]:
        """The grades of an audience as the record wrote it (``Audience.label()``: "8–11",
        "9, 10А", "вся школа"), read back with the hub's parser."""
        if label not in audiences:
            if label in ("вся школа", "whole school"):
                audience: Audience | None = Audience.whole_school()
            else:
                audience = parser.parse(label.replace("–", "-"))
            audiences[label] = frozenset() if audience is None else audience.grades_touched()
        return audiences[label]

    facts = []
    for record in records:
        # Settled when first approved or gone: an approved clash that later went away was
        # settled at its approval (the approval stays with the record).
        times = []
        if record.status in ("approved", "resolved") and record.approval is not None:
            times.append(_moment(record.approval.at))
        if record.status == "resolved" and record.resolved_at:
            times.append(_moment(record.resolved_at))
        settled = min(times) if times else None
        touched: set[int] = set()
        for side in record.occurrences:
            touched |= grades(side["audience"])
        moved = record.status == "resolved" and any(
            request.status == "accepted" for request in runtime.move_requests.of_clash(record.id)
        )
        facts.append(
            ClashFact(
                id=record.id,
                severity=record.severity,
                status=record.status,
                calendars=frozenset(record.calendars),
                grades=frozenset(touched),
                detected=_moment(record.detected_at),
                settled=settled,
                first_start=_moment(record.first_start),
                moved_on_request=moved,
            )
        )
    return facts


def collect(
    runtime: Runtime,
    storage: Storage,
    first: dt.date,
    last: dt.date,
    ratings: RatingsSource = NO_FEEDBACK,
    now: dt.datetime | None = None,
    memo: ObjectMemo | None = None,
) -> ReportFacts:
    """The facts of days ``first`` to ``last`` (hub time, both included); ``memo`` keeps
    what each stored object said between reports."""
    settings = runtime.settings
    start, end = day_bounds(first, last, settings.timezone)
    rows = [c for c in settings.calendars if c.role != "blackout" and not c.archived]
    wanted = {c.id for c in rows}
    held: dict[str, list[Occurrence]] = {c.id: [] for c in rows}
    for o in runtime.index.overlapping(start, end):
        if o.calendar in wanted and not o.is_blackout and start <= o.start < end:
            held[o.calendar].append(o)
    occurrences: list[OccurrenceFact] = []
    for calendar in rows:
        occurrences.extend(
            _calendar_facts(runtime, storage, calendar, held[calendar.id], start, end, memo)
        )
    records = runtime.records.query(Filters(start=start, end=end))
    answers = ratings.answers_between(start, end)
    return ReportFacts(
        first=first,
        last=last,
        start=start,
        end=end,
        now=now or dt.datetime.now(dt.UTC),
        timezone=settings.timezone,
        calendars=tuple((c.id, c.name) for c in rows),
        occurrences=tuple(sorted(occurrences, key=lambda o: (o.start, o.calendar, o.uid))),
        clashes=tuple(_clash_facts(runtime, records)),
        answers=tuple(answers),
        feedback_available=getattr(ratings, "available", True) is not False,
        late_change_days=settings.reports.late_change_days,
        publish_days_before=settings.reports.publish_days_before,
        school=settings.school,
    )


def make_report(
    runtime: Runtime,
    storage: Storage,
    first: dt.date,
    last: dt.date,
    ratings: RatingsSource = NO_FEEDBACK,
    account: Account | None = None,
    partner: str | None = None,
    now: dt.datetime | None = None,
    memo: ObjectMemo | None = None,
) -> Report:
    """The report ``account`` may see (None: the operator, everything), of one partner when
    ``partner`` is given (a partner account always gets its own, whatever it asks)."""
    facts = collect(runtime, storage, first, last, ratings, now, memo)
    scope = partner or None
    if account is not None:
        scope = runtime.policy.report_scope(account) or scope
    if scope is not None:
        if scope not in dict(facts.calendars):
            raise UserError(
                f"Нет партнёра «{scope}». / There is no partner {scope!r}.",
                "Список: calhub partner list. / See calhub partner list.",
            )
        facts = scoped(facts, scope)
    return compute(facts, scope)
