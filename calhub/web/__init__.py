"""The hub's web application: landing page, health, and (later) the dashboard and API.

``create_app(test_config=None, hub=None)`` follows Flask's application-factory pattern: one
blueprint per area, per-request resources on ``g``. The hub comes from ``hub`` or from the
``CALHUB_DATA`` config key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from calhub.hub import Hub, resolve_data_dir


def create_app(test_config: Mapping[str, Any] | None = None, hub: Hub | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(CALHUB_DATA=None, JSON_AS_ASCII=False)
    if test_config is not None:
        app.config.from_mapping(test_config)
    if hub is None:
        hub = Hub(resolve_data_dir(app.config["CALHUB_DATA"]))
    app.extensions["calhub"] = hub
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    from calhub.web import api, health, home

    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(home.bp)
    return app


def current_hub() -> Hub:
    from flask import current_app

    hub: Hub = current_app.extensions["calhub"]
    return hub
