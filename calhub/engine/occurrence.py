"""One concrete occurrence of an event: the unit every clash rule works on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from calhub.engine.audience import Audience

__all__ = ["Occurrence"]


@dataclass(frozen=True, slots=True)
class Occurrence:
    """An event at one time, in UTC, with its audience and venue already worked out.

    ``recurrence_id`` is ``""`` for an event that does not repeat; otherwise the
    original start of this instance, ``YYYYMMDDTHHMMSSZ`` in UTC (``YYYYMMDD`` for
    all-day series). The interval is half-open: ``[start, end)``.
    """

    calendar: str
    uid: str
    recurrence_id: str
    summary: str
    start: datetime
    end: datetime
    all_day: bool
    location: str
    venue: str
    audience: Audience
    audience_source: str
    is_blackout: bool

    def __post_init__(self) -> None:
        if self.start.utcoffset() is None or self.end.utcoffset() is None:
            raise ValueError(f"occurrence {self.key}: start and end must be aware datetimes")
        if self.end < self.start:
            raise ValueError(f"occurrence {self.key}: end is before start")

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity of this occurrence across the hub."""
        return (self.calendar, self.uid, self.recurrence_id)

    @property
    def event_key(self) -> tuple[str, str]:
        """Identity of the event (all occurrences of one series share it)."""
        return (self.calendar, self.uid)
