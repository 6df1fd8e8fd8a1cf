"""``GET /export``: the plan as a file, for the signed-in account.

``/export?format=xlsx|pdf|csv|ics&from=YYYY-MM-DD&to=YYYY-MM-DD&audience=10А&calendar=ID``;
the plan and conflicts pages link here with their range and filters (``grade`` and
``group`` are read as the audience, as the plan's filter names them). The file is what the
plan shows the account: every calendar's events, and the clash marks and records the policy
lets it see (a partner: the clashes with an event of its own). The work is
:mod:`calhub.exchange.exporting`'s, shared with ``calhub export``.
"""

from __future__ import annotations

import logging

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from calhub.errors import UserError
from calhub.exchange.export_rows import read_request
from calhub.exchange.exporting import export_file
from calhub.web.auth import current_account, error_page, page_login_required
from calhub.web.context import current_runtime
from calhub.web.downloads import private_attachment
from calhub.web.storage import app_storage

logger = logging.getLogger(__name__)

bp = Blueprint("export", __name__)


@bp.get("/export")
@page_login_required
def download() -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    runtime = current_runtime()
    args = request.args
    audience = args.get("audience") or args.get("group") or args.get("grade") or None
    try:
        export_request = read_request(
            runtime,
            start=args.get("from") or None,
            end=args.get("to") or None,
            audience=audience,
            calendar=args.get("calendar") or None,
        )
        made = export_file(
            runtime,
            args.get("format", ""),
            export_request,
            account,
            storage=lambda: app_storage(runtime.hub),
        )
    except UserError as error:
        message = error.message + (f" {error.hint}" if error.hint else "")
        return error_page(400, message)
    logger.info("Export %s for %s: %s rows", made.filename, account.login, made.rows)
    return private_attachment(made.body, made.mime, made.filename)
