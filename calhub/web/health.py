"""``/healthz``: is storage reachable, does the index answer (and how much it holds), and
which version runs. Public, for monitoring; it shows counts, never events."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from calhub import __version__
from calhub.store.health import DatabaseError
from calhub.web import assets
from calhub.web.context import current_hub, current_runtime

logger = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    hub = current_hub()
    storage_ok = hub.paths.collections.is_dir() and os.access(hub.paths.collections, os.W_OK)
    checks = {"storage": "ok" if storage_ok else "unavailable"}
    counts: dict[str, Any] = {}
    try:
        items, occurrences = current_runtime().index.count()
        counts = {"items": items, "occurrences": occurrences}
        checks["index"] = "ok"
    except (DatabaseError, OSError) as exc:
        # Reported, not raised: monitoring wants a 503 with a reason, not a 500.
        logger.warning("Index check failed: %s", exc)
        checks["index"] = "unavailable"
    healthy = all(value == "ok" for value in checks.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "checks": checks,
        "index": counts,
        "assets": {"fullcalendar": assets.fullcalendar_version() or None},
    }
    return jsonify(body), 200 if healthy else 503
