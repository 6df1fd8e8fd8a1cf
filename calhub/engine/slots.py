"""Finding free times: where an event for an audience would raise no hard clash.

One code path with the clash check: a candidate time is free exactly when a probe
occurrence there (that audience, venue and duration) checked with
:meth:`ClashEngine.check` raises no hard clash, so blackouts, venue bookings, the travel
gap, overload and every other rule count with the hub's own settings. Candidates come
from the school's day (:class:`~calhub.engine.schedule.Schedule`) and are tried nearest
to the wished time first; a free one is green without soft clashes, amber with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from calhub.engine.audience import Audience
from calhub.engine.clash import Clash
from calhub.engine.engine import ClashEngine
from calhub.engine.index import OccurrenceLookup
from calhub.engine.messages import PROBE_CALENDAR
from calhub.engine.occurrence import Occurrence
from calhub.engine.schedule import Schedule
from calhub.engine.venue import normalise_venue

__all__ = ["PROBE_CALENDAR", "PROBE_UID", "Slot", "free_slots", "probe", "ranked_starts"]

# The probe is no stored event: these cannot be a calendar id or a UID the hub stores.
PROBE_UID = "\x00calhub-slot-probe"

GREEN = "green"
AMBER = "amber"


@dataclass(frozen=True, slots=True)
class Slot:
    """A free time; ``soft`` holds the soft clashes an event there would raise."""

    start: datetime
    end: datetime
    soft: tuple[Clash, ...]

    @property
    def grade(self) -> str:
        """``green`` (no clash at all) or ``amber`` (soft clashes only)."""
        return AMBER if self.soft else GREEN


def probe(
    engine: ClashEngine,
    audience: Audience,
    start: datetime,
    duration: timedelta,
    location: str = "",
    summary: str = "",
    moving: Occurrence | None = None,
) -> Occurrence:
    """The occurrence an event at ``start`` would be (its venue normalised as the hub does).

    With ``moving`` it is that stored occurrence moved to ``start``: the check then leaves
    the event's stored occurrences out, as it does when the event itself is written.
    """
    if moving is not None:
        return replace(moving, start=start, end=start + duration, all_day=False)
    return Occurrence(
        calendar=PROBE_CALENDAR,
        uid=PROBE_UID,
        recurrence_id="",
        summary=summary,
        start=start,
        end=start + duration,
        all_day=False,
        location=location,
        venue=normalise_venue(location, engine.config.venue_aliases) if location else "",
        audience=audience,
        audience_source="x-calhub-audience",
        is_blackout=False,
    )


def ranked_starts(
    schedule: Schedule,
    audience: Audience,
    duration: timedelta,
    window: tuple[datetime, datetime],
    near: datetime | None = None,
) -> list[datetime]:
    """The schedule's candidate starts, nearest to ``near`` (default: window start) first;
    of two equally near, the earlier."""
    wished = window[0] if near is None else near
    starts = schedule.starts(audience, duration, window[0], window[1])
    return sorted(starts, key=lambda moment: (abs(moment - wished), moment))


def free_slots(
    audience: Audience,
    duration: timedelta,
    window: tuple[datetime, datetime],
    venue: str | None = None,
    near: datetime | None = None,
    limit: int = 10,
    *,
    engine: ClashEngine,
    lookup: OccurrenceLookup,
    schedule: Schedule,
    summary: str = "",
    moving: Occurrence | None = None,
) -> list[Slot]:
    """Up to ``limit`` free slots in ``window``, nearest to ``near`` first.

    ``venue`` is the location as people write it (normalised like an event's). With
    ``moving`` (a stored occurrence), the slots are where that occurrence could move: its
    audience, venue and title are the probe's, and the event's own occurrences are left
    out of the check, as in a write of the moved event. (Of a series, the other
    occurrences are left out too: they only matter to the weekly overload count, which the
    write's own check still applies.)
    """
    if window[0].utcoffset() is None or window[1].utcoffset() is None:
        raise ValueError("the window must be aware datetimes")
    if near is not None and near.utcoffset() is None:
        raise ValueError("the wished time must be an aware datetime")
    if duration <= timedelta(0):
        raise ValueError("the duration must be positive")
    found: list[Slot] = []
    if limit <= 0 or audience.is_empty():
        return found
    window = (window[0].astimezone(UTC), window[1].astimezone(UTC))
    for start in ranked_starts(schedule, audience, duration, window, near):
        clashes = engine.check(
            [probe(engine, audience, start, duration, venue or "", summary, moving)], lookup
        )
        if any(clash.severity == "hard" for clash in clashes):
            continue
        found.append(Slot(start, start + duration, _soft(clashes)))
        if len(found) >= limit:
            break
    return found


def _soft(clashes: Sequence[Clash]) -> tuple[Clash, ...]:
    return tuple(clash for clash in clashes if clash.severity != "hard")
