"""The school's day: when a grade is in lessons, and so when an event for it may be put.

The slot finder (:mod:`calhub.engine.slots`) offers a time only where every grade of the
audience is free from lessons: on a lesson day after that grade's last lesson, on Saturday
only for the grades allowed then, never on Sunday, and always ending by ``latest_end``.
The hub's ``[schedule]`` table (``calhub.hub.settings``) builds a :class:`Schedule`;
``docs/configuration.md`` says why the defaults fit a Russian gymnasium.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from calhub.engine.audience import MAX_GRADE, MIN_GRADE, Audience

__all__ = [
    "SATURDAY",
    "WEEKDAY_NAMES",
    "Schedule",
    "parse_clock",
    "parse_grades",
]

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SATURDAY = 5

_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_GRADES = re.compile(r"^\s*([0-9]{1,2})\s*(?:[-–—]\s*([0-9]{1,2})\s*)?$")


def parse_clock(text: str) -> time:
    """``"14:30"`` as a time of day; anything else is a ValueError naming the form."""
    match = _CLOCK.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a time of day: use HH:MM, such as 14:30")
    return time(int(match.group(1)), int(match.group(2)))


def parse_grades(text: str) -> frozenset[int]:
    """``"10-11"``, ``"9"``, ``"1-4, 6"`` as grades; ``""`` is none."""
    grades: set[int] = set()
    for part in text.split(","):
        if not part.strip():
            continue
        match = _GRADES.match(part)
        if match is None:
            raise ValueError(f"{part.strip()!r} is not a grade or a range of grades such as 10-11")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if not MIN_GRADE <= low <= high <= MAX_GRADE:
            raise ValueError(f"{part.strip()!r}: grades go from {MIN_GRADE} to {MAX_GRADE}")
        grades.update(range(low, high + 1))
    return frozenset(grades)


@dataclass(frozen=True, slots=True)
class Schedule:
    """When each grade is in lessons; times are local times of ``tz``.

    ``after_lessons`` gives the first free minute of a lesson day per grade (grades it does
    not list are free from ``lessons_end``). An audience is free only when all its grades
    are, so 9–11 waits for the grade that stays longest.
    """

    tz: str = "Europe/Kaliningrad"
    lesson_days: frozenset[int] = frozenset(range(5))
    lessons_start: time = time(8, 30)
    lessons_end: time = time(14, 30)
    after_lessons: Mapping[int, time] = field(default_factory=dict)
    saturday_grades: frozenset[int] = frozenset()
    saturday_start: time = time(10, 0)
    latest_end: time = time(19, 0)
    step: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.step <= timedelta(0):
            raise ValueError("the step between candidate times must be positive")
        ZoneInfo(self.tz)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def free_from(self, audience: Audience, day: date) -> time | None:
        """The local time the audience is free from on ``day``, or None if not that day."""
        grades = audience.grades_touched()
        weekday = day.weekday()
        if weekday in self.lesson_days:
            return max(
                (self.after_lessons.get(grade, self.lessons_end) for grade in grades),
                default=self.lessons_end,
            )
        if weekday == SATURDAY and grades and grades <= self.saturday_grades:
            return self.saturday_start
        return None

    def starts(
        self, audience: Audience, duration: timedelta, start: datetime, end: datetime
    ) -> Iterator[datetime]:
        """Every candidate start (UTC) of an event of ``duration`` within ``[start, end)``:
        each free part of a day from its first free minute in steps of ``step``, the event
        ending by ``latest_end``. Local times that do not exist (a DST gap) are skipped."""
        zone = self.zone
        day = start.astimezone(zone).date()
        last = end.astimezone(zone).date()
        while day <= last:
            begin = self.free_from(audience, day)
            if begin is not None:
                local = datetime.combine(day, begin)
                stop = datetime.combine(day, self.latest_end)
                while local + duration <= stop:
                    moment = local.replace(tzinfo=zone)
                    exists = moment.astimezone(UTC).astimezone(zone)
                    if exists.replace(tzinfo=None) == local:
                        utc = moment.astimezone(UTC)
                        if start <= utc and utc + duration <= end:
                            yield utc
                    local += self.step
            day += timedelta(days=1)
