"""The clash pages: open clashes grouped by severity and day, approving and reopening them
(coordinator only), and the history of who did what.

Approving and reopening are plain form posts (with the session's CSRF token), so they
work without JavaScript; each redirects back (post/redirect/get) with a short message.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from calhub.errors import UserError
from calhub.runtime.queries import build_filters
from calhub.store.records import STATUSES, ClashChanged, ClashRecord, Filters
from calhub.web import audit, clashes, events, moves
from calhub.web.acting import web_origin
from calhub.web.auth import current_account, page_coordinator_required, page_login_required
from calhub.web.context import current_hub, current_runtime
from calhub.web.i18n import safe_next
from calhub.web.notify_status import notify_status

logger = logging.getLogger(__name__)

bp = Blueprint("conflicts", __name__)

MAX_COMMENT = 2000
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
# The detail page lists this many of a record's dates at a time.
INSTANCES_PER_PAGE = 100


def _number(name: str, default: int, allowed: range | tuple[int, ...]) -> int:
    """A whole-number query argument; anything else is the default (a page, not a 400)."""
    try:
        value = int(request.args.get(name, default))
    except ValueError:
        return default
    return value if value in allowed else default


def _visible_record_or_404(clash_id: str) -> ClashRecord:
    account = current_account()
    assert account is not None
    record = current_runtime().records.get(clash_id, instances=False)
    if record is None or not clashes.can_see(account, record):
        # The same answer for "not there" and "not yours": ids of others' clashes stay hidden.
        abort(404)
    return record


@bp.get("/conflicts")
@page_login_required
def index() -> ResponseReturnValue:
    hub = current_hub()
    account = current_account()
    assert account is not None
    status = request.args.get("status", "open")
    if status not in (*STATUSES, "all"):
        status = "open"
    severity = request.args.get("severity", "")
    calendar = request.args.get("calendar", "")
    start, end = request.args.get("from", ""), request.args.get("to", "")
    problem = ""
    try:
        filters = build_filters(
            hub,
            status=None if status == "all" else status,
            calendar=calendar or None,
            start=start or None,
            end=end or None,
            severity=severity or None,
        )
    except UserError:
        problem = _(
            "Those filters are not understood (dates are YYYY-MM-DD); showing all open clashes."
        )
        status, severity, calendar, start, end = "open", "", "", "", ""
        filters = build_filters(hub, status="open")
    size = _number("per_page", DEFAULT_PAGE_SIZE, PAGE_SIZES)
    number = _number("page", 1, range(1, 1_000_000))
    page = clashes.visible_page(current_runtime(), account, filters, size, (number - 1) * size)
    pages = max(1, -(-page.total // size))
    if number > pages:
        number = pages
        page = clashes.visible_page(current_runtime(), account, filters, size, (number - 1) * size)
    chosen = {
        "status": status,
        "severity": severity or None,
        "calendar": calendar or None,
        "from": start or None,
        "to": end or None,
        "per_page": size if size != DEFAULT_PAGE_SIZE else None,
    }
    return render_template(
        "conflicts.html",
        groups=clashes.group_records(page.records, hub.settings.timezone),
        total=page.total,
        shown=len(page.records),
        first=page.offset + 1,
        page_number=number,
        pages=pages,
        chosen=chosen,
        page_sizes=PAGE_SIZES,
        per_page=size,
        status=status,
        severity=severity,
        calendar=calendar,
        start=start,
        end=end,
        problem=problem,
        calendars=events.visible_calendars(hub),
        statuses=("open", "approved", "resolved", "all"),
        notify=notify_status(current_runtime(), account),
    )


@bp.get("/conflicts/<clash_id>")
@page_login_required
def detail(clash_id: str) -> ResponseReturnValue:
    hub = current_hub()
    account = current_account()
    assert account is not None
    record = _visible_record_or_404(clash_id)
    here = url_for("conflicts.detail", clash_id=clash_id)
    pages = max(1, -(-record.count // INSTANCES_PER_PAGE))
    number = min(_number("page", 1, range(1, 1_000_000)), pages)
    instances = current_runtime().records.instances(
        clash_id, INSTANCES_PER_PAGE, (number - 1) * INSTANCES_PER_PAGE
    )
    return render_template(
        "conflict.html",
        record=record,
        instances=instances,
        first_instance=(number - 1) * INSTANCES_PER_PAGE + 1,
        page_number=number,
        pages=pages,
        history=current_runtime().records.history(clash_id),
        audit_entries=audit.clash_history(account, record),
        calendars=events.visible_calendars(hub),
        # Where each side could move (issue 14): only an open clash needs a way out.
        move_options=moves.move_options(account, record) if record.status == "open" else [],
        move_url=moves.move_url,
        here=here,
        move_requests=current_runtime().move_requests.of_clash(clash_id),
    )


@bp.get("/conflicts/history")
@page_login_required
def history() -> ResponseReturnValue:
    hub = current_hub()
    account = current_account()
    assert account is not None
    runtime = current_runtime()
    # A partner sees the history of its own clashes only, never others' decisions.
    scope = runtime.policy.clash_scope(account)
    entries = runtime.records.history(limit=300, calendar=scope)
    ids = sorted({e.clash_id for e in entries})
    # Only the records these entries are about, read by id.
    shown = runtime.records.page(Filters(), ids=ids, calendar=scope, order="start")
    records = {r.id: r for r in shown.records}
    return render_template(
        "history.html",
        entries=entries,
        records=records,
        calendars=events.visible_calendars(hub),
    )


def _back(clash_id: str) -> ResponseReturnValue:
    target = safe_next(request.form.get("next")) or url_for("conflicts.detail", clash_id=clash_id)
    return redirect(target, code=303)


def _comment() -> str:
    return request.form.get("comment", "").strip()[:MAX_COMMENT]


@bp.post("/conflicts/<clash_id>/approve")
@page_coordinator_required
def approve(clash_id: str) -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    _visible_record_or_404(clash_id)
    comment = _comment()
    if not comment:
        flash(_("Say why the clash is acceptable: an approval needs a comment."), "error")
        return _back(clash_id)
    # The version the page showed: an event may have moved since (see calhub.store.records).
    version = request.form.get("version") or None
    try:
        current_runtime().records.approve(
            clash_id, account.login, comment, version, origin=web_origin()
        )
    except ClashChanged:
        logger.info("Clash %s changed before %s approved it", clash_id, account.login)
        flash(
            _(
                "The clash changed while it was shown (an event was moved or edited), so it "
                "was not approved. Look at it again and approve the new version."
            ),
            "error",
        )
        return _back(clash_id)
    logger.info("Clash %s approved by %s", clash_id, account.login)
    flash(_("Clash approved."), "ok")
    return _back(clash_id)


@bp.post("/conflicts/<clash_id>/reopen")
@page_coordinator_required
def reopen(clash_id: str) -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    _visible_record_or_404(clash_id)
    current_runtime().records.reopen(clash_id, account.login, _comment(), origin=web_origin())
    logger.info("Clash %s reopened by %s", clash_id, account.login)
    flash(_("Clash reopened."), "ok")
    return _back(clash_id)
