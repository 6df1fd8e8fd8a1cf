"""Which occurrence a feedback link rates, and whether its form is open now.

Open from the occurrence's start (the last minutes of an event count) until
``[feedback] window_days`` after its end. An event the hub does not know, a cancelled one
(cancelled events and occurrences are not in the index: the engine leaves them out), one
of a removed partner, or the blackout calendar's, has no form.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from calhub.feedback.links import LinkTarget

if TYPE_CHECKING:
    from calhub.engine import Occurrence
    from calhub.runtime import Runtime

Refusal = Literal["unknown", "early", "closed"]


@dataclass(frozen=True, slots=True)
class Window:
    """What a link leads to: the occurrence, and why it is refused (None: open)."""

    occurrence: Occurrence | None
    refusal: Refusal | None
    closes: dt.datetime | None = None  # when the form stops taking answers

    @property
    def open(self) -> bool:
        return self.refusal is None


def occurrences(runtime: Runtime, calendar: str, uid: str) -> list[Occurrence]:
    """The occurrences of an event that may be rated, by start."""
    settings = runtime.settings.calendar(calendar)
    if settings is None or settings.archived or settings.role == "blackout":
        return []
    found = [o for o in runtime.index.occurrences_of(calendar, uid) if not o.is_blackout]
    return sorted(found, key=lambda o: o.start)


def find_window(runtime: Runtime, target: LinkTarget, now: dt.datetime | None = None) -> Window:
    """The occurrence ``target`` rates at ``now``, and whether its form is open."""
    moment = now or dt.datetime.now(dt.UTC)
    days = dt.timedelta(days=runtime.settings.feedback.window_days)
    known = occurrences(runtime, target.calendar, target.uid)
    if target.recurrence_id is not None:
        known = [o for o in known if o.recurrence_id == target.recurrence_id]
    if not known:
        return Window(None, "unknown")
    started = [o for o in known if o.start <= moment]
    if not started:
        return Window(known[0], "early")
    occurrence = started[-1]
    closes = occurrence.end + days
    if moment > closes:
        return Window(occurrence, "closed", closes)
    return Window(occurrence, None, closes)


def pick_occurrence(runtime: Runtime, calendar: str, uid: str, day: dt.date | None) -> Occurrence:
    """The occurrence of an event on ``day`` (local), or its only or latest started one.

    Raises LookupError with what went wrong, for the CLI to say.
    """
    from zoneinfo import ZoneInfo

    known = occurrences(runtime, calendar, uid)
    if not known:
        raise LookupError("unknown")
    if day is None:
        return known[0] if len(known) == 1 else known[-1]
    zone = ZoneInfo(runtime.settings.timezone)
    on_day = [o for o in known if o.start.astimezone(zone).date() == day]
    if not on_day:
        raise LookupError("no-occurrence")
    return on_day[0]
