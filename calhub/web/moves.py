"""Moving an event from the website: the move form, its JSON twin, and where to move to.

``GET /plan/event/move?calendar=…&uid=…[&rid=…][&start=…&end=…]`` shows a move form, filled
in with the time asked for (a free slot from a clash card is one click away) and the three
nearest free slots; ``POST /plan/event/move`` stores the move through the CalDAV write path
(:mod:`calhub.dav.edit`: the same storage hooks and clash check as a phone's PUT, every
property the form does not show kept). ``POST /api/events/move`` is the same for tools, and
``GET /api/conflicts/<id>/slots`` answers the free slots for each side of a clash (the
conflicts page loads them when a card's "where to move" is opened).

The coordinator may move any event, a partner only its own (the policy's
``may_write_events``, as for CalDAV); anyone else is answered 403.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from calhub.dav.edit import (
    EditConflict,
    EditForbidden,
    EventGone,
    MirroredEvent,
    current_version,
    move_occurrence,
)
from calhub.dav.refusal import WriteRefused
from calhub.engine import Occurrence
from calhub.engine.slots import Slot
from calhub.errors import UserError
from calhub.hub.accounts import Account
from calhub.runtime.slots import moving_slots, slot_json
from calhub.store.record_types import ClashRecord
from calhub.web import asks, clashes, events
from calhub.web.acting import web_actor
from calhub.web.auth import (
    api_error,
    current_account,
    error_page,
    login_required,
    page_login_required,
)
from calhub.web.context import current_hub, current_runtime
from calhub.web.editor import mirrored_message
from calhub.web.i18n import safe_next
from calhub.web.storage import app_storage

logger = logging.getLogger(__name__)

bp = Blueprint("moves", __name__)


@dataclass(frozen=True, slots=True)
class MoveOption:
    """One side of a clash: the occurrence, whether the viewer may move it, where to."""

    occurrence: Occurrence
    may_move: bool
    slots: list[Slot]
    may_ask: bool = False  # whether the viewer may ask the event's partner to move it


def may_move(account: Account, calendar_id: str) -> bool:
    calendar = events.visible_calendars(current_hub()).get(calendar_id)
    if calendar is None:
        return False
    return current_runtime().policy.may_write_events(account.login, calendar.path)


def move_url(
    occurrence: Occurrence, slot: Slot | None = None, next_url: str = "", request_id: int = 0
) -> str:
    """The move form of ``occurrence``, filled in with ``slot`` when given; with
    ``request_id`` the move answers that request to move the event."""
    zone = events.zone(current_hub())
    args: dict[str, str] = {"calendar": occurrence.calendar, "uid": occurrence.uid}
    if occurrence.recurrence_id:
        args["rid"] = occurrence.recurrence_id
    if slot is not None:
        args["start"] = _wall(slot.start.astimezone(zone))
        args["end"] = _wall(slot.end.astimezone(zone))
    if next_url:
        args["next"] = next_url
    if request_id:
        args["request"] = str(request_id)
    return url_for("moves.form") + "?" + urlencode(args)


def move_options(account: Account, record: ClashRecord) -> list[MoveOption]:
    """For each side of a clash the viewer can see: the nearest free slots to move it to."""
    hub = current_hub()
    runtime = current_runtime()
    options = []
    seen = set()
    for stored in record.occurrences:
        key = (stored["calendar"], stored["uid"], stored["recurrence_id"] or "")
        if key in seen or stored["calendar"] not in events.visible_calendars(hub):
            continue
        seen.add(key)
        occurrence = events.find_occurrence(hub, *key)
        if occurrence is None or occurrence.is_blackout:
            continue
        calendar = events.visible_calendars(hub)[occurrence.calendar]
        options.append(
            MoveOption(
                occurrence=occurrence,
                may_move=may_move(account, occurrence.calendar),
                slots=moving_slots(runtime, occurrence),
                may_ask=runtime.policy.may_ask_to_move(account, calendar),
            )
        )
    return options


def _wall(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def _occurrence_or_404(calendar: str, uid: str, rid: str) -> Occurrence:
    hub = current_hub()
    if calendar not in events.visible_calendars(hub) or not uid:
        abort(404)
    occurrence = events.find_occurrence(hub, calendar, uid, rid)
    if occurrence is None:
        abort(404)
    return occurrence


def _local(text: str, name: str) -> dt.datetime:
    """A date-time as typed or sent (``2027-02-03T17:05``); without an offset it is hub time."""
    zone = events.zone(current_hub())
    try:
        moment = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise UserError(
            f"{name}: {text!r} — не дата и время. / {name}: {text!r} is not a date and time.",
            hint="Write it as YYYY-MM-DDTHH:MM, for example 2027-02-03T17:05.",
        ) from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _form_times(form: Any) -> tuple[dt.datetime, dt.datetime]:
    """The form's day, start and end (a move within one day, as the school plans)."""
    day, start, end = form.get("date", ""), form.get("start", ""), form.get("end", "")
    first = _local(f"{day}T{start}", _("Start"))
    last = _local(f"{day}T{end}", _("End"))
    if last <= first:
        raise UserError(
            "Окончание должно быть позже начала. / The end must be after the start.",
            hint="Choose an end time after the start time.",
        )
    return first, last


def _move(occurrence: Occurrence, start: dt.datetime, end: dt.datetime, version: str | None) -> str:
    """Store the move as the signed-in account; returns the new version (ETag)."""
    account = current_account()
    assert account is not None
    hub = current_hub()
    calendar = events.visible_calendars(hub)[occurrence.calendar]
    with web_actor():
        moved = move_occurrence(
            current_runtime(),
            app_storage(hub),
            login=account.login,
            calendar=calendar,
            uid=occurrence.uid,
            recurrence_id=occurrence.recurrence_id,
            start=start,
            end=end,
            etag=version or None,
        )
    return moved.etag


# -- the page ----------------------------------------------------------------------------


def _asked_times(occurrence: Occurrence) -> tuple[dict[str, str], str]:
    """The form's first values: the time in the address (a slot), else the event's own."""
    zone = events.zone(current_hub())
    start = occurrence.start.astimezone(zone)
    end = occurrence.end.astimezone(zone)
    problem = ""
    args = request.args
    if args.get("start"):
        try:
            wished = _local(args["start"], "start").astimezone(zone)
            wished_end = (
                _local(args["end"], "end").astimezone(zone)
                if args.get("end")
                else wished + (end - start)
            )
            if wished_end <= wished:
                raise UserError("end before start")
            start, end = wished, wished_end
        except UserError:
            problem = _("The time in the address is not understood; the event's own is shown.")
    values = {
        "date": start.date().isoformat(),
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
    }
    return values, problem


def _render_form(
    occurrence: Occurrence, status: int = 200, problem: str = "", hint: str = ""
) -> ResponseReturnValue:
    hub = current_hub()
    zone = events.zone(hub)
    calendar = events.visible_calendars(hub)[occurrence.calendar]
    source: Any = request.form if request.method == "POST" else request.args
    if request.method == "POST":
        values = {k: source.get(k, "") for k in ("date", "start", "end")}
        # After "it changed meanwhile" (409) the form shows, and carries, the event as it
        # is now; after a mistake it keeps the version the person started from.
        version = "" if status == 409 else source.get("version", "")
    else:
        values, problem = _asked_times(occurrence)
        version = ""
    version = version or (
        current_version(current_runtime(), app_storage(hub), calendar, occurrence.uid) or ""
    )
    next_url = safe_next(source.get("next")) or url_for(
        "plan.event",
        calendar=occurrence.calendar,
        uid=occurrence.uid,
        rid=occurrence.recurrence_id or None,
    )
    slots = moving_slots(current_runtime(), occurrence)
    asked = source.get("request", "")
    request_id = int(asked) if asked.isdigit() else 0
    page = render_template(
        "move.html",
        event=events.PlanEvent(occurrence, calendar, "", zone),
        values=values,
        version=version,
        next_url=next_url,
        slots=[(slot, move_url(occurrence, slot, next_url, request_id)) for slot in slots],
        problem=problem,
        hint=hint,
        request_id=request_id,
    )
    return page, status


def _forbidden_page() -> ResponseReturnValue:
    from calhub.web.auth import error_page

    return error_page(403, _("Only the coordinator and the event's own partner can move it."))


@bp.get("/plan/event/move")
@page_login_required
def form() -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    args = request.args
    occurrence = _occurrence_or_404(
        args.get("calendar", ""), args.get("uid", ""), args.get("rid", "")
    )
    if not may_move(account, occurrence.calendar):
        return _forbidden_page()
    return _render_form(occurrence)


@bp.post("/plan/event/move")
@page_login_required
def move() -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    data = request.form
    occurrence = _occurrence_or_404(
        data.get("calendar", ""), data.get("uid", ""), data.get("rid", "")
    )
    if not may_move(account, occurrence.calendar):
        return _forbidden_page()
    try:
        start, end = _form_times(data)
        _move(occurrence, start, end, data.get("version"))
        asks.answered_by_move(account, data.get("request"))
    except MirroredEvent as error:
        return error_page(403, mirrored_message(error))
    except EditForbidden:
        return _forbidden_page()
    except EventGone as error:
        return _render_form(occurrence, 404, error.message, error.hint)
    except EditConflict as error:
        return _render_form(occurrence, 409, error.message, error.hint)
    except UserError as error:
        return _render_form(occurrence, 400, error.message, error.hint)
    except WriteRefused as error:
        # A new hard clash in a calendar that refuses them, or a limit: nothing was stored.
        return _render_form(occurrence, error.status, error.text)
    zone = events.zone(current_hub())
    flash(
        _(
            "Moved to %(when)s. Calendar apps show the new time at their next sync.",
            when=f"{start.astimezone(zone):%d.%m.%Y %H:%M}–{end.astimezone(zone):%H:%M}",
        ),
        "ok",
    )
    target = safe_next(data.get("next")) or url_for(
        "plan.event", calendar=occurrence.calendar, uid=occurrence.uid
    )
    return redirect(target, code=303)


# -- JSON --------------------------------------------------------------------------------


@bp.post("/api/events/move")
@login_required
def api_move() -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return api_error(
            400,
            "The body must be a JSON object.",
            'For example {"calendar": "bfu", "uid": "…", "start": "2027-02-03T17:05", '
            '"end": "2027-02-03T18:35"}.',
        )
    calendar = str(body.get("calendar") or "")
    uid = str(body.get("uid") or "")
    rid = str(body.get("recurrence_id") or "")
    occurrence = events.find_occurrence(current_hub(), calendar, uid, rid) if uid else None
    if calendar not in events.visible_calendars(current_hub()) or occurrence is None:
        return api_error(404, "There is no such event. / Такого события нет.")
    if not may_move(account, calendar):
        return api_error(403, "Only the coordinator and the event's own partner can move it.")
    try:
        start = _local(str(body.get("start") or ""), "start")
        end = _local(str(body.get("end") or ""), "end")
        etag = _move(occurrence, start, end, str(body.get("etag") or "") or None)
    except MirroredEvent as error:
        return api_error(403, mirrored_message(error))
    except EditForbidden:
        return api_error(403, "Only the coordinator and the event's own partner can move it.")
    except EventGone as error:
        return api_error(404, error.message, error.hint)
    except EditConflict as error:
        return api_error(409, error.message, error.hint)
    except UserError as error:
        return api_error(400, error.message, error.hint)
    except WriteRefused as error:
        return api_error(error.status, error.text)
    zone = events.zone(current_hub())
    return {
        "calendar": calendar,
        "uid": uid,
        "recurrence_id": rid,
        "etag": etag,
        "start": start.astimezone(zone).isoformat(),
        "end": end.astimezone(zone).isoformat(),
    }


@bp.get("/api/conflicts/<clash_id>/slots")
@login_required
def clash_slots(clash_id: str) -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    record = current_runtime().records.get(clash_id, instances=False)
    if record is None or not clashes.can_see(account, record):
        return api_error(404, "There is no such clash. / Такого пересечения нет.")
    zone = events.zone(current_hub())
    next_url = safe_next(request.args.get("next")) or ""
    sides = []
    for option in move_options(account, record):
        o = option.occurrence
        sides.append(
            {
                "calendar": o.calendar,
                "uid": o.uid,
                "recurrence_id": o.recurrence_id,
                "summary": o.summary,
                "may_move": option.may_move,
                "slots": [
                    slot_json(slot, zone)
                    | ({"move_url": move_url(o, slot, next_url)} if option.may_move else {})
                    for slot in option.slots
                ],
            }
        )
    return {"id": record.id, "sides": sides}
