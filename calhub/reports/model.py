"""What a report is made of (the facts read from the stores) and what it says (the rows).

:mod:`calhub.reports.collect` reads the facts from the hub, :mod:`calhub.reports.compute`
turns them into a :class:`Report` without touching any store, so the figures can be checked
on facts written by hand. Every face shows the same :class:`Report`: the page, its charts,
``calhub report`` (``as_json``) and the XLSX and PDF (:mod:`calhub.exchange`).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from calhub.engine import Audience
from calhub.reports.ratings import FeedbackAnswer, RatingSummary

__all__ = [
    "ClashFact",
    "ClashFigures",
    "GradeRow",
    "OccurrenceFact",
    "PartnerRow",
    "Report",
    "ReportFacts",
    "SchoolFigures",
]


@dataclass(frozen=True, slots=True)
class OccurrenceFact:
    """One occurrence starting in the range: held or planned, or cancelled."""

    calendar: str
    uid: str
    summary: str
    start: dt.datetime
    end: dt.datetime
    all_day: bool
    audience: Audience
    cancelled: bool = False
    changed: dt.datetime | None = None  # last change (LAST-MODIFIED, else DTSTAMP)
    published: dt.datetime | None = None  # first publication (CREATED, else DTSTAMP)


@dataclass(frozen=True, slots=True)
class ClashFact:
    """One clash record with an instance in the range."""

    id: str
    severity: str
    status: str  # open, approved, resolved
    calendars: frozenset[str]
    grades: frozenset[int]
    detected: dt.datetime
    settled: dt.datetime | None  # approved or resolved at; None while open
    first_start: dt.datetime  # when the clash first happens
    moved_on_request: bool = False  # a partner accepted a request to move its event


@dataclass(frozen=True, slots=True)
class ReportFacts:
    """Everything a report is computed from."""

    first: dt.date
    last: dt.date
    start: dt.datetime
    end: dt.datetime
    now: dt.datetime
    timezone: str
    calendars: tuple[tuple[str, str], ...]  # (id, name) of the rows, in order
    occurrences: tuple[OccurrenceFact, ...]
    clashes: tuple[ClashFact, ...]
    answers: tuple[FeedbackAnswer, ...]
    feedback_available: bool
    late_change_days: int
    publish_days_before: int
    school: str = ""


@dataclass(frozen=True, slots=True)
class ClashFigures:
    """Clashes found in the range and what became of them."""

    found: int = 0
    open: int = 0
    approved: int = 0
    resolved: int = 0  # went away: an event moved, changed or was cancelled
    moved_on_request: int = 0  # of the resolved, moved as the coordinator asked
    settled_before: int = 0  # approved or resolved before the clash first happens
    settle_hours_median: float | None = None
    settle_hours_mean: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "found": self.found,
            "open": self.open,
            "approved": self.approved,
            "resolved": self.resolved,
            "moved_on_request": self.moved_on_request,
            "settled_before": self.settled_before,
            "settle_hours_median": self.settle_hours_median,
            "settle_hours_mean": self.settle_hours_mean,
        }


@dataclass(frozen=True, slots=True)
class PartnerRow:
    partner: str
    name: str
    events: int  # occurrences not cancelled (held and planned)
    held: int  # of them, already over
    cancelled: int
    hours: float  # of timed occurrences not cancelled
    grades: tuple[int, ...]
    audience: str  # the grades and classes reached, as one label
    classes: int  # single classes named beyond whole grades
    changed_late: int
    published_on_time: int
    clashes: ClashFigures
    ratings: RatingSummary

    def as_json(self) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "name": self.name,
            "events": self.events,
            "held": self.held,
            "cancelled": self.cancelled,
            "hours": self.hours,
            "grades": list(self.grades),
            "audience": self.audience,
            "classes": self.classes,
            "changed_late": self.changed_late,
            "published_on_time": self.published_on_time,
            "clashes": self.clashes.found,
            "clash_figures": self.clashes.as_json(),
            "ratings": self.ratings.as_json(),
        }


@dataclass(frozen=True, slots=True)
class GradeRow:
    grade: int
    events: int
    held: int
    cancelled: int
    hours: float
    partners: tuple[str, ...]
    classes: tuple[str, ...]  # single classes reached (10А), beyond the whole grade
    clashes: int
    open_clashes: int
    ratings: RatingSummary

    def as_json(self) -> dict[str, Any]:
        return {
            "grade": self.grade,
            "events": self.events,
            "held": self.held,
            "cancelled": self.cancelled,
            "hours": self.hours,
            "partners": list(self.partners),
            "classes": list(self.classes),
            "clashes": self.clashes,
            "open_clashes": self.open_clashes,
            "ratings": self.ratings.as_json(),
        }


@dataclass(frozen=True, slots=True)
class SchoolFigures:
    """The school-wide planning figures its report tracks."""

    events: int
    held: int
    cancelled: int
    hours: float
    partners_active: int
    grades_reached: int
    clashes: ClashFigures
    settled_before_share: float | None  # % of found clashes settled before they happen
    published_on_time: int
    published_on_time_share: float | None  # % of the plan's occurrences
    changed_late: int
    changed_late_share: float | None
    ratings: RatingSummary

    def as_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "held": self.held,
            "cancelled": self.cancelled,
            "hours": self.hours,
            "partners_active": self.partners_active,
            "grades_reached": self.grades_reached,
            "clashes": self.clashes.as_json(),
            "settled_before_share": self.settled_before_share,
            "published_on_time": self.published_on_time,
            "published_on_time_share": self.published_on_time_share,
            "changed_late": self.changed_late,
            "changed_late_share": self.changed_late_share,
            "ratings": self.ratings.as_json(),
        }


@dataclass(frozen=True, slots=True)
class Report:
    first: dt.date
    last: dt.date
    made_at: dt.datetime
    school: str
    partners: tuple[PartnerRow, ...]
    grades: tuple[GradeRow, ...]
    school_figures: SchoolFigures
    feedback_available: bool
    late_change_days: int
    publish_days_before: int
    scope: str | None = None  # a partner's own report: its id
    timezone: str = "Europe/Kaliningrad"  # the hub's, for the times people read

    @property
    def made_local(self) -> dt.datetime:
        """When the report was made, in the hub's time zone."""
        return self.made_at.astimezone(zoneinfo.ZoneInfo(self.timezone))

    @property
    def title(self) -> str:
        return f"Отчёт о работе с партнёрами {self.first:%d.%m.%Y}–{self.last:%d.%m.%Y}"

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "made_at": self.made_at.isoformat(),
            "school": self.school,
            "scope": self.scope,
            "settings": {
                "late_change_days": self.late_change_days,
                "publish_days_before": self.publish_days_before,
            },
            "feedback_available": self.feedback_available,
            "partners": [row.as_json() for row in self.partners],
            "grades": [row.as_json() for row in self.grades],
            "school_figures": self.school_figures.as_json(),
        }
