"""``/account/notifications``: how the signed-in account hears about clashes (issue 17).

Its e-mail address, the language of its messages and immediate / daily digest / off, the
same values as ``calhub account edit``; the page also says when the hub sends no e-mail at
all (no ``[notify.smtp] host``). Messages' ``List-Unsubscribe`` header points here.
"""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from calhub.errors import UserError
from calhub.hub.accounts import LANGUAGES, NOTIFY_MODES
from calhub.store.audit import decision
from calhub.web.acting import web_origin
from calhub.web.auth import current_account, page_login_required
from calhub.web.context import current_hub, current_runtime
from calhub.web.notify_status import notify_status

logger = logging.getLogger(__name__)

bp = Blueprint("account", __name__)
MAX_FIELD = 300


def _mode_names() -> dict[str, str]:
    return {
        "immediate": _("At once, one message per clash or write"),
        "digest": _("Once a day, a digest"),
        "off": _("Never"),
    }


def _language_names() -> dict[str, str]:
    return {"ru": "Русский", "en": "English"}


@bp.get("/account/notifications")
@page_login_required
def notifications() -> ResponseReturnValue:
    return _page(200)


def _page(
    status: int, error: str = "", hint: str = "", email: str | None = None
) -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    notify = current_hub().settings.notify
    return (
        render_template(
            "account.html",
            target=account,
            email=account.email if email is None else email,
            email_enabled=notify.email_enabled,
            notify=notify_status(current_runtime(), account),
            modes=_mode_names(),
            languages=_language_names(),
            error=error,
            hint=hint,
        ),
        status,
    )


@bp.post("/account/notifications")
@page_login_required
def save() -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    email = request.form.get("email", "")[:MAX_FIELD]
    language = request.form.get("language", "")
    notify = request.form.get("notify", "")
    if language not in LANGUAGES or notify not in NOTIFY_MODES:
        return _page(400, _("Choose a language and how often from the lists."), email=email)
    try:
        current_hub().accounts.edit(account.login, email=email, language=language, notify=notify)
    except UserError:
        return _page(
            400,
            _("%(value)s is not an e-mail address.", value=email),
            _("Use one address such as zavuch@school.example; leave it empty for no e-mail."),
            email=email,
        )
    runtime = current_runtime()
    runtime.audit.record(
        [
            decision(
                account.login,
                "account-changed",
                web_origin(),
                subject=f"account {account.login}: e-mail {email or '-'}, language {language}, "
                f"notify {notify}",
            )
        ]
    )
    logger.info("Notification settings of %s changed on the dashboard", account.login)
    flash(_("Notification settings saved."), "ok")
    return redirect(url_for("account.notifications"), 303)
