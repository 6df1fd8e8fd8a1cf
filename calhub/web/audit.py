"""The audit log on the dashboard: the "Журнал изменений / Audit log" page (filters by date
range, calendar, actor and event UID; a CSV download of what it shows), and the history of
one event (on its page) and of one clash (on the clash's page).

Who reads what is the policy's word (``Policy.audit_scope``): the coordinator every entry,
a partner the writes to its own calendar's events only (never the decisions, feeds or
accounts, which have no calendar).
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from calhub.audit.export import csv_chunks
from calhub.audit.query import build_filters
from calhub.errors import UserError
from calhub.web import events
from calhub.web.auth import current_account, page_login_required
from calhub.web.context import current_hub, current_runtime

if TYPE_CHECKING:
    from calhub.hub.accounts import Account
    from calhub.store.audit import AuditEntry, AuditFilters
    from calhub.store.record_types import ClashRecord

bp = Blueprint("audit", __name__)

PER_PAGE = 100
HISTORY_LIMIT = 50
FILTER_KEYS = ("from", "to", "calendar", "actor", "uid")


def action_label(action: str) -> str:
    """An entry's action in the page's language."""
    names: dict[str, str] = {
        "created": _("created"),
        "changed": _("changed"),
        "moved": _("moved"),
        "deleted": _("deleted"),
        "approved": _("clash approved"),
        "reopened": _("approval revoked (clash reopened)"),
        "move-requested": _("asked to move"),
        "move-answered": _("answered a request to move"),
        "feed-created": _("feed issued"),
        "feed-revoked": _("feed revoked"),
        "account-added": _("account added"),
        "account-changed": _("account changed"),
        "account-removed": _("account removed"),
        "source-added": _("source added"),
        "source-removed": _("source removed"),
        "refused-dismissed": _("refused event set aside"),
    }
    return names.get(action, action)


def via_label(via: str) -> str:
    names: dict[str, str] = {
        "caldav": _("calendar app"),
        "web": _("website"),
        "api": _("API"),
        "import": _("import"),
        "cli": _("command line"),
        "source": _("mirrored calendar"),
        "calhub": _("calhub"),
    }
    return names.get(via, via)


def _filters(account: Account, args: Any) -> AuditFilters:
    scope = current_runtime().policy.audit_scope(account)
    calendar = str(args.get("calendar", "")).strip()
    if scope is not None and calendar and calendar not in scope:
        # Another partner's calendar: nothing, said as for an unknown one.
        raise UserError(
            _("You can see the history of your own calendar's events only."),
            hint="",
        )
    return build_filters(
        current_hub(),
        str(args.get("from", ""))[:40],
        str(args.get("to", ""))[:40],
        calendar[:100],
        str(args.get("actor", ""))[:100],
        str(args.get("uid", ""))[:500],
        calendars=scope,
    )


def _query(shown: dict[str, str]) -> str:
    given = {k: v for k, v in shown.items() if v}
    return "?" + urllib.parse.urlencode(given) if given else ""


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 1_000_000))
    except ValueError:
        return 1


@bp.get("/audit")
@page_login_required
def index() -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    runtime = current_runtime()
    scope = runtime.policy.audit_scope(account)
    hub = current_hub()
    calendars = [c for c in hub.settings.calendars if scope is None or c.id in scope]
    shown = {key: str(request.args.get(key, ""))[:100] for key in FILTER_KEYS}
    context: dict[str, Any] = {
        "calendars": calendars,
        "shown": shown,
        "entries": [],
        "total": 0,
        "page_number": 1,
        "pages": 1,
        "csv_url": url_for("audit.download") + _query(shown),
        "actors": sorted(runtime.audit.actors()) if scope is None else [],
    }
    try:
        filters = _filters(account, request.args)
    except UserError as error:
        page = render_template("audit.html", error=error.message, hint=error.hint, **context)
        return page, 400
    total = runtime.audit.count(filters)
    pages = max(1, -(-total // PER_PAGE))
    number = min(_page_number(), pages)
    context.update(
        entries=runtime.audit.page(filters, PER_PAGE, (number - 1) * PER_PAGE),
        total=total,
        page_number=number,
        pages=pages,
    )
    return render_template("audit.html", **context)


@bp.get("/audit.csv")
@page_login_required
def download() -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    try:
        filters = _filters(account, request.args)
    except UserError as error:
        return Response(f"{error.message}\n{error.hint}\n", 400, mimetype="text/plain")
    runtime = current_runtime()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
    body = (chunk.encode("utf-8") for chunk in csv_chunks(runtime.audit.each(filters)))
    return Response(
        stream_with_context(body),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="calhub-audit-{stamp}.csv"'},
    )


def event_history(account: Account, calendar: str, uid: str) -> list[AuditEntry]:
    """The entries of one event, newest first, if ``account`` may read them."""
    runtime = current_runtime()
    if not runtime.policy.can_see_audit_of(account, calendar):
        return []
    filters = build_filters(current_hub(), calendar=calendar, uid=uid)
    return runtime.audit.page(filters, HISTORY_LIMIT)


def clash_history(account: Account, record: ClashRecord) -> list[AuditEntry]:
    """A clash's decisions and its events' writes that ``account`` may read, newest first."""
    runtime = current_runtime()
    scope = runtime.policy.audit_scope(account)
    members = {(o["calendar"], o["uid"]) for o in record.occurrences}
    return runtime.audit.of_clash(record.id, members, scope, HISTORY_LIMIT)


def init_app_globals() -> dict[str, Any]:
    """What the templates need to show entries (registered by calhub.web.templating)."""
    return {
        "audit_action": action_label,
        "audit_via": via_label,
        "calendar_name": _calendar_name,
    }


def _calendar_name(calendar_id: str) -> str:
    calendar = events.visible_calendars(current_hub()).get(calendar_id)
    if calendar is None:
        found = current_hub().settings.calendar(calendar_id)
        return found.name if found is not None else calendar_id
    return calendar.name
