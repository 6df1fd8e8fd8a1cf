"""The landing page: what the hub is and how to connect a calendar app."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from calhub.web import current_hub

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    hub = current_hub()
    settings = hub.settings
    base_url = request.host_url.rstrip("/")
    return render_template(
        "home.html",
        settings=settings,
        base_url=base_url,
        calendars=[c for c in settings.calendars if not c.archived],
    )
