"""The iCalendar document of a feed, and its version.

Read from Radicale's storage (the single source of truth: events whole, recurrences,
EXDATEs and overrides intact, never flattened), chosen with the occurrence index (which
calendar, which audience: the engine's audience model, not text matching) and marked with
the clash records (an event in an open hard clash is TENTATIVE with a marker in its title,
until the clash is approved or resolved).

What a document holds, by scope:

- ``all``, ``calendar:ID``: every stored object of every active calendar (of the one);
- ``audience:SPEC``: every stored object one of whose occurrences in the index has an
  audience meeting SPEC (:meth:`calhub.engine.Audience.intersects`);
- ``busy:SPEC``: one opaque block per occurrence of those events, times only
  (:data:`BUSY_SUMMARY`); nothing of the event but its times leaves the hub;
- ``conflicts``: one event per open clash record, at its shown instance (the next to
  happen), both sides in the description.

UIDs. A copied event's UID is ``<its UID>@<calendar id>``: unique across a merged feed even
when two calendars hold one UID (calendar ids have no ``@``, so the last ``@`` splits it
back), the same in every feed and every fetch, and an override keeps its master's. A busy
block's UID is ``busy-<hash>@calhub`` of the calendar, UID and instance (SHA-256, so it
says neither), a clash's ``clash-<record id>@calhub``. An event the hub mirrors in from a
source (``X-CALHUB-SOURCE``, :mod:`calhub.sources`) keeps the source's own UID and is
marked ``X-CALHUB-MIRRORED``: it is the same event in every hub, and another hub that adds
this feed as a source leaves it out, so no event is mirrored back to where it came from
(docs/federation.md).

Privacy. An event marked ``CLASS:PRIVATE`` or ``CLASS:CONFIDENTIAL`` (a partner's or the
school's) is shown in every feed as busy blocks only. Copied events lose their alarms
(a subscribed calendar would ring for every partner event) and their attendees (people's
addresses on a public feed).

Unsettled time. An event with an occurrence in an open hard clash (neither approved nor
resolved) is ``STATUS:TENTATIVE`` with :data:`TENTATIVE_MARK` before its title, in every
component (master and overrides), until the clash is approved or resolved.

Feedback. With the hub's address known (``[public] url``), a copied event of a partner's or
the school's calendar ends its description with the link to its feedback form
(:mod:`calhub.feedback.links`: signed, one link per event; it rates the latest occurrence
that has started), so a student finds it in the phone's calendar after the event.

Equal versions (:func:`feed_version`) make equal documents, byte for byte: no time of the
build is written (DTSTAMP is the source's, else :data:`FIXED_STAMP`).

Cost. Parsing and writing an object is most of a build (about 5 ms each); with an
:class:`ObjectPieces` kept per process, a build after one write parses only that object and
reads the rest as the bytes it gave last time.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import icalendar

from calhub.dav.mirror import DIGEST, MARKER, MIRRORED
from calhub.errors import CalhubError
from calhub.feedback.links import FeedbackKeys, LinkTarget, feedback_keys, form_url
from calhub.feeds.scopes import scope_title
from calhub.store.records_pages import Filters

if TYPE_CHECKING:
    from calhub.dav.storage import Storage
    from calhub.engine import Occurrence
    from calhub.feeds.scopes import FeedScope
    from calhub.hub.settings import CalendarSettings, Settings
    from calhub.runtime import Runtime
    from calhub.store.record_types import ClashRecord, StoredOccurrence

logger = logging.getLogger(__name__)

# Bumped when the documents built change for the same data, so old ETags stop matching.
FEED_FORMAT = "2"  # 2: feedback links in descriptions
PRODID = "-//calhub//feeds//RU"
REFRESH = dt.timedelta(hours=1)
REFRESH_TEXT = "PT1H"
TENTATIVE_MARK = "[?] "
BUSY_SUMMARY = "Занято / Busy"
FIXED_STAMP = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
PRIVATE_CLASSES = frozenset({"PRIVATE", "CONFIDENTIAL"})
# What a copied event loses: alarms and attendees (see the module's docstring).
DROPPED_PROPERTIES = ("ATTENDEE",)
DROPPED_COMPONENTS = frozenset({"VALARM"})
# Properties whose TZID parameter needs a VTIMEZONE in the document.
TIME_PROPERTIES = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "EXDATE", "RDATE")
RULE_NAMES = {
    "audience": "Одни классы / Same classes",
    "blackout": "Закрытый период / Closed period",
    "venue": "Одно место / Same venue",
    "travel": "Время на дорогу / Travel time",
    "duplicate": "Дубликат / Duplicate",
    "overload": "Перегрузка / Overload",
}


def feed_version(runtime: Runtime, scope: FeedScope) -> str:
    """What the document depends on, cheaply (no storage read): the index's and the
    records' ``state()``, the settings it uses, the scope. Equal versions, equal documents;
    the ETag is derived from it."""
    parts = [
        FEED_FORMAT,
        str(scope),
        runtime.index.state(),
        runtime.records.state(),
        settings_digest(runtime.settings),
    ]
    if scope.kind == "conflicts":
        # Each clash is shown at its next instance: which one that is moves with the day.
        parts.append(_today().isoformat())
    return "|".join(parts)


def settings_digest(settings: Settings) -> str:
    """The settings a document is made of: the school's name and time zone (the title,
    X-WR-TIMEZONE, all-day busy blocks), the calendars (which, their names, audiences,
    roles) and the groups (what an audience scope means)."""
    used = {
        "school": settings.school,
        "timezone": settings.timezone,
        "calendars": [
            [c.id, c.name, c.role, c.archived, c.audience, c.path] for c in settings.calendars
        ],
        "groups": sorted(settings.groups.items()),
        "public_url": settings.public_url,  # the feedback links' address
    }
    text = json.dumps(used, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def build_feed(
    runtime: Runtime, storage: Storage, scope: FeedScope, pieces: ObjectPieces | None = None
) -> bytes:
    """The whole document (CRLF, UTF-8): METHOD:PUBLISH, X-WR-CALNAME, X-WR-TIMEZONE,
    REFRESH-INTERVAL;VALUE=DURATION and X-PUBLISHED-TTL, a VTIMEZONE for every zone used.
    ``pieces``: the process's kept object pieces (none: every object is parsed)."""
    document = _Document(runtime, pieces)
    if scope.kind == "conflicts":
        document.add_conflicts()
    elif scope.kind == "busy":
        document.add_busy(_audience_occurrences(runtime, scope))
    else:
        calendars = _active_calendars(runtime.settings, scope)
        wanted = _audience_hrefs(runtime, scope) if scope.kind == "audience" else None
        for stored in read_objects(storage, calendars, wanted):
            document.add_object(stored)
    return document.serialize(scope_title(scope, runtime))


# -- choosing what a feed holds -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredObject:
    calendar: CalendarSettings
    href: str
    text: str
    uid: str = ""


@dataclass(frozen=True, slots=True)
class Piece:
    """What one stored object gives a feed: its events as iCalendar text, the TZIDs they
    use and the VTIMEZONEs it brought; or, for a private event, only its UID (its busy
    blocks come from the index)."""

    events: tuple[bytes, ...] = ()
    tzids: frozenset[str] = frozenset()
    timezones: tuple[tuple[str, bytes], ...] = ()
    private_uid: str | None = None


class ObjectPieces:
    """Pieces of stored objects kept by their text, so a feed built again after one write
    parses only what changed (a 10,000-event hub: seconds, not a minute). Bounded, least
    recently used out first; shared by the threads of one process (hold one per process,
    e.g. next to the :class:`~calhub.feeds.cache.FeedCache`, and pass it to
    :func:`build_feed`)."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._pieces: OrderedDict[tuple[str, str, str, bool], Piece] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str, bool]) -> Piece | None:
        with self._lock:
            piece = self._pieces.get(key)
            if piece is not None:
                self._pieces.move_to_end(key)
            return piece

    def put(self, key: tuple[str, str, str, bool], piece: Piece) -> None:
        with self._lock:
            self._pieces[key] = piece
            self._pieces.move_to_end(key)
            while len(self._pieces) > self.max_entries:
                self._pieces.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pieces.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._pieces)


def _active_calendars(settings: Settings, scope: FeedScope) -> list[CalendarSettings]:
    active = [c for c in settings.calendars if not c.archived]
    if scope.kind == "calendar":
        return [c for c in active if c.id == scope.value]
    return active


def _audience_occurrences(runtime: Runtime, scope: FeedScope) -> list[Occurrence]:
    """The index's occurrences, of active calendars, whose audience meets the scope's."""
    audience = scope.audience
    if audience is None:
        return []
    active = {c.id for c in runtime.settings.calendars if not c.archived}
    return [
        o
        for o in runtime.index.all_occurrences()
        if o.calendar in active and o.audience.intersects(audience)
    ]


def _audience_hrefs(runtime: Runtime, scope: FeedScope) -> dict[str, set[str]]:
    """Which stored objects, by calendar, have an occurrence for the scope's audience."""
    events: dict[str, set[str]] = {}
    for occurrence in _audience_occurrences(runtime, scope):
        events.setdefault(occurrence.calendar, set()).add(occurrence.uid)
    wanted: dict[str, set[str]] = {}
    for calendar, uids in events.items():
        hrefs = {href for href, item in runtime.index.items(calendar).items() if item.uid in uids}
        if hrefs:
            wanted[calendar] = hrefs
    return wanted


def read_objects(
    storage: Storage,
    calendars: Iterable[CalendarSettings],
    wanted: dict[str, set[str]] | None = None,
) -> list[StoredObject]:
    """The stored text of every object of ``calendars`` (only the ``wanted`` hrefs of each,
    when given), by calendar and href, read under Radicale's shared lock so no write is
    seen half done."""
    found: list[StoredObject] = []
    with storage.acquire_lock("r", "calhub-feed"):
        for calendar in calendars:
            hrefs = None if wanted is None else wanted.get(calendar.id, set())
            if hrefs is not None and not hrefs:
                continue
            collection: Any = next(iter(storage.discover(calendar.path)), None)
            if collection is None or not callable(getattr(collection, "get_all", None)):
                logger.warning("Feed: calendar %s has no collection in storage", calendar.id)
                continue
            if hrefs is None:
                items = list(collection.get_all())
            else:
                items = [item for _, item in collection.get_multi(sorted(hrefs)) if item]
            for item in sorted(items, key=lambda item: str(item.href)):
                text, uid = str(item.serialize()), str(getattr(item, "uid", "") or "")
                found.append(StoredObject(calendar, str(item.href), text, uid))
    return found


# -- the document ---------------------------------------------------------------------------


class _Document:
    """One feed being put together: its events and the time zones they use."""

    def __init__(self, runtime: Runtime, pieces: ObjectPieces | None = None) -> None:
        self.runtime = runtime
        self.pieces = pieces
        self.settings = runtime.settings
        self.zone = ZoneInfo(self.settings.timezone)
        self.events: list[bytes] = []
        self.timezones: dict[str, bytes] = {}
        self.tzids: set[str] = set()
        self._unsettled: set[tuple[str, str]] | None = None
        self._keys: FeedbackKeys | None = None

    # What the clash records say -----------------------------------------------------------

    @property
    def unsettled(self) -> set[tuple[str, str]]:
        """(calendar, uid) of the events in an open hard clash."""
        if self._unsettled is None:
            # One SQL query over the members: reading every open record whole took 7 s
            # and 800 MB with 129,000 open hard clashes (docs/benchmarks.md, Feeds).
            self._unsettled = self.runtime.records.events_in_open("hard")
        return self._unsettled

    # Whole events ---------------------------------------------------------------------------

    def add_object(self, stored: StoredObject) -> None:
        calendar = stored.calendar.id
        tentative = bool(stored.uid) and (calendar, stored.uid) in self.unsettled
        # The hub's address is in the piece (its feedback links): a new address, new pieces.
        digest = hashlib.sha256(
            (stored.text + "\0" + self.settings.public_url).encode()
        ).hexdigest()
        key = (calendar, stored.href, digest, tentative)
        piece = self.pieces.get(key) if self.pieces is not None else None
        if piece is None:
            try:
                piece = self._piece(stored, tentative)
            except Exception:  # one odd object must not take every feed down with it
                logger.warning(
                    "Feed: %s/%s cannot be copied, left out",
                    stored.calendar.id,
                    stored.href,
                    exc_info=True,
                )
                piece = Piece()
            if self.pieces is not None:
                self.pieces.put(key, piece)
        if piece.private_uid is not None:
            self.add_busy(self.runtime.index.occurrences_of(calendar, piece.private_uid))
            return
        for tzid, timezone in piece.timezones:
            self.timezones.setdefault(tzid, timezone)
        self.tzids.update(piece.tzids)
        self.events.extend(piece.events)

    def _piece(self, stored: StoredObject, tentative: bool) -> Piece:
        try:
            parsed = icalendar.Calendar.from_ical(stored.text)
        except ValueError as error:
            logger.warning(
                "Feed: %s/%s cannot be read, left out: %s", stored.calendar.id, stored.href, error
            )
            return Piece()
        events = [c for c in parsed.subcomponents if c.name == "VEVENT"]
        if not events:
            return Piece()
        uid = str(events[0].get("UID", ""))
        if any(PRIVATE_CLASSES.intersection(_upper_texts(e.get("CLASS"))) for e in events):
            return Piece(private_uid=uid)
        timezones = tuple(
            (str(c.get("TZID", "")), bytes(c.to_ical()))
            for c in parsed.subcomponents
            if c.name == "VTIMEZONE"
        )
        tzids: set[str] = set()
        copied = []
        link = self._feedback_link(stored.calendar, uid)
        for event in events:
            self._copy(event, stored.calendar.id, tentative)
            if link:
                _add_feedback_link(event, link)
            tzids.update(_tzids(event))
            copied.append(bytes(event.to_ical()))
        return Piece(tuple(copied), frozenset(tzids), timezones)

    def _feedback_link(self, calendar: CalendarSettings, uid: str) -> str:
        """The event's feedback link, or "" (no hub address; the blackout calendar)."""
        if not self.settings.public_url or not uid or calendar.role == "blackout":
            return ""
        if self._keys is None:
            self._keys = feedback_keys(self.runtime.hub)
        return form_url(self.settings.public_url, self._keys, LinkTarget(calendar.id, uid))

    def _copy(self, event: icalendar.Component, calendar: str, tentative: bool) -> None:
        uid = str(event.get("UID", ""))
        if MARKER in event:
            # Mirrored in from a source: published under the source's own UID (the same
            # event in every hub and app) and marked as a copy, so that no hub mirrors it
            # back as this hub's own (calhub.sources leaves such events out: no loops).
            for name in (MARKER, DIGEST):
                event.pop(name, None)
            event.add(MIRRORED, "1")
        else:
            event["UID"] = icalendar.vText(f"{uid}@{calendar}")
        for name in DROPPED_PROPERTIES:
            event.pop(name, None)
        event.subcomponents = [c for c in event.subcomponents if c.name not in DROPPED_COMPONENTS]
        if "DTSTAMP" not in event:
            stamp = event.get("LAST-MODIFIED") or event.get("CREATED")
            event.add("DTSTAMP", stamp.dt if stamp is not None else FIXED_STAMP)
        if tentative and "CANCELLED" not in _upper_texts(event.get("STATUS")):
            event.pop("STATUS", None)
            event.add("STATUS", "TENTATIVE")
            summary = str(event.get("SUMMARY", ""))
            if not summary.startswith(TENTATIVE_MARK):
                event.pop("SUMMARY", None)
                event.add("SUMMARY", TENTATIVE_MARK + summary)

    # Busy blocks ----------------------------------------------------------------------------

    def add_busy(self, occurrences: Iterable[Occurrence]) -> None:
        for occurrence in sorted(occurrences, key=lambda o: (o.start, o.end, o.key)):
            event = icalendar.Event()
            event.add("UID", busy_uid(occurrence))
            event.add("DTSTAMP", FIXED_STAMP)
            if occurrence.all_day:
                start = occurrence.start.astimezone(self.zone).date()
                end = max(occurrence.end.astimezone(self.zone).date(), start + dt.timedelta(1))
                event.add("DTSTART", start)
                event.add("DTEND", end)
            else:
                event.add("DTSTART", occurrence.start.astimezone(dt.UTC))
                event.add("DTEND", occurrence.end.astimezone(dt.UTC))
            event.add("SUMMARY", BUSY_SUMMARY)
            event.add("TRANSP", "OPAQUE")
            self.events.append(bytes(event.to_ical()))

    # Open clashes ---------------------------------------------------------------------------

    def add_conflicts(self) -> None:
        midnight = dt.datetime.combine(_today(), dt.time(), dt.UTC)
        page = self.runtime.records.page(Filters(status="open"), order="start", now=midnight)
        for record in page.records:
            event = self._clash_event(record)
            if event is not None:
                self.events.append(bytes(event.to_ical()))

    def _clash_event(self, record: ClashRecord) -> icalendar.Event | None:
        sides = record.occurrences
        if not sides:
            return None
        try:
            start = min(_moment(o["start"]) for o in sides)
            end = max(_moment(o["end"]) for o in sides)
        except ValueError:
            logger.warning("Feed: clash %s has unreadable times, left out", record.id)
            return None
        rule = RULE_NAMES.get(record.rule, record.rule)
        titles = [o["summary"] or "—" for o in sides[:2]]
        more = f" (+{len(sides) - 2})" if len(sides) > 2 else ""
        severity = "!" if record.severity == "hard" else "?"
        event = icalendar.Event()
        event.add("UID", f"clash-{record.id}@calhub")
        event.add("DTSTAMP", _stamp(record.detected_at))
        event.add("DTSTART", start)
        event.add("DTEND", max(end, start + dt.timedelta(minutes=1)))
        event.add("SUMMARY", f"[{severity}] {rule}: {' ↔ '.join(titles)}{more}")
        lines = [record.message.ru, record.message.en, ""]
        for number, side in enumerate(sides, 1):
            lines += [f"{number}. {side['summary'] or '—'}", *self._side(side), ""]
        if record.count > 1:
            lines.append(f"Повторов / instances: {record.count}")
        event.add("DESCRIPTION", "\n".join(lines).strip())
        event.add("TRANSP", "TRANSPARENT")
        event.add("CATEGORIES", ["calhub", record.rule])
        return event

    def _side(self, side: StoredOccurrence) -> list[str]:
        calendar = self.settings.calendar(side["calendar"])
        name = calendar.name if calendar is not None else side["calendar"]
        return [
            f"   Календарь / calendar: {name}",
            f"   Время / time: {self._when(side)}",
            f"   Место / venue: {side['location'] or '—'}",
            f"   Классы / audience: {side['audience'] or '—'}",
        ]

    def _when(self, side: StoredOccurrence) -> str:
        try:
            start = _moment(side["start"]).astimezone(self.zone)
            end = _moment(side["end"]).astimezone(self.zone)
        except ValueError:
            return f"{side['start']} – {side['end']}"
        if side["all_day"]:
            last = (end - dt.timedelta(seconds=1)).date() if end > start else start.date()
            if last == start.date():
                return start.strftime("%d.%m.%Y")
            return f"{start:%d.%m.%Y} – {last:%d.%m.%Y}"
        if end.date() == start.date():
            return f"{start:%d.%m.%Y %H:%M}–{end:%H:%M}"
        return f"{start:%d.%m.%Y %H:%M} – {end:%d.%m.%Y %H:%M}"

    # Writing it -----------------------------------------------------------------------------

    def serialize(self, title: str) -> bytes:
        calendar = icalendar.Calendar()
        calendar.add("VERSION", "2.0")
        calendar.add("PRODID", PRODID)
        calendar.add("CALSCALE", "GREGORIAN")
        calendar.add("METHOD", "PUBLISH")
        calendar.add("X-WR-CALNAME", title)
        calendar.add("X-WR-TIMEZONE", self.settings.timezone)
        calendar.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("X-PUBLISHED-TTL", REFRESH_TEXT)
        head: bytes = calendar.to_ical()
        end = b"END:VCALENDAR\r\n"
        if not head.endswith(end):
            raise CalhubError("icalendar wrote a VCALENDAR that does not end as expected")
        parts = [head[: -len(end)]]
        for tzid in sorted(self.tzids):
            timezone = self.timezones.get(tzid) or _standard_timezone(tzid)
            if timezone is None:
                logger.warning("Feed: no VTIMEZONE for TZID %r", tzid)
                continue
            parts.append(timezone)
        parts.extend(self.events)
        parts.append(end)
        return b"".join(parts)


FEEDBACK_LINE = "Отзыв / Feedback: "


def _add_feedback_link(event: icalendar.Component, link: str) -> None:
    description = str(event.get("DESCRIPTION", "")).rstrip()
    event.pop("DESCRIPTION", None)
    line = FEEDBACK_LINE + link
    event.add("DESCRIPTION", f"{description}\n\n{line}" if description else line)


def _upper_texts(value: Any) -> set[str]:
    """The values of a property that may appear more than once, upper-cased."""
    if value is None:
        return set()
    values = value if isinstance(value, list) else [value]
    return {str(one).strip().upper() for one in values}


def busy_uid(occurrence: Occurrence) -> str:
    """A busy block's UID: stable, unique per instance, and saying nothing of the event."""
    key = "\0".join(("calhub-busy", *occurrence.key))
    return f"busy-{hashlib.sha256(key.encode()).hexdigest()[:32]}@calhub"


def _tzids(event: icalendar.Component) -> Iterator[str]:
    for name in TIME_PROPERTIES:
        value = event.get(name)
        for one in value if isinstance(value, list) else [value]:
            params = getattr(one, "params", None)
            tzid = params.get("TZID") if params is not None else None
            if tzid:
                yield str(tzid)


@functools.lru_cache(maxsize=32)
def _standard_timezone_text(tzid: str) -> bytes | None:
    try:
        text: bytes = icalendar.Timezone.from_tzid(tzid).to_ical()
    except (ValueError, KeyError, LookupError) as error:
        logger.warning("Feed: TZID %r is not a known zone: %s", tzid, error)
        return None
    return text


def _standard_timezone(tzid: str) -> bytes | None:
    """The VTIMEZONE of an IANA zone, for a TZID whose object brought none."""
    return _standard_timezone_text(tzid)


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _stamp(text: str) -> dt.datetime:
    try:
        return _moment(text)
    except (TypeError, ValueError):
        return FIXED_STAMP
