"""The report's figures, computed from its facts alone (no store, no clock but ``facts.now``).

Definitions (docs/reports.md says the same for the people reading the report):

- an occurrence is *in the range* when it starts in it; *events* counts those not cancelled,
  *held* those of them already over at ``now``, *cancelled* the cancelled ones apart;
- *hours*: the length of the timed occurrences not cancelled (an all-day entry is a period,
  such as a project week, and counts as an event but not as hours);
- *grades reached*: the grades with a class in an audience; *classes*: the single classes
  named beyond whole grades (10А when grade 10 as a whole is not in the audience);
- *changed late*: the occurrence's last change is within ``late_change_days`` before it
  starts (a late addition counts: the plan changed just the same);
- *published on time*: its event was on the hub at least ``publish_days_before`` days before
  the occurrence starts;
- a clash is *found* in the range when one of its dates is; it is *settled* when approved
  or resolved, *before the event* when that happened before its first date; the time to
  settle runs from detection to approval or resolution;
- ratings and the loyalty score: :mod:`calhub.reports.ratings`.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence

from calhub.engine import Audience
from calhub.engine.audience import ALL_GRADES
from calhub.reports.model import (
    ClashFact,
    ClashFigures,
    GradeRow,
    OccurrenceFact,
    PartnerRow,
    Report,
    ReportFacts,
    SchoolFigures,
)
from calhub.reports.ratings import FeedbackAnswer, summarize

__all__ = ["compute", "scoped"]


def scoped(facts: ReportFacts, partner: str) -> ReportFacts:
    """The facts a partner's own report is made of: its events, its clashes, its answers."""
    return ReportFacts(
        first=facts.first,
        last=facts.last,
        start=facts.start,
        end=facts.end,
        now=facts.now,
        timezone=facts.timezone,
        calendars=tuple(c for c in facts.calendars if c[0] == partner),
        occurrences=tuple(o for o in facts.occurrences if o.calendar == partner),
        clashes=tuple(c for c in facts.clashes if partner in c.calendars),
        answers=tuple(a for a in facts.answers if a.calendar == partner),
        feedback_available=facts.feedback_available,
        late_change_days=facts.late_change_days,
        publish_days_before=facts.publish_days_before,
        school=facts.school,
    )


def _hours(occurrences: Iterable[OccurrenceFact]) -> float:
    seconds = sum(
        (o.end - o.start).total_seconds() for o in occurrences if not o.cancelled and not o.all_day
    )
    return round(seconds / 3600, 2)


def _late(o: OccurrenceFact, days: int) -> bool:
    return o.changed is not None and o.start - dt.timedelta(days=days) <= o.changed < o.start


def _on_time(o: OccurrenceFact, days: int) -> bool:
    return o.published is not None and o.published <= o.start - dt.timedelta(days=days)


def _clash_figures(clashes: Sequence[ClashFact]) -> ClashFigures:
    settle = [
        (c.settled - c.detected).total_seconds() / 3600
        for c in clashes
        if c.settled is not None and c.status != "open"
    ]
    return ClashFigures(
        found=len(clashes),
        open=sum(1 for c in clashes if c.status == "open"),
        approved=sum(1 for c in clashes if c.status == "approved"),
        resolved=sum(1 for c in clashes if c.status == "resolved"),
        moved_on_request=sum(1 for c in clashes if c.status == "resolved" and c.moved_on_request),
        settled_before=sum(
            1
            for c in clashes
            if c.status != "open" and c.settled is not None and c.settled < c.first_start
        ),
        settle_hours_median=round(statistics.median(settle), 1) if settle else None,
        settle_hours_mean=round(statistics.fmean(settle), 1) if settle else None,
    )


def _reach(occurrences: Iterable[OccurrenceFact]) -> Audience:
    reached = Audience()
    for o in occurrences:
        if not o.cancelled:
            reached = reached.union(o.audience)
    return reached


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def compute(facts: ReportFacts, scope: str | None = None) -> Report:
    """The report of ``facts`` (already :func:`scoped` when ``scope`` names a partner)."""
    late, early = facts.late_change_days, facts.publish_days_before
    by_calendar: dict[str, list[OccurrenceFact]] = defaultdict(list)
    for o in facts.occurrences:
        by_calendar[o.calendar].append(o)
    answers_of: dict[str, list[FeedbackAnswer]] = defaultdict(list)
    for answer in facts.answers:
        answers_of[answer.calendar].append(answer)
    names = dict(facts.calendars)

    partners = []
    for calendar, name in facts.calendars:
        own = by_calendar.get(calendar, [])
        held = [o for o in own if not o.cancelled]
        reach = _reach(own)
        partners.append(
            PartnerRow(
                partner=calendar,
                name=name,
                events=len(held),
                held=sum(1 for o in held if o.end <= facts.now),
                cancelled=sum(1 for o in own if o.cancelled),
                hours=_hours(own),
                grades=tuple(sorted(reach.grades_touched())),
                audience=reach.label() if not reach.is_empty() else "",
                classes=len(reach.classes),
                changed_late=sum(1 for o in held if _late(o, late)),
                published_on_time=sum(1 for o in held if _on_time(o, early)),
                clashes=_clash_figures([c for c in facts.clashes if calendar in c.calendars]),
                ratings=summarize(answers_of.get(calendar, [])),
            )
        )

    # The audience of each event, to put its answers under its grades.
    audience_of: dict[tuple[str, str], Audience] = {}
    for o in facts.occurrences:
        audience_of[(o.calendar, o.uid)] = audience_of.get((o.calendar, o.uid), Audience()).union(
            o.audience
        )
    grades = []
    for grade in sorted(ALL_GRADES):
        mine = [o for o in facts.occurrences if grade in o.audience.grades_touched()]
        held = [o for o in mine if not o.cancelled]
        classes = sorted(
            {f"{g}{letter}" for o in held for g, letter in o.audience.classes if g == grade}
        )
        grade_clashes = [c for c in facts.clashes if grade in c.grades]
        grade_answers = [
            a
            for a in facts.answers
            if grade in audience_of.get((a.calendar, a.uid), Audience()).grades_touched()
        ]
        grades.append(
            GradeRow(
                grade=grade,
                events=len(held),
                held=sum(1 for o in held if o.end <= facts.now),
                cancelled=sum(1 for o in mine if o.cancelled),
                hours=_hours(mine),
                partners=tuple(sorted({o.calendar for o in held}, key=lambda c: names.get(c, c))),
                classes=tuple(classes),
                clashes=len(grade_clashes),
                open_clashes=sum(1 for c in grade_clashes if c.status == "open"),
                ratings=summarize(grade_answers),
            )
        )

    held_all = [o for o in facts.occurrences if not o.cancelled]
    clash_figures = _clash_figures(facts.clashes)
    on_time = sum(1 for o in held_all if _on_time(o, early))
    changed_late = sum(1 for o in held_all if _late(o, late))
    school = SchoolFigures(
        events=len(held_all),
        held=sum(1 for o in held_all if o.end <= facts.now),
        cancelled=sum(1 for o in facts.occurrences if o.cancelled),
        hours=_hours(facts.occurrences),
        partners_active=sum(1 for row in partners if row.events),
        grades_reached=len(_reach(facts.occurrences).grades_touched()),
        clashes=clash_figures,
        settled_before_share=_share(clash_figures.settled_before, clash_figures.found),
        published_on_time=on_time,
        published_on_time_share=_share(on_time, len(held_all)),
        changed_late=changed_late,
        changed_late_share=_share(changed_late, len(held_all)),
        ratings=summarize(facts.answers),
    )
    return Report(
        first=facts.first,
        last=facts.last,
        made_at=facts.now,
        school=facts.school,
        partners=tuple(partners),
        grades=tuple(grades),
        school_figures=school,
        feedback_available=facts.feedback_available,
        late_change_days=late,
        publish_days_before=early,
        scope=scope,
        timezone=facts.timezone,
    )
