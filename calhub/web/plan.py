"""The merged plan: month, week and agenda views of every hub calendar, and one event.

The page works without JavaScript: the agenda (list) of the shown range is rendered here,
with the filters as GET parameters. With JavaScript and the FullCalendar bundle, the
month and week views draw a grid fed by ``/api/events`` with the same filters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

from babel.dates import format_interval
from flask import Blueprint, Response, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, get_locale
from flask_babel import gettext as _

from calhub.engine import Occurrence
from calhub.feedback.links import LinkTarget, feedback_keys, form_url
from calhub.feeds.qr import qr_svg
from calhub.web import assets, audit, clashes, editor, events, moves
from calhub.web.auth import current_account, page_login_required
from calhub.web.context import current_hub, current_runtime
from calhub.web.feeds import base_url
from calhub.web.storage import read_event_text

logger = logging.getLogger(__name__)

bp = Blueprint("plan", __name__)

VIEWS = ("month", "week", "agenda")
FULLCALENDAR_VIEWS = {"month": "dayGridMonth", "week": "timeGridWeek"}


def view_range(view: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day shown by ``view`` around ``day``."""
    if view == "week":
        first = day - dt.timedelta(days=day.weekday())
        return first, first + dt.timedelta(days=6)
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def step(view: str, day: dt.date, forward: bool) -> dt.date:
    if view == "week":
        return day + dt.timedelta(days=7 if forward else -7)
    first = day.replace(day=1)
    if forward:
        return (first + dt.timedelta(days=32)).replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def range_title(view: str, first: dt.date, last: dt.date) -> str:
    if view == "week":
        return str(format_interval(first, last, "yMMMd", locale=get_locale()))
    title = format_date(first, "LLLL yyyy")
    return str(title[:1].upper() + title[1:])


def audience_source(source: str) -> str:
    """Where an occurrence's audience came from, in words (``Occurrence.audience_source``);
    the two sources of ``events.DEFAULT_AUDIENCE_SOURCES`` get the "default audience" badge."""
    names: dict[str, str] = {
        "x-calhub-audience": _("the X-CALHUB-AUDIENCE property"),
        "categories": _("the event's categories"),
        "summary": _("the [tag] in the title"),
        "description": _("the “Классы:” line in the description"),
        "phrase": _("a phrase in the title or description"),
        "calendar-default": _("the calendar's default audience"),
        "whole-school": _("nothing was given, so the whole school"),
    }
    return names.get(source, source)


@bp.get("/plan")
@page_login_required
def index() -> ResponseReturnValue:
    hub = current_hub()
    account = current_account()
    assert account is not None
    view = request.args.get("view", "month")
    if view not in VIEWS:
        view = "month"
    today = events.local_today(hub)
    try:
        day = (
            dt.date.fromisoformat(request.args.get("date", ""))
            if request.args.get("date")
            else today
        )
    except ValueError:
        day = today
    if not 1900 <= day.year <= 2200:
        day = today  # the weeks around year 1 or 9999 leave what datetime holds (a 500)
    plan_filter = events.PlanFilter.from_args(hub, request.args)
    first, last = view_range(view, day)
    found = events.plan_events(
        hub,
        account,
        events.day_start(hub, first),
        events.day_start(hub, last + dt.timedelta(days=1)),
        plan_filter,
    )
    kept = plan_filter.query()

    def link(**changes: Any) -> str:
        args: dict[str, Any] = {"view": view, "date": day.isoformat(), **kept}
        args.update(changes)
        return url_for("plan.index", **args)

    now = dt.datetime.now(events.zone(hub)).replace(tzinfo=None, microsecond=0)
    return render_template(
        "plan.html",
        view=view,
        day=day,
        today=today,
        first=first,
        last=last,
        title=range_title(view, first, last),
        days=events.by_day(found, first, last),
        count=len(found),
        defaulted=sum(1 for event in found if event.default_audience),
        plan_filter=plan_filter,
        calendars=list(events.visible_calendars(hub).values()),
        groups=sorted(hub.settings.groups),
        venues=events.venues(found),
        link=link,
        prev_url=link(date=step(view, day, False).isoformat()),
        next_url=link(date=step(view, day, True).isoformat()),
        today_url=link(date=today.isoformat()),
        grid_view=FULLCALENDAR_VIEWS.get(view, ""),
        grid_available=assets.fullcalendar_available(),
        feed_url=url_for("api.plan_events", **kept),
        now=now.isoformat(),
        can_add=bool(editor.writable_calendars(account)),
    )


def _occurrence_or_404() -> Occurrence:
    hub = current_hub()
    calendar = request.args.get("calendar", "")
    uid = request.args.get("uid", "")
    recurrence_id = request.args.get("rid", "")
    settings = events.visible_calendars(hub)
    if calendar not in settings or not uid:
        abort(404)
    occurrence = events.find_occurrence(hub, calendar, uid, recurrence_id)
    if occurrence is None:
        abort(404)
    return occurrence


@bp.get("/plan/event")
@page_login_required
def event() -> ResponseReturnValue:
    hub = current_hub()
    account = current_account()
    assert account is not None
    occurrence = _occurrence_or_404()
    calendar = events.visible_calendars(hub)[occurrence.calendar]
    tz = events.zone(hub)
    marks = clashes.marks(current_runtime(), account, occurrence.start, occurrence.end)
    shown = events.PlanEvent(occurrence, calendar, marks.get(occurrence.key, ""), tz)
    text = read_event_text(hub, calendar, occurrence.uid, occurrence.recurrence_id, tz)
    records = clashes.records_of_event(
        current_runtime(), account, occurrence.calendar, occurrence.uid, occurrence.recurrence_id
    )
    fragment = bool(request.args.get("fragment"))
    template = "event_fragment.html" if fragment else "event.html"
    history = audit.event_history(account, occurrence.calendar, occurrence.uid)
    # Who may change the calendar may move the event from here (the policy's word).
    movable = current_runtime().policy.may_write_events(account.login, calendar.path)
    feedback_link = feedback_qr = ""
    if movable and not fragment and not occurrence.is_blackout and calendar.role != "blackout":
        # The occurrence's feedback form, with a QR code to print for the room.
        feedback_link = form_url(
            base_url(current_runtime()),
            feedback_keys(hub),
            LinkTarget(occurrence.calendar, occurrence.uid, occurrence.recurrence_id),
        )
        feedback_qr = qr_svg(feedback_link, scale=3)
    return render_template(
        template,
        event=shown,
        text=text,
        records=records,
        audit_entries=history,
        calendars=events.visible_calendars(hub),
        audience_source=audience_source(occurrence.audience_source),
        move_link=moves.move_url(occurrence) if movable and not occurrence.is_blackout else "",
        feedback_link=feedback_link,
        feedback_qr=feedback_qr,
        feedback_days=current_runtime().settings.feedback.window_days,
        # A series is edited whole (its dates move one by one).
        edit_link=url_for("editor.edit", calendar=occurrence.calendar, uid=occurrence.uid),
        # Where an approval from this event returns to (the dialog's script points it at
        # the plan page instead).
        event_url=url_for(
            "plan.event",
            calendar=occurrence.calendar,
            uid=occurrence.uid,
            rid=occurrence.recurrence_id or None,
        ),
    )


@bp.get("/calendars.css")
def calendar_colours() -> ResponseReturnValue:
    """One class per calendar with its colour, so pages need no inline styles (CSP)."""
    lines = []
    # A colour too close to a clash colour is shown as a palette colour instead, here and
    # in /api/events alike (issue 15: БФУ in red read as a hard clash everywhere).
    for calendar_id, colour in events.shown_colours(current_hub()).items():
        calendar = current_hub().settings.calendar(calendar_id)
        assert calendar is not None
        lines.append(f".cal-{calendar.id}{{--cal:{colour};--cal-text:{events.text_color(colour)}}}")
    body = "\n".join(lines) + "\n"
    response = Response(body, mimetype="text/css")
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:16])
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)
