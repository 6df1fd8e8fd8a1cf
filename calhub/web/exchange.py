"""The coordinator's import page: upload a plan (CSV or XLSX), read the same report as
``calhub import --dry-run``, confirm, see the result.

The upload is kept server-side (:mod:`calhub.exchange.uploads`, a random name in the hub's
data directory) between the report and the confirmation, so what is imported is exactly
the file the report was about. Uploads are limited to the import's file size (and the
server's body limit); every form carries the session's CSRF token.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from calhub.errors import UserError
from calhub.exchange import uploads
from calhub.exchange.columns import MAPPING_MAX_BYTES, Mapping_, mapping_from_bytes
from calhub.exchange.importing import ImportOptions, ImportReport, run_import
from calhub.exchange.report import DELIMITER_NAMES
from calhub.exchange.sheets import Limits
from calhub.web.acting import web_actor
from calhub.web.auth import current_account, page_coordinator_required
from calhub.web.context import current_hub, current_runtime
from calhub.web.i18n import language

logger = logging.getLogger(__name__)

bp = Blueprint("exchange", __name__)


def _limit() -> int:
    return min(Limits().max_bytes, current_runtime().settings.max_body_bytes)


def _options(form: Any, dry_run: bool, mapping: Mapping_ | None = None) -> ImportOptions:
    calendar = (form.get("calendar") or "").strip() or None
    return ImportOptions(
        calendar=calendar,
        mapping=mapping or Mapping_(),
        skip_bad=form.get("skip_bad") == "1",
        prune=form.get("prune") == "1",
        dry_run=dry_run,
    )


def _page(status: int = 200, **context: Any) -> ResponseReturnValue:
    runtime = current_runtime()
    calendars = [c for c in runtime.settings.calendars if not c.archived]
    context.setdefault("options", {})
    body = render_template(
        "import.html",
        calendars=calendars,
        limit_mb=_limit() // 1024 // 1024,
        delimiter_names=DELIMITER_NAMES,
        message_key="message_ru" if language() == "ru" else "message_en",
        **context,
    )
    return body, status


@bp.route("/import", methods=["GET"])
@page_coordinator_required
def index() -> ResponseReturnValue:
    return _page()


def _run(data: bytes, filename: str, options: ImportOptions) -> ImportReport | UserError:
    try:
        with web_actor("import", filename):
            return run_import(current_runtime(), data, filename, options)
    except UserError as error:
        return error


@bp.route("/import", methods=["POST"])
@page_coordinator_required
def upload() -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    form = request.form
    chosen = {k: form.get(k, "") for k in ("calendar", "skip_bad", "prune")}
    if (request.content_length or 0) > _limit() + 64 * 1024:
        return _page(413, error=_too_big(), options=chosen)
    sheet = request.files.get("sheet")
    data = sheet.stream.read(_limit() + 1) if sheet is not None else b""
    if sheet is None or not sheet.filename or not data:
        return _page(400, error=_("Choose the plan's file (CSV or XLSX)."), options=chosen)
    if len(data) > _limit():
        return _page(413, error=_too_big(), options=chosen)
    filename = sheet.filename
    # The optional mapping file: read and checked as `calhub import --mapping` reads it.
    mapping_file = request.files.get("mapping")
    mapping_data = b""
    if mapping_file is not None and mapping_file.filename:
        mapping_data = mapping_file.stream.read(MAPPING_MAX_BYTES + 1)
    try:
        mapping = mapping_from_bytes(mapping_data) if mapping_data else None
    except UserError as error:
        return _page(400, error=error.message, hint=error.hint, options=chosen)
    outcome = _run(data, filename, _options(form, dry_run=True, mapping=mapping))
    if isinstance(outcome, UserError):
        return _page(400, error=outcome.message, hint=outcome.hint, options=chosen)
    root = current_hub().paths.root
    token = uploads.keep(root, filename, account.login, data, mapping_data)
    return _page(report=outcome, token=token, options=chosen, mapping_used=bool(mapping_data))


@bp.route("/import/confirm", methods=["POST"])
@page_coordinator_required
def confirm() -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    root = current_hub().paths.root
    token = request.form.get("token", "")
    kept = uploads.load(root, token, account.login)
    if kept is None:
        return _page(
            404,
            error=_("This upload is no longer kept (it expires after an hour); upload it again."),
        )
    options = {k: request.form.get(k, "") for k in ("calendar", "skip_bad", "prune")}
    # "Check again": the same kept file (and mapping), other options, another dry run.
    again = request.form.get("dry_run") == "1"
    try:
        mapping = mapping_from_bytes(kept.mapping) if kept.mapping else None
    except UserError as error:  # checked at the upload; only a changed hub gets here
        return _page(400, error=error.message, hint=error.hint)
    outcome = _run(kept.data, kept.filename, _options(request.form, again, mapping))
    if isinstance(outcome, UserError):
        return _page(400, error=outcome.message, hint=outcome.hint)
    if again:
        return _page(report=outcome, token=token, options=options, mapping_used=bool(kept.mapping))
    if outcome.carried_out:
        uploads.forget(root, token)
        logger.info("%s imported %s: %d written", account.login, kept.filename, outcome.written)
        return _page(result=outcome)
    return _page(409, report=outcome, token=token, options=options)


def _too_big() -> str:
    return str(_("The file is too big: the limit is %(mb)s MB.", mb=_limit() // 1024 // 1024))
