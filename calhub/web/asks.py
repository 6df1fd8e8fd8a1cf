"""Asking a partner to move its event, and the partner's answer (issue 15's "ask to move").

The coordinator asks from a clash's page (``POST /conflicts/<id>/ask``): which side, a
comment and the free slots suggested. The partner sees the request on its page and
accepts a slot in one click (``POST /move-requests/<id>/accept``: the event is moved through
the CalDAV write path, :mod:`calhub.dav.edit`, exactly like the move form), picks another
time with the move form, or declines with a reason. Every step lands in the clash's
history (:mod:`calhub.store.move_requests`). Plain form posts with the CSRF token,
post/redirect/get; nothing here needs JavaScript.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from calhub.dav.edit import EditConflict, EditForbidden, EventGone, move_occurrence
from calhub.dav.refusal import WriteRefused
from calhub.errors import NoSuchClash, UserError
from calhub.hub.accounts import Account
from calhub.store.move_requests import MoveRequest, RequestClosed
from calhub.web import events
from calhub.web.acting import web_actor, web_origin
from calhub.web.auth import current_account, page_coordinator_required, page_login_required
from calhub.web.context import current_hub, current_runtime
from calhub.web.i18n import safe_next
from calhub.web.storage import app_storage

logger = logging.getLogger(__name__)

bp = Blueprint("asks", __name__)

MAX_COMMENT = 2000


def _utc(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.utcoffset() is None:
        raise ValueError("no offset")
    return moment.astimezone(dt.UTC)


def _back(default: str) -> ResponseReturnValue:
    return redirect(safe_next(request.form.get("next")) or default, code=303)


@bp.post("/conflicts/<clash_id>/ask")
@page_coordinator_required
def ask(clash_id: str) -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    runtime = current_runtime()
    here = url_for("conflicts.detail", clash_id=clash_id)
    record = runtime.records.get(clash_id, instances=False)
    if record is None:
        abort(404)
    calendar_id, _sep, rest = request.form.get("side", "").partition("|")
    uid, _sep, rid = rest.partition("|")
    sides = {(o["calendar"], o["uid"], o.get("recurrence_id") or "") for o in record.occurrences}
    calendar = events.visible_calendars(current_hub()).get(calendar_id)
    if (calendar_id, uid, rid) not in sides or calendar is None:
        flash(_("That event is not part of this clash."), "error")
        return _back(here)
    if not runtime.policy.may_ask_to_move(account, calendar):
        flash(
            _("Only a partner's event can be asked to move; move the school's own yourself."),
            "error",
        )
        return _back(here)
    slots = []
    try:
        for value in request.form.getlist("slot")[:10]:
            start, _sep, end = value.partition("|")
            slots.append((_utc(start), _utc(end)))
    except ValueError:
        flash(_("The suggested times are not understood; open the clash again."), "error")
        return _back(here)
    comment = request.form.get("comment", "").strip()[:MAX_COMMENT]
    if not comment and not slots:
        flash(_("Say what you ask for: a comment or at least one suggested time."), "error")
        return _back(here)
    occurrence = events.find_occurrence(current_hub(), calendar_id, uid, rid)
    try:
        runtime.move_requests.ask(
            clash_id,
            calendar=calendar_id,
            uid=uid,
            recurrence_id=rid,
            summary=occurrence.summary if occurrence else "",
            by=account.login,
            comment=comment,
            slots=slots,
            origin=web_origin(),
        )
    except NoSuchClash:
        abort(404)
    flash(_("The request was sent to %(partner)s.", partner=calendar.name), "ok")
    return _back(here)


def _request_or_404(request_id: int) -> MoveRequest:
    found = current_runtime().move_requests.get(request_id)
    if found is None:
        abort(404)
    return found


def _may_answer(account: Account, found: MoveRequest) -> bool:
    calendar = events.visible_calendars(current_hub()).get(found.calendar)
    return calendar is not None and current_runtime().policy.may_answer_move_request(
        account, calendar
    )


def partner_page(account: Account) -> str:
    return url_for("partners.page", login=account.login)


def _answering(request_id: int) -> tuple[Account, MoveRequest, str]:
    """Who answers which request, and the page to go back to; 404 or 403 otherwise."""
    account = current_account()
    assert account is not None
    found = _request_or_404(request_id)
    if not _may_answer(account, found):
        abort(403)
    return account, found, partner_page(account)


@bp.post("/move-requests/<int:request_id>/accept")
@page_login_required
def accept(request_id: int) -> ResponseReturnValue:
    account, found, back = _answering(request_id)
    if not found.is_open:
        flash(_("This request has been answered already."), "error")
        return _back(back)
    times = found.slot_times()
    try:
        start, end = times[int(request.form.get("slot", ""))]
    except (ValueError, IndexError):
        flash(_("Choose one of the suggested times."), "error")
        return _back(back)
    hub = current_hub()
    calendar = events.visible_calendars(hub)[found.calendar]
    try:
        with web_actor():
            move_occurrence(
                current_runtime(),
                app_storage(hub),
                login=account.login,
                calendar=calendar,
                uid=found.uid,
                recurrence_id=found.recurrence_id,
                start=start,
                end=end,
            )
        current_runtime().move_requests.answer(
            request_id, by=account.login, accepted=True, chosen=(start, end), origin=web_origin()
        )
    except EditForbidden:
        abort(403)
    except (EventGone, EditConflict, RequestClosed) as error:
        flash(f"{error.message} {error.hint}".strip(), "error")
        return _back(back)
    except WriteRefused as error:
        # The time was free when suggested; something was written there since.
        flash(
            _("The event was not moved: %(reason)s Choose another time.", reason=error.text),
            "error",
        )
        return _back(back)
    zone = events.zone(hub)
    flash(
        _(
            "Moved to %(when)s, as the coordinator asked.",
            when=f"{start.astimezone(zone):%d.%m.%Y %H:%M}–{end.astimezone(zone):%H:%M}",
        ),
        "ok",
    )
    return _back(back)


@bp.post("/move-requests/<int:request_id>/decline")
@page_login_required
def decline(request_id: int) -> ResponseReturnValue:
    account, _found, back = _answering(request_id)
    reason = request.form.get("comment", "").strip()[:MAX_COMMENT]
    if not reason:
        flash(_("Say why the event cannot move: the coordinator reads it."), "error")
        return _back(back)
    try:
        current_runtime().move_requests.answer(
            request_id, by=account.login, accepted=False, comment=reason, origin=web_origin()
        )
    except RequestClosed as error:
        flash(error.message, "error")
        return _back(back)
    flash(_("The coordinator will see your answer."), "ok")
    return _back(back)


def answered_by_move(account: Account, request_id: str | None) -> None:
    """After the move form stored a move made for a request, close the request (accepted,
    at a time of the partner's own choosing)."""
    if not request_id or not request_id.isdigit():
        return
    found = current_runtime().move_requests.get(int(request_id))
    if found is None or not found.is_open or not _may_answer(account, found):
        return
    try:
        current_runtime().move_requests.answer(
            found.id, by=account.login, accepted=True, origin=web_origin()
        )
    except (RequestClosed, UserError) as error:
        logger.info("Move request %s not closed after a move: %s", request_id, error)


def visible_requests(account: Account, calendar_ids: set[str]) -> list[MoveRequest]:
    """Open requests for events of ``calendar_ids`` that ``account`` may see."""
    if not calendar_ids:
        return []
    found = current_runtime().move_requests.open_for(sorted(calendar_ids))
    return [r for r in found if _may_answer(account, r)]
