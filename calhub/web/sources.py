"""The coordinator's sources page: external calendars mirrored into partner calendars.

Each source shows its last success, its last error in plain words, what its last sync did
(added, changed, removed, refused) and its next run; the coordinator adds one, removes one
(with the events mirrored from it) or asks for a sync now, which the scheduler of
``calhub serve`` runs within seconds (a fetch may take up to ``[sources] timeout_seconds``,
too long for a request to wait). The page takes a password only as the name of an
environment variable: a command (``--password-cmd``) is for the command line, where the
coordinator already runs commands on the server.
"""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from calhub.errors import UserError
from calhub.sources.manage import NewSource, add_source, parse_every, remove_source
from calhub.store.sources import KINDS
from calhub.web.acting import web_origin
from calhub.web.auth import current_account, page_coordinator_required
from calhub.web.context import current_runtime

logger = logging.getLogger(__name__)

bp = Blueprint("sources", __name__)

MAX_FIELD = 2000


def _page(
    form: dict[str, str], error: str = "", hint: str = "", status: int = 200
) -> ResponseReturnValue:
    runtime = current_runtime()
    partners = [c for c in runtime.settings.partners if not c.archived]
    return (
        render_template(
            "sources.html",
            sources=runtime.sources.query(),
            partners=partners,
            kinds=KINDS,
            form=form,
            error=error,
            hint=hint,
        ),
        status,
    )


@bp.get("/sources")
@page_coordinator_required
def index() -> ResponseReturnValue:
    return _page({"every": "15m", "kind": "ics"})


@bp.post("/sources")
@page_coordinator_required
def create() -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    names = ("partner", "url", "kind", "username", "password_env", "every")
    form = {name: request.form.get(name, "").strip()[:MAX_FIELD] for name in names}
    try:
        source = add_source(
            current_runtime(),
            NewSource(
                partner=form["partner"],
                url=form["url"],
                kind=form["kind"] or "ics",
                username=form["username"],
                password_env=form["password_env"],
                every_seconds=parse_every(form["every"] or "15m"),
            ),
            account.login,
            origin=web_origin(),
        )
    except UserError as exc:
        return _page(form, exc.message, exc.hint, status=400)
    logger.info("Source %d added on the website by %s", source.id, account.login)
    flash(_("Source %(id)s added; it is synced within a minute.", id=source.id), "ok")
    return redirect(url_for("sources.index") + f"#source-{source.id}", code=303)


@bp.post("/sources/<int:source_id>/sync")
@page_coordinator_required
def sync_now(source_id: int) -> ResponseReturnValue:
    if current_runtime().sources.mark_due(source_id):
        flash(_("Source %(id)s is synced within a minute.", id=source_id), "ok")
    else:
        flash(_("There is no source with this number."), "error")
    return redirect(url_for("sources.index"), code=303)


@bp.post("/sources/<int:source_id>/remove")
@page_coordinator_required
def remove(source_id: int) -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    try:
        source, removed = remove_source(
            current_runtime(), source_id, account.login, origin=web_origin()
        )
    except UserError:
        flash(_("There is no source with this number."), "error")
        return redirect(url_for("sources.index"), code=303)
    logger.info("Source %d removed on the website by %s", source.id, account.login)
    flash(
        _(
            "Source %(id)s removed, with the %(count)s events mirrored from it; events "
            "written in the hub are untouched.",
            id=source.id,
            count=removed,
        ),
        "ok",
    )
    return redirect(url_for("sources.index"), code=303)
