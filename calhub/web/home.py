"""The landing page: what the hub is, how to connect a calendar app, and where to sign in."""

from __future__ import annotations

import logging

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from calhub.web.auth import current_account
from calhub.web.context import current_hub, current_runtime
from calhub.web.notify_status import notify_status

logger = logging.getLogger(__name__)

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    settings = current_hub().settings
    return render_template(
        "home.html",
        base_url=request.host_url.rstrip("/"),
        calendars=[c for c in settings.calendars if not c.archived],
        notify=notify_status(current_runtime(), current_account()),
    )
