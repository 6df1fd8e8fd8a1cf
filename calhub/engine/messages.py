"""Human text for clashes: which events, of which calendars, when (in the hub time zone)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta, tzinfo

from calhub.engine.occurrence import Occurrence

__all__ = ["Wording", "describe", "shared", "when"]

_TINY = timedelta(microseconds=1)


def _day(value: object, lang: str) -> str:
    return format(value, "%Y-%m-%d" if lang == "en" else "%d.%m.%Y")


def when(occ: Occurrence, zone: tzinfo, lang: str = "ru") -> str:
    """``12.03.2025 10:00–11:30``, ``12.03.2025 (весь день)``, or a span over days."""
    start = occ.start.astimezone(zone)
    end = occ.end.astimezone(zone)
    if occ.all_day:
        # the end is exclusive: an event "until the 14th" ends at 00:00 on the 14th
        last = (end - _TINY).date() if end > start else start.date()
        days = _day(start, lang)
        if last != start.date():
            days = f"{days}–{_day(last, lang)}"
        return f"{days} ({'all day' if lang == 'en' else 'весь день'})"
    if start.date() == end.date():
        return f"{_day(start, lang)} {start:%H:%M}–{end:%H:%M}"
    return f"{_day(start, lang)} {start:%H:%M} – {_day(end, lang)} {end:%H:%M}"


# The calendar of the slot finder's probe (calhub.engine.slots): no stored event, so a
# message names it as the time being tried, not by a calendar and a title.
PROBE_CALENDAR = "\x00slot"


@dataclass(frozen=True, slots=True)
class Wording:
    """What a message needs besides the events: the hub's time zone and calendar names."""

    zone: tzinfo
    names: Mapping[str, str] = field(default_factory=dict)


def describe(occ: Occurrence, wording: Wording, lang: str = "ru", *, place: bool = False) -> str:
    """One event for a message: title, calendar, time and, if asked, its location."""
    if occ.calendar == PROBE_CALENDAR:
        proposed = "the proposed time" if lang == "en" else "предлагаемое время"
        return f"{proposed} ({when(occ, wording.zone, lang)})"
    title = occ.summary.strip() or ("(untitled)" if lang == "en" else "(без названия)")
    zone = wording.zone
    parts = [wording.names.get(occ.calendar, occ.calendar), when(occ, zone, lang)]
    if place and occ.location.strip():
        parts.append(occ.location.strip())
    quoted = f'"{title}"' if lang == "en" else f"«{title}»"
    return f"{quoted} ({', '.join(parts)})"


def shared(a: Occurrence, b: Occurrence, lang: str = "ru") -> str:
    """Who is expected at both events: ``10А``, ``10–11``."""
    return a.audience.intersection(b.audience).label(lang)
