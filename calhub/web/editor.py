"""Creating and editing events on the website (the coordinator's desk, issue 15).

``/plan/event/new`` and ``/plan/event/edit?calendar=…&uid=…`` show one small form (title,
who it is for, day and times, venue, description); saving writes through the CalDAV path
(:mod:`calhub.dav.edit`: the same storage hooks and clash check as a phone, every property
the form does not show kept). The coordinator writes in any calendar, a partner in its own
(the policy's ``may_write_events``). ``new`` takes its first values from the address
(``?calendar=&date=&start=&end=&audience=&location=``), so a free slot is one click from a
filled-in form. After saving, the event's page shows the clashes the write found.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from calhub.dav.edit import (
    EditConflict,
    EditForbidden,
    EventFields,
    EventGone,
    MirroredEvent,
    create_event,
    current_version,
    edit_event,
)
from calhub.dav.refusal import WriteRefused
from calhub.errors import UserError
from calhub.hub.accounts import Account
from calhub.hub.settings import CalendarSettings
from calhub.web import events
from calhub.web.acting import web_actor
from calhub.web.auth import current_account, error_page, page_login_required
from calhub.web.context import current_hub, current_runtime
from calhub.web.i18n import safe_next
from calhub.web.storage import app_storage, read_event_text

logger = logging.getLogger(__name__)

bp = Blueprint("editor", __name__)

MAX_SUMMARY = 300
MAX_LOCATION = 300
MAX_DESCRIPTION = 10_000
FIELDS = ("calendar", "summary", "audience", "date", "start", "end", "location", "description")


def writable_calendars(account: Account) -> list[CalendarSettings]:
    """The calendars ``account`` may write events into, as the form's choice."""
    policy = current_runtime().policy
    return [
        c
        for c in events.visible_calendars(current_hub()).values()
        if policy.may_write_events(account.login, c.path)
    ]


def _bad(ru: str, en: str, hint: str = "") -> UserError:
    return UserError(f"{ru} / {en}", hint=hint)


def _fields(form: Any, series: bool) -> EventFields:
    """The form's values, checked; ``series``: a whole series keeps its times."""
    summary = form.get("summary", "").strip()
    if not summary:
        raise _bad("Нужно название события.", "The event needs a title.")
    if len(summary) > MAX_SUMMARY:
        raise _bad(
            f"Название длиннее {MAX_SUMMARY} знаков.",
            f"The title is over {MAX_SUMMARY} characters.",
        )
    audience = form.get("audience", "").strip()
    if audience:
        parsed = current_runtime().parts.parser.parse(audience)
        if parsed is None or parsed.is_empty():
            raise _bad(
                f"Аудитория {audience!r} не понята.",
                f"The audience {audience!r} is not understood.",
                "Name grades or classes, for example 10А, 10-11 or 9, 10Б.",
            )
    start = end = None
    if not series:
        zone = events.zone(current_hub())
        try:
            day = dt.date.fromisoformat(form.get("date", ""))
            first = dt.time.fromisoformat(form.get("start", ""))
            last = dt.time.fromisoformat(form.get("end", ""))
        except ValueError:
            raise _bad(
                "День и время не поняты.",
                "The day and times are not understood.",
                "Give the day as YYYY-MM-DD and the times as HH:MM.",
            ) from None
        start = dt.datetime.combine(day, first, zone)
        end = dt.datetime.combine(day, last, zone)
    return EventFields(
        summary=summary,
        location=form.get("location", "").strip()[:MAX_LOCATION],
        description=form.get("description", "").strip()[:MAX_DESCRIPTION],
        audience=audience,
        start=start,
        end=end,
    )


def _render(
    values: dict[str, str],
    *,
    mode: str,
    calendars: list[CalendarSettings],
    status: int = 200,
    problem: str = "",
    hint: str = "",
    series: bool = False,
    version: str = "",
    target: tuple[str, str, str] | None = None,
    next_url: str = "",
) -> ResponseReturnValue:
    page = render_template(
        "event_form.html",
        values=values,
        mode=mode,
        calendars=calendars,
        problem=problem,
        hint=hint,
        series=series,
        version=version,
        target=target,
        next_url=next_url,
    )
    return page, status


def _event_page(calendar: str, uid: str, rid: str = "") -> str:
    return url_for("plan.event", calendar=calendar, uid=uid, rid=rid or None)


# -- new ---------------------------------------------------------------------------------


@bp.route("/plan/event/new", methods=["GET", "POST"])
@page_login_required
def new() -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    calendars = writable_calendars(account)
    if not calendars:
        return error_page(403, _("Your account cannot add events to any calendar."))
    source = request.form if request.method == "POST" else request.args
    values = {name: source.get(name, "") for name in FIELDS}
    values["calendar"] = values["calendar"] or calendars[0].id
    if request.method == "GET":
        today = events.local_today(current_hub())
        values["date"] = values["date"] or today.isoformat()
        values["start"] = values["start"] or "15:00"
        values["end"] = values["end"] or "16:30"
        return _render(values, mode="new", calendars=calendars)
    chosen = next((c for c in calendars if c.id == values["calendar"]), None)
    if chosen is None:
        return error_page(403, _("You cannot add events to that calendar."))
    try:
        with web_actor():
            saved = create_event(
                current_runtime(),
                app_storage(current_hub()),
                login=account.login,
                calendar=chosen,
                fields=_fields(request.form, series=False),
            )
    except EditForbidden:
        return error_page(403, _("You cannot add events to that calendar."))
    except UserError as error:
        return _render(
            values,
            mode="new",
            calendars=calendars,
            status=400,
            problem=error.message,
            hint=error.hint,
        )
    except WriteRefused as error:
        return _render(
            values, mode="new", calendars=calendars, status=error.status, problem=error.text
        )
    flash(_("Event added. Calendar apps show it at their next sync."), "ok")
    return redirect(_event_page(chosen.id, saved.uid), code=303)


# -- edit --------------------------------------------------------------------------------


def _stored_values(calendar: CalendarSettings, uid: str, rid: str) -> tuple[dict[str, str], bool]:
    """The form's first values from the stored event; whether it is a whole series."""
    hub = current_hub()
    occurrence = events.find_occurrence(hub, calendar.id, uid, rid)
    if occurrence is None:
        abort(404)
    zone = events.zone(hub)
    text = read_event_text(hub, calendar, uid, rid, zone)
    series = not rid and text.recurring
    start = occurrence.start.astimezone(zone)
    end = occurrence.end.astimezone(zone)
    values = {
        "calendar": calendar.id,
        "summary": occurrence.summary,
        "audience": text.audience,
        "date": start.date().isoformat(),
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
        "location": occurrence.location,
        "description": text.description,
    }
    return values, series


@bp.route("/plan/event/edit", methods=["GET", "POST"])
@page_login_required
def edit() -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    source = request.form if request.method == "POST" else request.args
    calendar_id, uid, rid = source.get("calendar", ""), source.get("uid", ""), source.get("rid", "")
    calendar = events.visible_calendars(current_hub()).get(calendar_id)
    if calendar is None or not uid:
        abort(404)
    if not current_runtime().policy.may_write_events(account.login, calendar.path):
        return error_page(403, _("Only the coordinator and the event's own partner can change it."))
    stored, series = _stored_values(calendar, uid, rid)
    next_url = safe_next(source.get("next")) or _event_page(calendar_id, uid, rid)
    common: dict[str, Any] = {
        "mode": "edit",
        "calendars": [calendar],
        "series": series,
        "target": (calendar_id, uid, rid),
        "next_url": next_url,
    }
    if request.method == "GET":
        version = current_version(current_runtime(), app_storage(current_hub()), calendar, uid)
        return _render(stored, version=version or "", **common)
    values = {name: request.form.get(name, stored[name]) for name in FIELDS}
    values["calendar"] = calendar_id
    version = request.form.get("version", "")
    try:
        with web_actor():
            edit_event(
                current_runtime(),
                app_storage(current_hub()),
                login=account.login,
                calendar=calendar,
                uid=uid,
                recurrence_id=rid,
                fields=_fields(request.form, series=series),
                etag=version or None,
            )
    except MirroredEvent as error:
        return error_page(403, mirrored_message(error))
    except EditForbidden:
        return error_page(403, _("Only the coordinator and the event's own partner can change it."))
    except EventGone as error:
        return _render(
            values, status=404, problem=error.message, hint=error.hint, version=version, **common
        )
    except EditConflict as error:
        fresh = current_version(current_runtime(), app_storage(current_hub()), calendar, uid)
        return _render(
            values,
            status=409,
            problem=error.message,
            hint=error.hint,
            version=fresh or "",
            **common,
        )
    except UserError as error:
        return _render(
            values, status=400, problem=error.message, hint=error.hint, version=version, **common
        )
    except WriteRefused as error:
        return _render(values, status=error.status, problem=error.text, version=version, **common)
    flash(_("Saved. Calendar apps show the change at their next sync."), "ok")
    return redirect(next_url, code=303)


def mirrored_message(error: MirroredEvent) -> str:
    """Why a mirrored event cannot be changed here, naming its source."""
    return str(
        _(
            "This event is mirrored from an external calendar (source %(source)s): change it "
            "there, and the hub updates its copy at the next sync.",
            source=error.named,
        )
    )
