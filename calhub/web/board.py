"""The grade board (issue 15): grades down, days across, the week's or month's events in
each cell, and each cell's clash state at a glance, the school's old spreadsheet done right.

Rows are the grades 1–11; a grade opens (``?open=10``, a plain link: no JavaScript) into
its classes (those the groups of ``calhub.toml`` name and those the shown events name) and
the named groups that touch it. A cell holds the events whose audience meets the row's on
that day, as chips in the partner's colour linking to the event. Its state comes from the
clashes of its events that concern the row (``clashes.concerns``: the classes at both
events for a students' clash, the whole event for a room): red for an open hard one,
amber for a soft one, green when all of them are approved. Closed periods (the
``blackout`` calendar) are a grey background and a label, never a chip, so a holiday is
not read as a clash. Each state has a sign and a word as well as a colour. Only the range
shown is read (a week, or a month: less than ``events.MAX_RANGE``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, pgettext
from flask_babel import gettext as _

from calhub.engine import Audience
from calhub.engine.audience import ALL_GRADES
from calhub.web import clashes, events
from calhub.web.auth import current_account, page_login_required
from calhub.web.clashes import Concern, OccurrenceKey
from calhub.web.context import current_hub, current_runtime
from calhub.web.plan import step, view_range

logger = logging.getLogger(__name__)

bp = Blueprint("board", __name__)

VIEWS = ("week", "month")
# Chips per cell before "+N more" (a link to the plan's list of that day): a month's
# columns are narrow, and a cell that grows to twenty chips hides its neighbours.
CHIPS_PER_CELL = {"week": 6, "month": 3}
STATE_RANK = {"": 0, "approved": 1, "soft": 2, "hard": 3}


@dataclass(frozen=True, slots=True)
class Row:
    key: str  # what ?open= names for a grade; unique per row
    label: str
    audience: Audience
    grade: int
    kind: str  # "grade", "class" or "group"


@dataclass(frozen=True, slots=True)
class Cell:
    day: dt.date
    chips: list[events.PlanEvent]
    blackouts: list[events.PlanEvent]
    state: str  # "", "hard", "soft" or "approved"
    more: int  # chips left out (CHIPS_PER_CELL)


def state_name(state: str) -> str:
    """A cell's state in words, next to its sign (colour is never the only cue)."""
    names: dict[str, str] = {
        "hard": pgettext("board cell", "hard clash"),
        "soft": pgettext("board cell", "warning"),
        "approved": pgettext("board cell", "approved"),
    }
    return names.get(state, "")


def range_title(view: str, first: dt.date, last: dt.date) -> str:
    """The range in words: «7–13 февраля 2027», «27 января – 2 февраля 2027», «Февраль
    2027»; never an ISO week number, which nobody at school counts in."""
    if view == "month":
        title = str(format_date(first, "LLLL yyyy"))
        return title[:1].upper() + title[1:]
    if first.year != last.year:
        return f"{format_date(first, 'd MMMM yyyy')} – {format_date(last, 'd MMMM yyyy')}"
    if first.month != last.month:
        return f"{format_date(first, 'd MMMM')} – {format_date(last, 'd MMMM yyyy')}"
    return f"{first.day}–{format_date(last, 'd MMMM yyyy')}"


def cell_state(
    chips: Iterable[events.PlanEvent], row: Row, concerns: dict[OccurrenceKey, list[Concern]]
) -> str:
    """Hard wins over soft, soft over approved; "" when no clash of the cell's events
    concerns the row (a students' clash of 10–11 with 10А is 10А's, not grade 11's)."""
    return max(
        (
            mark
            for event in chips
            for mark, whose in concerns.get(event.occurrence.key, ())
            if whose is None or whose.intersects(row.audience)
        ),
        key=STATE_RANK.__getitem__,
        default="",
    )


def covers(event: events.PlanEvent, day: dt.date) -> bool:
    return event.start.date() <= day <= event.last_day


def class_row(grade: int, letter: str) -> Row:
    name = f"{grade}{letter}"
    return Row(name, name, Audience(classes=frozenset({(grade, letter)})), grade, "class")


def grade_rows(
    grades: Iterable[int], found: Sequence[events.PlanEvent], groups: dict[str, Audience]
) -> dict[int, list[Row]]:
    """Grade → the rows it opens into: its classes (from the groups and the events shown,
    so a class nobody wrote does not take a line), then the named groups touching it."""
    classes: dict[int, set[str]] = {}
    for audience in [event.occurrence.audience for event in found] + list(groups.values()):
        for grade, letter in audience.classes:
            classes.setdefault(grade, set()).add(letter)
    rows: dict[int, list[Row]] = {}
    for grade in grades:
        children = [class_row(grade, letter) for letter in sorted(classes.get(grade, ()))]
        children += [
            Row(f"{grade}:{name}", name, audience, grade, "group")
            for name, audience in sorted(groups.items())
            if grade in audience.grades_touched()
        ]
        rows[grade] = children
    return rows


def build_cells(
    row: Row,
    days: Sequence[dt.date],
    by_day: dict[dt.date, list[events.PlanEvent]],
    blackouts: dict[dt.date, list[events.PlanEvent]],
    limit: int,
    concerns: dict[OccurrenceKey, list[Concern]],
) -> list[Cell]:
    cells = []
    for day in days:
        chips = [e for e in by_day.get(day, []) if e.occurrence.audience.intersects(row.audience)]
        closed = [
            e for e in blackouts.get(day, []) if e.occurrence.audience.intersects(row.audience)
        ]
        cells.append(
            Cell(
                day,
                chips[:limit],
                closed,
                cell_state(chips, row, concerns),
                max(0, len(chips) - limit),
            )
        )
    return cells


def _per_day(
    found: Iterable[events.PlanEvent], days: Sequence[dt.date]
) -> dict[dt.date, list[events.PlanEvent]]:
    table: dict[dt.date, list[events.PlanEvent]] = {}
    for event in found:
        for day in days:
            if covers(event, day):
                table.setdefault(day, []).append(event)
    return table


def _named_groups() -> dict[str, Audience]:
    parser = current_runtime().parts.parser
    groups = {}
    for name in current_hub().settings.groups:
        audience = parser.parse(name)
        if audience is not None and not audience.is_empty():
            groups[name] = audience
    return groups


def _parse_args(today: dt.date) -> tuple[str, dt.date, list[str]]:
    """The view and the day asked for; a wrong one is replaced, with a note saying so
    (the page still answers 200: a mistyped link shows this week, not an error)."""
    notes = []
    view = request.args.get("view", "week")
    if view not in VIEWS:
        notes.append(_("There is no view “%(view)s”; here is the week.", view=view[:40]))
        view = "week"
    raw = request.args.get("date", "")
    day = today
    if raw:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            day = dt.date.min
        # The weeks around year 1 or 9999 leave what datetime holds; no school plans there.
        if not 1900 <= day.year <= 2200:
            if view == "week":
                note = _(
                    "“%(date)s” is not a date (write it as YYYY-MM-DD); here is the current week.",
                    date=raw[:40],
                )
            else:
                note = _(
                    "“%(date)s” is not a date (write it as YYYY-MM-DD); here is the current month.",
                    date=raw[:40],
                )
            notes.append(note)
            day = today
    return view, day, notes


@bp.get("/board")
@page_login_required
def index() -> ResponseReturnValue:
    hub = current_hub()
    account = current_account()
    assert account is not None
    today = events.local_today(hub)
    view, day, notes = _parse_args(today)
    plan_filter = events.PlanFilter.from_args(hub, request.args)
    first, last = view_range(view, day)
    start = events.day_start(hub, first)
    end = events.day_start(hub, last + dt.timedelta(days=1))
    found = events.plan_events(hub, account, start, end, plan_filter)
    calendars = events.visible_calendars(hub)
    blackout_ids = tuple(c.id for c in calendars.values() if c.role == "blackout")
    shown = [e for e in found if e.calendar.role != "blackout"]
    closed = [e for e in found if e.calendar.role == "blackout"]
    if blackout_ids and (plan_filter.calendars or plan_filter.venue or plan_filter.q):
        # A calendar, venue or text filter picks events, not the days the school is closed:
        # those stay the board's background whatever is looked for (the audience still
        # applies: a closed period of grade 9 is not grade 10's).
        background = dataclasses.replace(
            plan_filter, calendars=blackout_ids, venue="", venue_key="", q=""
        )
        closed = events.plan_events(hub, account, start, end, background)

    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    grades = sorted(ALL_GRADES)
    if plan_filter.grade:
        grades = [plan_filter.grade]
    elif plan_filter.audience is not None:
        grades = sorted(plan_filter.audience.grades_touched()) or grades
    children = grade_rows(grades, shown, _named_groups())
    opened = set(request.args.getlist("open"))
    everything_open = "all" in opened
    by_day = _per_day(shown, days)
    closed_by_day = _per_day(closed, days)
    limit = CHIPS_PER_CELL[view]
    concerns = clashes.concerns(
        current_runtime(),
        account,
        start,
        end,
        {e.occurrence.key: e.occurrence.audience for e in shown},
    )

    kept = plan_filter.query()

    def link(**changes: Any) -> str:
        args: dict[str, Any] = {"view": view, "date": day.isoformat(), **kept}
        if opened:
            args["open"] = sorted(opened)
        args.update(changes)
        return url_for("board.index", **args)

    def toggle(grade: int) -> str:
        key = str(grade)
        now_open = opened - {"all"} | ({str(g) for g in grades} if everything_open else set())
        return link(open=sorted(now_open - {key} if key in now_open else now_open | {key}) or None)

    def more_link(row: Row, cell_day: dt.date) -> str:
        args: dict[str, Any] = {"view": "agenda", "date": cell_day.isoformat(), **kept}
        if row.kind == "grade" and not plan_filter.grade:
            args["grade"] = row.grade
        elif row.kind != "grade" and not plan_filter.group:
            args["group"] = row.label
        return url_for("plan.index", **args) + f"#day-{cell_day.isoformat()}"

    table = []
    for grade in grades:
        row = Row(str(grade), str(grade), Audience(frozenset({grade})), grade, "grade")
        is_open = everything_open or str(grade) in opened
        subrows = [
            (child, build_cells(child, days, by_day, closed_by_day, limit, concerns))
            for child in (children[grade] if is_open else [])
        ]
        table.append(
            (row, build_cells(row, days, by_day, closed_by_day, limit, concerns), is_open, subrows)
        )

    return render_template(
        "board.html",
        view=view,
        day=day,
        today=today,
        first=first,
        last=last,
        days=days,
        title=range_title(view, first, last),
        table=table,
        children=children,
        notes=notes,
        count=len(shown),
        plan_filter=plan_filter,
        calendars=list(calendars.values()),
        groups=sorted(hub.settings.groups),
        venues=events.venues(found),
        link=link,
        toggle=toggle,
        more_link=more_link,
        prev_url=link(date=step(view, day, False).isoformat()),
        next_url=link(date=step(view, day, True).isoformat()),
        today_url=link(date=today.isoformat()),
        expand_url=link(open="all"),
        collapse_url=link(open=None),
        everything_open=everything_open,
        board_state_name=state_name,
    )
