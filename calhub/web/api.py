"""JSON API: ``/api/conflicts``, approving or reopening a clash, ``/api/events`` (the
merged plan's feed for FullCalendar) and ``/api/refused`` (writes the hub refused).

HTTP Basic (as CalDAV) or the web session; a state change through the session also needs
the CSRF token in the ``X-CSRF-Token`` header (checked for every request in
``calhub.web.security``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from calhub.errors import NoSuchClash, UserError
from calhub.runtime import paging
from calhub.runtime.queries import build_filters
from calhub.store.refused import STATES
from calhub.web import events
from calhub.web.acting import web_origin
from calhub.web.auth import (
    api_error,
    api_user_error,
    coordinator_required,
    current_account,
    login_required,
)
from calhub.web.context import current_hub, current_runtime

logger = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api")

# Records per page of /api/conflicts unless ?limit= says otherwise, and the most it may say.
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


bp.register_error_handler(UserError, api_user_error)


@bp.get("/conflicts")
@login_required
def conflicts() -> ResponseReturnValue:
    hub = current_hub()
    account = current_account()
    assert account is not None
    args = request.args
    filters = build_filters(
        hub,
        status=args.get("status"),
        calendar=args.get("calendar"),
        start=args.get("from"),
        end=args.get("to"),
        severity=args.get("severity"),
    )
    # Paged in SQL: one write once made thousands of records (issue 11).
    limit = paging.whole(args.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = paging.whole(args.get("offset"), "offset", 0, 0, 10**9)
    runtime = current_runtime()
    scope = runtime.policy.clash_scope(account)
    page = runtime.records.page(filters, limit, offset, calendar=scope)
    response = jsonify([record.as_json() for record in page.records])
    response.headers["X-Total-Count"] = str(page.total)
    if offset + len(page.records) < page.total:
        wanted: dict[str, Any] = {**args.to_dict(), "limit": limit, "offset": offset + limit}
        following = url_for("api.conflicts", **wanted)
        response.headers["Link"] = f'<{following}>; rel="next"'
    return response


@bp.get("/conflicts/<clash_id>")
@login_required
def conflict(clash_id: str) -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    runtime = current_runtime()
    records = runtime.records
    record = records.get(clash_id, instances=False)
    visible = record is not None and runtime.policy.can_see_clash(account, record.calendars)
    if not visible:
        return api_error(404, f"There is no clash {clash_id!r}.")
    assert record is not None
    # Its dates are a list too: paged like the records (``count`` says how many in all).
    limit = paging.whole(request.args.get("limit"), "limit", MAX_LIMIT, 1, MAX_LIMIT)
    offset = paging.whole(request.args.get("offset"), "offset", 0, 0, 10**9)
    answer = record.with_instances(records.instances(clash_id, limit, offset)).as_json()
    answer["history"] = [entry.as_json() for entry in records.history(clash_id)]
    return jsonify(answer)


def _comment() -> str:
    if not request.is_json:
        raise UserError(
            "Send the comment as JSON.", hint='Content-Type: application/json, {"comment": "..."}'
        )
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("comment", ""), str):
        raise UserError('The body must be {"comment": "..."}.')
    comment: str = data.get("comment", "")
    return comment


@bp.post("/conflicts/<clash_id>/approve")
@coordinator_required
def approve(clash_id: str) -> ResponseReturnValue:
    return _decide(clash_id, "approve")


@bp.post("/conflicts/<clash_id>/reopen")
@coordinator_required
def reopen(clash_id: str) -> ResponseReturnValue:
    return _decide(clash_id, "reopen")


def _decide(clash_id: str, action: str) -> ResponseReturnValue:
    """A coordinator's approve or reopen, with the comment from the JSON body."""
    account = current_account()
    assert account is not None
    comment = _comment()
    records = current_runtime().records
    decide = records.approve if action == "approve" else records.reopen
    try:
        record = decide(clash_id, account.login, comment, origin=web_origin("api"))
    except NoSuchClash:
        return api_error(404, f"There is no clash {clash_id!r}.")
    return jsonify(record.as_json())


# What werkzeug's query encoding (``url_for``) leaves as it is: urllib's always-safe
# characters and these.
_QUERY_SAFE = "!$'()*,/:;?@"
_QUERY_UNSAFE = re.compile(r"[^A-Za-z0-9_.~" + re.escape("-" + _QUERY_SAFE) + "]")


def _escape(match: re.Match[str]) -> str:
    found = match.group()
    return "+" if found == " " else "".join(f"%{byte:02X}" for byte in found.encode())


def _detail_url(base: str, query: list[tuple[str, str | None]]) -> str:
    """``url_for("plan.event", **query)`` from its base, as werkzeug encodes a query (the
    same safe characters), without building the route again for each of a month's events.
    Only what needs escaping is escaped: ``urlencode`` looks up every character and was a
    third of a dense month grid's answer (issue 21)."""
    text = "&".join(
        f"{name}={_QUERY_UNSAFE.sub(_escape, value)}" for name, value in query if value is not None
    )
    return f"{base}?{text}" if text else base


def _event_json(
    event: events.PlanEvent,
    movable: bool = False,
    colours: Mapping[str, str] | None = None,
    detail_base: str = "",
) -> dict[str, Any]:
    """One occurrence as a FullCalendar event, in the hub's wall-clock time (the page runs
    FullCalendar in its UTC mode, so these times are shown as they are). ``movable``: the
    account may move it, so the grid lets it be dragged (a timed event only). ``colours``:
    :func:`events.shown_colours`, and ``detail_base``, the event page's URL without a query,
    if the caller has them (a month grid has thousands of events)."""
    occurrence = event.occurrence
    if occurrence.all_day:
        start, end = event.start.date().isoformat(), event.end.date().isoformat()
    else:
        start = event.start.replace(tzinfo=None).isoformat(timespec="minutes")
        end = event.end.replace(tzinfo=None).isoformat(timespec="minutes")
    if colours is None:
        colours = events.shown_colours(current_hub())
    colour = colours.get(event.calendar.id, event.calendar.color[:7])
    classes = [f"cal-{event.calendar.id}"]
    if event.mark:
        classes.append(f"clash-{event.mark}")
    if event.default_audience:
        classes.append("audience-default")
    detail = _detail_url(
        detail_base or url_for("plan.event"),
        [
            ("calendar", occurrence.calendar),
            ("uid", occurrence.uid),
            ("rid", occurrence.recurrence_id or None),
        ],
    )
    return {
        "id": "/".join(occurrence.key),
        "title": occurrence.summary,
        "start": start,
        "end": end,
        "allDay": occurrence.all_day,
        "url": detail,
        "backgroundColor": colour,
        "borderColor": colour,
        "textColor": events.text_color(colour),
        "classNames": classes,
        # Dragged to another time, it is moved through POST /api/events/move.
        "editable": movable and not occurrence.all_day and not occurrence.is_blackout,
        # Where the audience came from, and whether the event named none (issue 14).
        "audience_source": occurrence.audience_source,
        "default_audience": event.default_audience,
        "extendedProps": {
            "calendar": occurrence.calendar,
            "calendarName": event.calendar.name,
            "location": occurrence.location,
            "audience": occurrence.audience.label(),
            "clash": event.mark,
            "uid": occurrence.uid,
            "recurrenceId": occurrence.recurrence_id,
        },
    }


# The plan's dates: years a school plan can mean. Outside them the hub's zone and the
# ranges added to a date leave what ``datetime`` can hold (year 1 or 9999 was a 500).
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200


def _wall_clock(text: str) -> dt.datetime | None:
    """``text`` as the hub's wall clock in UTC, or None if it is no date of the plan."""
    try:
        moment = events.parse_wall_clock(current_hub(), text)
    except OverflowError:
        return None
    if moment is None or not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        return None
    return moment


@bp.get("/events")
@login_required
def plan_events() -> ResponseReturnValue:
    """``?start=&end=`` (dates or date-times, hub wall clock) and the plan's filters:
    ``calendar`` (repeatable), ``grade``, ``group`` (a class or group), ``venue``, ``q``."""
    hub = current_hub()
    account = current_account()
    assert account is not None
    args = request.args
    start: dt.datetime | None = events.day_start(hub, events.local_today(hub).replace(day=1))
    if args.get("start"):
        start = _wall_clock(args["start"])
    end = None if start is None else start + dt.timedelta(days=31)
    if args.get("end"):
        end = _wall_clock(args["end"])
    if start is None or end is None:
        return api_error(
            400,
            "Начало и конец — даты или дата и время с "
            f"{EARLIEST_YEAR} по {LATEST_YEAR} год. / start and end must be dates or "
            f"date-times in the years {EARLIEST_YEAR} to {LATEST_YEAR}.",
            "YYYY-MM-DD",
        )
    if end <= start:
        return api_error(400, "end must be after start.")
    plan_filter = events.PlanFilter.from_args(hub, request.args)
    if plan_filter.problems:
        return api_error(400, " ".join(plan_filter.problems))
    found = events.plan_events(hub, account, start, end, plan_filter)
    policy = current_runtime().policy
    writable = {
        c.id
        for c in events.visible_calendars(hub).values()
        if policy.may_write_events(account.login, c.path)
    }
    colours, base = events.shown_colours(hub), url_for("plan.event")
    return jsonify(
        [_event_json(event, event.calendar.id in writable, colours, base) for event in found]
    )


@bp.get("/refused")
@login_required
def refused() -> ResponseReturnValue:
    """Refused writes (``calhub.store.refused``), newest first: a partner's own, or (coordinator)
    everyone's or ``?login=``'s; ``?state=open`` (default), ``closed`` or ``all``. Each has
    ``ics_url``, the event as sent (while it is kept)."""
    account = current_account()
    assert account is not None
    state = request.args.get("state", "open")
    if state not in STATES:
        return api_error(400, f"Unknown state {state!r}.", f"One of: {', '.join(STATES)}.")
    runtime = current_runtime()
    login = runtime.policy.refused_scope(account, request.args.get("login") or None)
    rows = runtime.refused.query(login, state)
    return jsonify(
        [
            {
                **row.as_json(),
                "ics_url": url_for("refused.download", row_id=row.id) if row.body_kept else None,
            }
            for row in rows
        ]
    )
