"""The page of refused events: writes a hub calendar refused (``calhub.store.refused``), so the
partner and the coordinator see what did not get in, when and why, and can fetch the event
as it was sent to fix it and import it again.

A partner sees the rows of its own login only; the coordinator sees every row and may
filter by partner. The coordinator and the row's partner may dismiss an open row (a form
post with the session's CSRF token, as every form). The navigation shows how many rows
are open.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import pgettext

from calhub.store.records import Filters
from calhub.store.refused import STATES, RefusedWrite, RefusedWrites
from calhub.web import clashes, events
from calhub.web.acting import web_origin
from calhub.web.auth import current_account, page_login_required
from calhub.web.context import current_hub, current_runtime
from calhub.web.i18n import safe_next

if TYPE_CHECKING:
    from calhub.hub.accounts import Account

logger = logging.getLogger(__name__)

bp = Blueprint("refused", __name__)


def store() -> RefusedWrites:
    return current_runtime().refused


def visible_login(account: Account, wanted: str | None = None) -> str | None:
    """Whose rows ``account`` sees: its own, or (a coordinator) ``wanted`` or everyone's."""
    return current_runtime().policy.refused_scope(account, wanted)


def can_see(account: Account, row: RefusedWrite) -> bool:
    return current_runtime().policy.can_see_refused(account, row.login)


def visible_row_or_404(row_id: int) -> RefusedWrite:
    account = current_account()
    assert account is not None
    row = store().get(row_id)
    if row is None or not can_see(account, row):
        # The same answer for "not there" and "not yours", as for clashes.
        abort(404)
    return row


def download_name(row: RefusedWrite) -> str:
    """A safe file name for the event as sent: its href, or its row id."""
    name = "".join(ch for ch in row.href if ch.isascii() and (ch.isalnum() or ch in "-_."))
    name = name.strip(".") or f"refused-{row.id}.ics"
    return name if name.lower().endswith(".ics") else f"{name}.ics"


@bp.app_template_global()
def refused_state_name(state: str) -> str:
    """The state of one refused event (a badge on its card)."""
    names: dict[str, str] = {
        "open": pgettext("one refused event", "Not saved"),
        "resolved": pgettext("one refused event", "Got in"),
        "dismissed": pgettext("one refused event", "Set aside"),
    }
    return names.get(state, state)


@bp.app_template_global()
def refused_state_tab(state: str) -> str:
    """A tab of the page: which refused events it shows."""
    names: dict[str, str] = {
        "open": pgettext("refused list", "Not saved"),
        "closed": pgettext("refused list", "Got in or set aside"),
        "all": pgettext("refused list", "All"),
    }
    return names.get(state, state)


@bp.app_context_processor
def _nav_count() -> dict[str, Any]:
    account = current_account()
    if account is None:
        return {"open_refused": 0}
    try:
        count = store().open_count(visible_login(account))
    except Exception:
        # The badge is a hint; a page must not fail for it.
        logger.exception("Cannot count refused writes for the navigation")
        count = 0
    return {"open_refused": count}


@bp.get("/refused")
@page_login_required
def index() -> ResponseReturnValue:
    hub = current_hub()
    account = current_account()
    assert account is not None
    state = request.args.get("state", "open")
    if state not in STATES:
        state = "open"
    login = (
        request.args.get("login", "") if current_runtime().policy.may_coordinate(account) else ""
    )
    rows = store().query(visible_login(account, login), state)
    wanted = {clash["id"] for row in rows for clash in row.clashes}
    # A refused clash is on record only if it was before (an approved clash changed).
    clash_pages = {
        r.id
        for r in (current_runtime().records.query(Filters(), ids=sorted(wanted)) if wanted else [])
        if clashes.can_see(account, r)
    }
    partners = sorted({*store().logins(), *(c.id for c in hub.settings.partners)})
    return render_template(
        "refused.html",
        rows=rows,
        state=state,
        login=login,
        partners=partners,
        accounts={a.login: a for a in hub.accounts},
        clash_pages=clash_pages,
        calendars=events.visible_calendars(hub),
        states=STATES,
    )


@bp.get("/refused/<int:row_id>.ics")
@page_login_required
def download(row_id: int) -> ResponseReturnValue:
    row = visible_row_or_404(row_id)
    if not row.body_kept:
        abort(404)
    response = Response(row.body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{download_name(row)}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/refused/<int:row_id>/dismiss")
@page_login_required
def dismiss(row_id: int) -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    visible_row_or_404(row_id)
    if store().dismiss(row_id, account.login, origin=web_origin()):
        logger.info("Refused write %d dismissed by %s", row_id, account.login)
        flash(_("Set aside. The event stays in the history of refused events."), "ok")
    else:
        flash(_("This event was set aside or got in already."), "error")
    target = safe_next(request.form.get("next")) or url_for("refused.index")
    return redirect(target, code=303)
