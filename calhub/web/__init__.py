"""The hub's web application: sign-in, the merged plan, clashes, partner pages, API, health.

``create_app(test_config=None, hub=None, runtime=None)`` follows Flask's application-factory
pattern: one blueprint per area (auth, plan, conflicts, refused events, partners, api,
health, feeds and the public page, feedback and surveys, the slot finder, live updates,
plus the landing page and the language switch),
per-request resources on ``g``. Events are moved from the website (``moves``) through the
CalDAV write path, and the coordinator asks partners to move theirs (``asks``). The hub
comes from ``runtime`` (the server shares one with Radicale), ``hub`` or the
``CALHUB_DATA`` config key; pages read its stores through ``current_runtime()`` and decide
who sees what through its policy (``calhub.hub.policy``).
Security rules that hold for every page (headers, CSRF, the session cookie) are wired here
once, from ``calhub.web.security``.

Templates, static files and message catalogs are read into memory here, when the app is
made (``templating``, ``assets``, ``i18n``), never per request: ``pip install .`` over a
running hub replaces the package's files, and pages must not fail while it does.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, g, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from calhub.hub import Hub, resolve_data_dir
from calhub.runtime import Runtime
from calhub.web.context import current_hub, current_runtime

__all__ = ["create_app", "current_hub", "current_runtime"]

logger = logging.getLogger(__name__)


def create_app(
    test_config: Mapping[str, Any] | None = None,
    hub: Hub | None = None,
    runtime: Runtime | None = None,
) -> Flask:
    from calhub.dav.maintenance import open_runtime
    from calhub.web import security

    # No folders: templating and assets serve both from memory.
    app = Flask(__name__, static_folder=None, template_folder=None)
    app.config.from_mapping(
        CALHUB_DATA=None,
        JSON_AS_ASCII=False,
        SESSION_COOKIE_NAME="calhub_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,  # also Secure whenever the request is HTTPS
        PERMANENT_SESSION_LIFETIME=dt.timedelta(days=14),
    )
    if test_config is not None:
        app.config.from_mapping(test_config)
    if runtime is not None:
        hub = runtime.hub
    elif hub is None:
        hub = Hub(resolve_data_dir(app.config["CALHUB_DATA"]))
    app.extensions["calhub"] = hub
    app.extensions["calhub_runtime"] = runtime or open_runtime(hub)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = security.load_or_create_secret(hub.root)
    app.session_interface = security.HubSessionInterface()
    app.wsgi_app = security.LocalProxyFix(app.wsgi_app)  # type: ignore[method-assign]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    from calhub.feeds.cache import FeedCache
    from calhub.web import (
        account,
        api,
        asks,
        assets,
        audit,
        auth,
        board,
        clashes,
        conflicts,
        editor,
        exchange,
        export,
        feedback,
        feeds,
        findtime,
        health,
        home,
        i18n,
        live,
        moves,
        partners,
        plan,
        public,
        refused,
        reports,
        slots,
        sources,
        templating,
    )

    # Built feeds, per scope and version: a poll of an unchanged feed costs a lookup.
    app.extensions[feeds.CACHE_KEY] = FeedCache()
    app.extensions[feeds.SERVED_KEY] = {}
    # Clash marks of the plan's windows, per records version (see clashes.MarkCache).
    app.extensions[clashes.MARKS_KEY] = clashes.MarkCache()

    i18n.init_app(app)
    assets.init_app(app)
    for blueprint in (
        account.bp,
        api.bp,
        asks.bp,
        audit.bp,
        auth.bp,
        board.bp,
        conflicts.bp,
        editor.bp,
        exchange.bp,
        export.bp,
        feedback.bp,
        feeds.bp,
        findtime.bp,
        health.bp,
        home.bp,
        moves.bp,
        partners.bp,
        plan.bp,
        public.bp,
        refused.bp,
        reports.bp,
        slots.bp,
        sources.bp,
    ):
        app.register_blueprint(blueprint)
    live.init_app(app)
    feedback.init_app(app)
    templating.init_app(app)
    app.before_request(_check_csrf)
    app.after_request(_add_headers)
    app.register_error_handler(HTTPException, _http_error)
    return app


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _check_csrf() -> ResponseReturnValue | None:
    from flask_babel import gettext as _

    from calhub.web import security
    from calhub.web.auth import api_error

    if request.method in security.SAFE_METHODS:
        return None
    # An API request without a session sign-in is refused by the view (401) anyway.
    if wants_json() and not security.session_signed_in():
        return None
    problem = security.csrf_problem(request)
    if problem is None:
        return None
    logger.warning("CSRF check failed (%s): %s %s", problem, request.method, request.path)
    if wants_json():
        return api_error(
            400,
            "The CSRF token is missing or wrong.",
            f"Send the token of the page in the {security.CSRF_HEADER} header, or use HTTP Basic.",
        )
    message = _(
        "This form has expired or did not come from this site. "
        "Go back, reload the page and try again."
    )
    return render_template("error.html", status=400, message=message), 400


def _add_headers(response: Any) -> Any:
    from calhub.web import security

    nonce = g.get("csp_nonce")
    for name, value in security.security_headers(nonce).items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html" and "Cache-Control" not in response.headers:
        # Pages show what one account may see: never from a shared cache.
        response.headers["Cache-Control"] = "no-store"
    response.vary.add("Cookie")
    return response


def _http_error(error: HTTPException) -> ResponseReturnValue:
    from flask_babel import gettext as _

    from calhub.web.auth import api_error

    status = error.code or 500
    if wants_json():
        return api_error(status, error.description or error.name)
    messages = {
        400: _("The request is not understood."),
        403: _("You may not open this page."),
        404: _("There is no such page, or it is not yours to see."),
        405: _("This address does not accept that kind of request."),
        429: _("Too many requests. Try again later."),
    }
    message = messages.get(status, error.name)
    return render_template("error.html", status=status, message=message), status
