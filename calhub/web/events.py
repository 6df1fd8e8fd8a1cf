"""The merged plan's data: occurrences from the index, filtered, with their clash marks.

Everything here reads; nothing writes. Times are kept in UTC as the index has them and
turned into the hub's wall-clock time only for showing.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _

from calhub.engine import Audience, Occurrence, normalise_venue
from calhub.hub import palette
from calhub.web import clashes
from calhub.web.context import current_runtime

if TYPE_CHECKING:
    from calhub.hub import Hub
    from calhub.hub.accounts import Account
    from calhub.hub.settings import CalendarSettings

logger = logging.getLogger(__name__)

MAX_RANGE = dt.timedelta(days=62)  # one request never scans more than two months

# Audience sources (``Occurrence.audience_source``) where the event itself named no
# audience: the calendar's default was used, or nothing at all (the whole school). Such an
# event is flagged "default audience" (issue 14): its clashes rest on a guess.
DEFAULT_AUDIENCE_SOURCES = frozenset({"calendar-default", "whole-school"})


def uses_default_audience(occurrence: Occurrence) -> bool:
    """Whether neither the event nor its text named an audience."""
    return occurrence.audience_source in DEFAULT_AUDIENCE_SOURCES


def zone(hub: Hub) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(hub.settings.timezone)


def local_today(hub: Hub) -> dt.date:
    return dt.datetime.now(zone(hub)).date()


def day_start(hub: Hub, day: dt.date) -> dt.datetime:
    """Local midnight of ``day`` in the hub's zone, in UTC."""
    return dt.datetime.combine(day, dt.time(), zone(hub)).astimezone(dt.UTC)


def parse_wall_clock(hub: Hub, text: str) -> dt.datetime | None:
    """A date or date-time as the hub's wall clock (an offset, as FullCalendar sends in its
    UTC mode, is dropped: the plan shows school time whatever the viewer's zone)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            return day_start(hub, dt.date.fromisoformat(text))
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=zone(hub)).astimezone(dt.UTC)


# -- filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanFilter:
    """The plan's filters, as given in the query string (pages and /api/events alike)."""

    calendars: tuple[str, ...] = ()
    grade: int | None = None
    group: str = ""
    audience: Audience | None = None
    venue: str = ""
    venue_key: str = ""
    q: str = ""
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, hub: Hub, args: Mapping[str, Any]) -> PlanFilter:
        settings = hub.settings
        problems: list[str] = []
        getlist = getattr(args, "getlist", None)
        raw_calendars = getlist("calendar") if getlist else [args.get("calendar", "")]
        calendars = []
        for raw in raw_calendars:
            if not raw:
                continue
            if settings.calendar(raw) is None:
                problems.append(_("There is no calendar “%(id)s”.", id=raw))
            else:
                calendars.append(raw)
        grade = None
        raw_grade = str(args.get("grade", "") or "").strip()
        if raw_grade:
            if raw_grade.isdigit() and 1 <= int(raw_grade) <= 11:
                grade = int(raw_grade)
            else:
                problems.append(_("Grade “%(grade)s” is not 1–11.", grade=raw_grade))
        group = str(args.get("group", "") or "").strip()[:200]
        audience = None
        if group:
            audience = current_runtime().parts.parser.parse(group)
            if audience is None:
                problems.append(
                    _("“%(text)s” is not a class or group (write e.g. 10А or 10-11).", text=group)
                )
        venue = str(args.get("venue", "") or "").strip()[:200]
        q = str(args.get("q", "") or "").strip()[:200]
        return cls(
            calendars=tuple(calendars),
            grade=grade,
            group=group,
            audience=audience,
            venue=venue,
            venue_key=normalise_venue(venue, settings.venue_aliases) if venue else "",
            q=q,
            problems=tuple(problems),
        )

    @property
    def active(self) -> bool:
        return bool(self.calendars or self.grade or self.audience or self.venue or self.q)

    def query(self) -> dict[str, Any]:
        """The filters as query-string arguments (for links that keep them)."""
        args: dict[str, Any] = {}
        if self.calendars:
            args["calendar"] = list(self.calendars)
        if self.grade:
            args["grade"] = self.grade
        if self.group:
            args["group"] = self.group
        if self.venue:
            args["venue"] = self.venue
        if self.q:
            args["q"] = self.q
        return args

    def matches(self, occurrence: Occurrence, calendar_name: str) -> bool:
        if self.calendars and occurrence.calendar not in self.calendars:
            return False
        if self.grade and not occurrence.audience.intersects(Audience(frozenset({self.grade}))):
            return False
        if self.audience is not None and not occurrence.audience.intersects(self.audience):
            return False
        if self.venue:
            location = occurrence.location.casefold()
            if not (
                (self.venue_key and self.venue_key in occurrence.venue)
                or self.venue.casefold() in location
            ):
                return False
        if self.q:
            needle = self.q.casefold()
            haystack = " ".join(
                (
                    occurrence.summary,
                    occurrence.location,
                    calendar_name,
                    occurrence.audience.label(),
                )
            ).casefold()
            if needle not in haystack:
                return False
        return True


# -- events ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanEvent:
    occurrence: Occurrence
    calendar: CalendarSettings
    mark: str  # "", "hard", "soft" or "approved"
    tz: zoneinfo.ZoneInfo

    @property
    def start(self) -> dt.datetime:
        return self.occurrence.start.astimezone(self.tz)

    @property
    def end(self) -> dt.datetime:
        return self.occurrence.end.astimezone(self.tz)

    @property
    def last_day(self) -> dt.date:
        """The last day the event covers (an all-day end is exclusive)."""
        end = self.end - dt.timedelta(microseconds=1) if self.end > self.start else self.end
        return end.date()

    @property
    def key(self) -> tuple[str, str, str]:
        return self.occurrence.key

    @property
    def default_audience(self) -> bool:
        """Flagged on the dashboard: the audience is the calendar's default or nobody's. A
        closed period (the blackout calendar) is meant for everyone and is not flagged."""
        return self.calendar.role != "blackout" and uses_default_audience(self.occurrence)


def visible_calendars(hub: Hub) -> dict[str, CalendarSettings]:
    """The calendars of the merged plan (``calhub.hub.policy``: every login reads them)."""
    return current_runtime().policy.readable_calendars()


def plan_events(
    hub: Hub,
    account: Account,
    start: dt.datetime,
    end: dt.datetime,
    plan_filter: PlanFilter,
) -> list[PlanEvent]:
    """Occurrences overlapping [start, end) that pass the filter, by start time."""
    if end - start > MAX_RANGE:
        end = start + MAX_RANGE
    calendars = visible_calendars(hub)
    tz = zone(hub)
    found = [
        occurrence
        for occurrence in current_runtime().index.overlapping(start, end)
        if occurrence.calendar in calendars
        and plan_filter.matches(occurrence, calendars[occurrence.calendar].name)
    ]
    runtime = current_runtime()
    found_marks = clashes.marks(runtime, account, start, end, cached=True) if found else {}
    events = [PlanEvent(o, calendars[o.calendar], found_marks.get(o.key, ""), tz) for o in found]
    events.sort(key=lambda e: (e.occurrence.start, not e.occurrence.all_day, e.calendar.id))
    return events


def by_day(
    events: list[PlanEvent], first: dt.date, last: dt.date
) -> list[tuple[dt.date, list[PlanEvent]]]:
    """Events per day from ``first`` to ``last`` (days without events left out); an event
    over several days is listed on each of them."""
    days: dict[dt.date, list[PlanEvent]] = {}
    for event in events:
        day = max(event.start.date(), first)
        while day <= min(event.last_day, last):
            days.setdefault(day, []).append(event)
            day += dt.timedelta(days=1)
    return sorted(days.items())


def find_occurrence(hub: Hub, calendar: str, uid: str, recurrence_id: str) -> Occurrence | None:
    occurrences = current_runtime().index.occurrences_of(calendar, uid)
    if recurrence_id:
        return next((o for o in occurrences if o.recurrence_id == recurrence_id), None)
    if not occurrences:
        return None
    # A series asked for without an instance: the next instance, else the last one.
    now = dt.datetime.now(dt.UTC)
    upcoming = sorted((o for o in occurrences if o.end >= now), key=lambda o: o.start)
    return upcoming[0] if upcoming else max(occurrences, key=lambda o: o.start)


def venues(events: list[PlanEvent]) -> list[str]:
    """Distinct locations of ``events``, for the venue filter's suggestions."""
    return sorted({e.occurrence.location for e in events if e.occurrence.location})


@functools.lru_cache(maxsize=256)
def text_color(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (#RRGGBB)."""
    return palette.text_colour(background)


def shown_colours(hub: Hub) -> dict[str, str]:
    """Calendar id → the colour pages show: the configured one, unless it is too close to a
    clash colour (then a palette colour instead, ``calhub.hub.palette.display_colours``)."""
    return palette.display_colours([(c.id, c.color) for c in hub.settings.calendars])
