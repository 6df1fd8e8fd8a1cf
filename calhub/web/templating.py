"""What every template may use: the signed-in account, the open-clash count for the
navigation, the CSRF token and CSP nonce, and translated names of rules and statuses.

The templates themselves are read into memory and compiled when the app is made: a running
hub never reads ``templates/`` again, so ``pip install .`` over it (which removes, then
rewrites the package's files) cannot make a page fail or mix two versions.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask_babel import format_date, format_datetime, format_time, pgettext
from flask_babel import gettext as _
from jinja2 import DictLoader

from calhub.store.record_types import ClashRecord, HistoryEntry
from calhub.web import assets, audit, clashes, feedback, i18n
from calhub.web.auth import current_account
from calhub.web.context import current_hub, current_runtime
from calhub.web.security import CSRF_FIELD, csp_nonce, csrf_token

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")


def read_templates(root: Path = TEMPLATES) -> dict[str, str]:
    """Every template under ``root``, by its name as ``render_template`` takes it."""
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*.html"))
    }


def rule_name(rule: str) -> str:
    names: dict[str, str] = {
        "audience": _("Same classes"),
        "blackout": _("Closed period"),
        "venue": _("Same venue"),
        "travel": _("Travel time"),
        "duplicate": _("Duplicate"),
        "overload": _("Overload"),
    }
    return names.get(rule, rule)


def severity_name(severity: str) -> str:
    names: dict[str, str] = {"hard": _("Hard clash"), "soft": _("Warning")}
    return names.get(severity, severity)


def severity_heading(severity: str) -> str:
    names: dict[str, str] = {"hard": _("Hard clashes"), "soft": _("Warnings")}
    return names.get(severity, severity)


def status_name(status: str) -> str:
    """The status of one clash (a badge on its card)."""
    names: dict[str, str] = {
        "open": pgettext("one clash", "Open"),
        "approved": pgettext("one clash", "Approved"),
        "resolved": pgettext("one clash", "Resolved"),
    }
    return names.get(status, status)


def status_tab(status: str) -> str:
    """A tab of the clash list: which clashes it shows."""
    names: dict[str, str] = {
        "open": pgettext("clash list", "Open"),
        "approved": pgettext("clash list", "Approved"),
        "resolved": pgettext("clash list", "Resolved"),
        "all": pgettext("clash list", "All"),
    }
    return names.get(status, status)


def action_name(action: str) -> str:
    names: dict[str, str] = {
        "detected": _("detected"),
        "approved": _("approved"),
        "reopened": _("reopened"),
        "resolved": _("resolved by itself"),
        "reappeared": _("appeared again"),
        "changed": _("reopened: an event changed"),
        "reapproved": _("approved again (a version approved before)"),
        "move-asked": _("asked the partner to move an event"),
        "move-accepted": _("moved as asked"),
        "move-declined": _("declined to move"),
    }
    return names.get(action, action)


def request_status(status: str) -> str:
    names: dict[str, str] = {
        "open": _("waiting for the partner"),
        "accepted": _("moved"),
        "declined": _("declined"),
        "replaced": _("replaced by a newer request"),
    }
    return names.get(status, status)


def mark_name(mark: str) -> str:
    names: dict[str, str] = {
        "hard": _("hard clash"),
        "soft": _("warning"),
        "approved": _("approved clash"),
    }
    return names.get(mark, "")


def who(login: str) -> str:
    """An actor of the history as people know it: the account's name, or calhub itself."""
    if login == "calhub":
        return str(_("calhub (automatically)"))
    account = current_hub().accounts.get(login)
    return f"{account.name} ({login})" if account is not None and account.name != login else login


def clash_message(item: ClashRecord | HistoryEntry) -> str:
    """What calhub says about a clash or a history entry, in the page's language."""
    return item.message.text(i18n.language())


def moment(value: str) -> dt.datetime:
    """A stored ISO time (``...Z``) as an aware datetime, for format_datetime."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def occurrence_when(occurrence: Mapping[str, Any]) -> str:
    """A record's occurrence as "Tue, 24 Nov 2026, 15:30–17:00" in the hub's zone."""
    start, end = moment(occurrence["start"]), moment(occurrence["end"])
    if occurrence.get("all_day"):
        last = end - dt.timedelta(days=1)
        first_text = format_date(start, "medium")
        if last.date() <= start.date():
            return f"{first_text} · {_('all day')}"
        return f"{first_text} – {format_date(last, 'medium')}"
    return f"{format_datetime(start, 'EEE d MMM y, HH:mm')}–{format_time(end, 'HH:mm')}"


def capfirst(text: str) -> str:
    """The first letter in upper case, the rest untouched (Jinja's capitalize lowers it)."""
    return text[:1].upper() + text[1:]


def _context() -> dict[str, Any]:
    account = current_account()
    open_clashes = pending_feedback = 0
    if account is not None:
        open_clashes = clashes.open_count(current_runtime(), account)
        pending_feedback = feedback.pending_count(account)
    return {
        "account": account,
        "open_clashes": open_clashes,
        "pending_feedback": pending_feedback,
        "school": current_hub().settings.school,
        "hub_timezone": current_hub().settings.timezone,
        "current_path": request.full_path if request.query_string else request.path,
    }


def load_templates(app: Flask) -> None:
    """Serve templates from memory and compile them all now (a broken one stops start-up)."""
    templates = read_templates()
    app.jinja_loader = DictLoader(templates)
    for name in templates:
        app.jinja_env.get_template(name)
    logger.debug("Loaded %d templates from %s", len(templates), TEMPLATES)


def init_app(app: Flask) -> None:
    app.context_processor(_context)
    app.jinja_env.filters["capfirst"] = capfirst
    app.jinja_env.globals.update(
        csrf_token=csrf_token,
        csrf_field=CSRF_FIELD,
        csp_nonce=csp_nonce,
        rule_name=rule_name,
        severity_name=severity_name,
        severity_heading=severity_heading,
        status_name=status_name,
        status_tab=status_tab,
        action_name=action_name,
        request_status=request_status,
        mark_name=mark_name,
        clash_message=clash_message,
        who=who,
        moment=moment,
        occurrence_when=occurrence_when,
        format_date=format_date,
        format_time=format_time,
        format_datetime=format_datetime,
        fullcalendar_available=assets.fullcalendar_available,
        **audit.init_app_globals(),
        **i18n.template_globals(),
    )
    load_templates(app)
