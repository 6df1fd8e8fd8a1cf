"""``/healthz``: is storage reachable, and which version runs."""

from __future__ import annotations

import os

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from calhub import __version__
from calhub.web import current_hub

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    hub = current_hub()
    storage_ok = hub.paths.collections.is_dir() and os.access(hub.paths.collections, os.W_OK)
    checks = {"storage": "ok" if storage_ok else "unavailable"}
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "degraded", "version": __version__, "checks": checks}
    return jsonify(body), 200 if healthy else 503
