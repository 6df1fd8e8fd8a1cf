"""Expanding iCalendar data into :class:`~calhub.engine.occurrence.Occurrence` objects.

All recurrence logic (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides) is
recurring-ical-events'. This module feeds it one series (UID) at a time, in
time windows that grow, so it can stop after ``max_occurrences_per_event``
occurrences without ever listing a whole dense rule. Rules too dense to check
are refused (see :mod:`calhub.engine.guard`): a series of a daily or slower
rule that reaches the cap is cut there with a warning, a sub-daily one
(hourly, every minute, every second) is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import recurring_ical_events
import x_wr_timezone
from icalendar import Calendar, Component
from recurring_ical_events.util import to_recurrence_ids

from calhub.engine.audience import Audience
from calhub.engine.config import EngineConfig
from calhub.engine.errors import InvalidCalendarData
from calhub.engine.guard import Plan, is_sub_daily, plan_expansion, too_frequent
from calhub.engine.occurrence import Occurrence
from calhub.engine.parser import AudienceParser, resolve_audience
from calhub.engine.timezones import format_recurrence_id, to_utc
from calhub.engine.validate import checked_events, date_values, parse_calendar, prop, start_of
from calhub.engine.venue import VenueNormaliser

__all__ = ["expand_calendar", "standard_times"]

logger = logging.getLogger(__name__)

_MIN_WINDOW = timedelta(minutes=1)
_START_MARGIN = timedelta(days=1)
# What recurring-ical-events and dateutil raise for rules they cannot follow.
_EXPANSION_ERRORS = (ValueError, TypeError, KeyError, OverflowError, AttributeError)
_SKIPPED_STATUS = "CANCELLED"
_SKIPPED_TRANSP = "TRANSPARENT"
_AUDIENCE_PROPERTIES = ("X-CALHUB-AUDIENCE", "CATEGORIES", "SUMMARY", "DESCRIPTION")


def _text(component: Component, name: str) -> str:
    value = component.get(name)
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return str(value)


def _first_start(events: Sequence[Component], zone: tzinfo) -> datetime:
    """The earliest start any component names: nothing of the series starts before it."""
    starts = [to_utc(start_of(event), zone) for event in events]
    for event in events:
        starts.extend(to_utc(value, zone) for value in date_values(event.get("RDATE")))
    return min(starts)


def _sequence(component: Component) -> int:
    value = prop(component, "SEQUENCE")
    return -1 if value is None else int(value)


def _rrules(master: Component | None) -> list[Any]:
    if master is None:
        return []
    rules = master.get("RRULE")
    if rules is None:
        return []
    return list(rules) if isinstance(rules, list) else [rules]


def _walk(series: Any, plan: Plan, cap: int, zone: tzinfo) -> list[Any]:
    """The first ``cap`` occurrences (by start) of one series within the plan.

    Windows double in size, so a sparse rule needs few queries and a dense one
    stops after the first window or two. After a window ending at ``t`` every
    occurrence starting before ``t`` has been seen, so the earliest ``cap`` seen
    are the earliest ``cap`` overall.
    """
    seen: dict[Any, Any] = {}
    window = max(_MIN_WINDOW, timedelta(days=cap / plan.per_day))
    # The first window opens a little early: recurring-ical-events compares
    # times in one zone by wall clock, so an event in a DST gap (02:30–03:30 on
    # the spring-forward night) ends, as an instant, when it starts, and a
    # window opening at that instant would miss it.
    at = max(plan.start - _START_MARGIN, plan.horizon_start)
    until = min(plan.end, plan.start + window)
    while at < plan.end and len(seen) < cap:
        for occ in series.between(at.astimezone(zone), until.astimezone(zone)):
            seen.setdefault(occ.id, occ)
        at = until
        window *= 2
        until = min(plan.end, at + window)
    found = sorted(seen.values(), key=lambda occ: to_utc(occ.start, zone))
    return found[:cap]


@dataclass(frozen=True, slots=True)
class _Template:
    """What all occurrences made from one VEVENT component share."""

    summary: str
    location: str
    venue: str
    audience: Audience
    audience_source: str


class _Expander:
    def __init__(
        self,
        *,
        calendar: str,
        config: EngineConfig,
        parser: AudienceParser,
        default_audience: Audience | None,
        is_blackout: bool,
        horizon: tuple[datetime, datetime],
    ) -> None:
        self.calendar = calendar
        self.config = config
        self.zone = config.zone
        self.parser = parser
        self.default_audience = default_audience
        self.is_blackout = is_blackout
        self.horizon = horizon
        self.venue = VenueNormaliser(config.venue_aliases)
        self._audiences: dict[tuple[str, ...], tuple[Audience, str]] = {}

    def template(self, component: Component) -> _Template | None:
        """The shared part of its occurrences; None for cancelled or transparent events."""
        if _text(component, "STATUS").upper() == _SKIPPED_STATUS:
            return None
        if _text(component, "TRANSP").upper() == _SKIPPED_TRANSP:
            return None
        key = tuple(_text(component, name) for name in _AUDIENCE_PROPERTIES)
        found = self._audiences.get(key)
        if found is None:
            found = resolve_audience(component, self.parser, self.default_audience)
            self._audiences[key] = found
        location = _text(component, "LOCATION")
        return _Template(
            summary=_text(component, "SUMMARY"),
            location=location,
            venue=self.venue(location),
            audience=found[0],
            audience_source=found[1],
        )

    def series(self, uid: str, events: Sequence[Component]) -> list[Occurrence]:
        masters = [event for event in events if "RECURRENCE-ID" not in event]
        # Like recurring-ical-events: the highest SEQUENCE wins, the first one on a tie.
        master = max(masters, key=_sequence) if masters else None
        if len(masters) > 1:
            logger.warning("Event %s has %d master components; one is used", uid, len(masters))
        overrides: dict[Any, Component] = {}
        for event in events:
            if "RECURRENCE-ID" in event:
                key = to_recurrence_ids(prop(event, "RECURRENCE-ID").dt)[0]
                if key not in overrides or _sequence(event) > _sequence(overrides[key]):
                    overrides[key] = event
        recurring = bool(overrides) or any("RRULE" in e or "RDATE" in e for e in masters)
        rules = _rrules(master)
        plan = plan_expansion(
            uid,
            rules,
            start_of(master) if master is not None else None,
            _first_start(events, self.zone),
            self.horizon,
            self.zone,
        )
        if plan.start >= plan.end:
            return []
        single = Calendar()
        for event in events:
            single.add_component(event)
        cap = self.config.max_occurrences_per_event
        try:
            query = recurring_ical_events.of(single)
            found = [occ for series in query.series for occ in _walk(series, plan, cap, self.zone)]
        except _EXPANSION_ERRORS as error:
            raise InvalidCalendarData(
                f"Event {uid}: its repetition (RRULE/RDATE/EXDATE) cannot be expanded: {error}",
                uid=uid,
                prop="RRULE",
                message_ru=f"Событие {uid}: повторения (RRULE/RDATE/EXDATE) не удаётся "
                f"развернуть: {error}",
            ) from error
        if len(found) >= cap:
            if is_sub_daily(rules):
                # Every hour/minute/second for longer than the cap: nothing a school
                # schedules; truncating it would leave most of it unchecked.
                raise too_frequent(
                    uid,
                    rules,
                    f"more than {cap} occurrences in the checked period",
                    f"больше {cap} повторений в проверяемом периоде",
                )
            logger.warning(
                "Event %s in %s reaches the cap of %d occurrences; later ones are not checked",
                uid,
                self.calendar,
                cap,
            )
        templates: dict[int, _Template | None] = {}
        result = []
        ids: set[str] = set()
        for occ in found:
            recurrence_ids = occ.recurrence_ids
            source = overrides.get(recurrence_ids[0]) if recurrence_ids else master
            if source is None:  # not expected; the copy is slow but always right
                source = occ.as_component(False)
            if id(source) not in templates:
                templates[id(source)] = self.template(source)
            template = templates[id(source)]
            if template is None:
                continue
            recurrence_id = ""
            if recurring:
                original = prop(source, "RECURRENCE-ID")
                recurrence_id = format_recurrence_id(
                    original.dt if original is not None else occ.start, self.zone
                )
                if recurrence_id in ids:
                    # RANGE=THISANDFUTURE makes many instances from one override
                    recurrence_id = format_recurrence_id(occ.start, self.zone)
                ids.add(recurrence_id)
            result.append(self.occurrence(uid, recurrence_id, occ.start, occ.end, template))
        return result

    def occurrence(
        self, uid: str, recurrence_id: str, start_value: Any, end_value: Any, template: _Template
    ) -> Occurrence:
        all_day = not isinstance(start_value, datetime) and not isinstance(end_value, datetime)
        start, end = to_utc(start_value, self.zone), to_utc(end_value, self.zone)
        if all_day and end <= start:
            # DTEND equal to DTSTART on an all-day event: read it as that one day
            end = to_utc(start_value + timedelta(days=1), self.zone)
        return Occurrence(
            calendar=self.calendar,
            uid=uid,
            recurrence_id=recurrence_id,
            summary=template.summary,
            start=start,
            end=end,
            all_day=all_day,
            location=template.location,
            venue=template.venue,
            audience=template.audience,
            audience_source=template.audience_source,
            is_blackout=self.is_blackout,
        )


def _events_by_uid(calendar: Calendar, zone: tzinfo) -> dict[str, list[Component]]:
    """Checked VEVENTs grouped by UID, with X-WR-TIMEZONE applied if the calendar has one."""
    checked = list(checked_events(calendar, zone))
    x_wr = _x_wr_timezone(calendar)
    if x_wr is not None:
        # Done here, not by recurring_ical_events.of() on each series, so the
        # components we read properties from are the ones it expands.
        holder = Calendar()
        holder["X-WR-TIMEZONE"] = x_wr
        for _, event in checked:
            holder.add_component(event)
        converted = x_wr_timezone.to_standard(holder)
        checked = [(str(prop(event, "UID")).strip(), event) for event in converted.walk("VEVENT")]
    by_uid: dict[str, list[Component]] = {}
    for uid, event in checked:
        by_uid.setdefault(uid, []).append(event)
    return by_uid


def _x_wr_timezone(calendar: Calendar) -> Any:
    """X-WR-TIMEZONE if it names a zone; a wrong one is ignored, as calendar apps do."""
    value = calendar.get("X-WR-TIMEZONE")
    if value is None:
        return None
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("Ignoring X-WR-TIMEZONE %r: not a known time zone", str(value))
        return None
    return value


def standard_times(calendar: Calendar) -> Calendar:
    """The calendar with its X-WR-TIMEZONE applied: floating times become times of that
    zone (Google's feeds), as the expansion reads them; a wrong zone is ignored."""
    if _x_wr_timezone(calendar) is None:
        return calendar
    converted: Calendar = x_wr_timezone.to_standard(calendar)
    return converted


def expand_calendar(
    ical: str | bytes | Calendar,
    *,
    calendar: str,
    config: EngineConfig,
    parser: AudienceParser,
    default_audience: Audience | None = None,
    is_blackout: bool = False,
    now: datetime | None = None,
) -> list[Occurrence]:
    """Occurrences of every VEVENT in ``ical`` within the horizon around ``now``.

    ``ical`` is one Radicale item (one UID: a master, its overrides and the
    VTIMEZONEs) or a whole calendar. Cancelled and transparent occurrences are
    left out: they never clash. Each UID gives at most
    ``config.max_occurrences_per_event`` occurrences, the earliest ones (counted
    before cancelled and transparent ones are dropped).

    Raises :class:`InvalidCalendarData` for data that cannot be read.
    """
    if now is None:
        now = datetime.now(UTC)
    elif now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    parsed = parse_calendar(ical)
    horizon = (
        now - timedelta(days=config.horizon_past_days),
        now + timedelta(days=config.horizon_future_days),
    )
    expander = _Expander(
        calendar=calendar,
        config=config,
        parser=parser,
        default_audience=default_audience,
        is_blackout=is_blackout,
        horizon=horizon,
    )
    occurrences: list[Occurrence] = []
    for uid, events in _events_by_uid(parsed, config.zone).items():
        occurrences.extend(expander.series(uid, events))
    return occurrences
