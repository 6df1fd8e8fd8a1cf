"""Web security plumbing: the session secret, CSRF tokens, headers.

Kept apart from the views so every blueprint gets the same rules from ``create_app``:
security headers on every response, a CSRF check on every state-changing form post and
every API request authenticated by the session cookie (HTTP Basic API clients cannot be
forged cross-site into sending JSON, which the API insists on; a form post needs the token
whatever credentials come with it), and one limiter for every way to sign in.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, Request, g, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from calhub.hub.keyfiles import load_or_create_key

logger = logging.getLogger(__name__)

SECRET_NAME = "web-secret.key"  # noqa: S105 - a file name, not a secret
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The largest form body read for its token: a sign-in, or a comment of at most 2,000
# characters (calhub.web.conflicts.MAX_COMMENT, up to 4 bytes each, percent-encoded).
MAX_FORM_BYTES = 64 * 1024
# Forms that upload a file (the import page): multipart bodies up to the server's body
# limit, whose files Werkzeug spools to disk, not memory.
UPLOAD_PATHS = frozenset({"/import"})


# -- the secret key ----------------------------------------------------------------------


def load_or_create_secret(data_dir: Path) -> bytes:
    """The hub's session-signing key: created once (0600) in the data dir, then reused."""
    return load_or_create_key(data_dir / SECRET_NAME)


# -- behind a proxy ----------------------------------------------------------------------


def is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class LocalProxyFix:
    """Honours X-Forwarded-For/-Proto only from a proxy on this machine (deploy/nginx).

    A client talking to the hub directly could otherwise pick its own address and so
    escape the per-address sign-in limit, or claim HTTPS (``calhub.store.logins`` reads the
    address of a CalDAV request the same way).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.fixed = ProxyFix(app, x_for=1, x_proto=1)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if is_loopback(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)


def request_is_https(req: Request) -> bool:
    return req.scheme == "https"


class HubSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request_is_https(request)


# -- CSRF ------------------------------------------------------------------------------


def csrf_token() -> str:
    """This session's CSRF token (created on first use); put it in every form."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def session_signed_in() -> bool:
    return isinstance(session.get("login"), str)


def csrf_problem(req: Request) -> str | None:
    """Why this request fails the CSRF check, or None if it passes or needs none."""
    if req.method in SAFE_METHODS:
        return None
    if (
        req.path.startswith("/api/")
        and req.authorization is not None
        and req.authorization.type == "basic"
    ):
        # The API takes state changes as JSON only, which no cross-site form can send.
        # The form routes do take form posts, and a browser adds Basic credentials it
        # once saw for the site to forged ones too, so a form always needs the token.
        return None
    expected = session.get(CSRF_FIELD)
    if not isinstance(expected, str) or not expected:
        # Decided before anything of the body is read: nobody signed in or about to.
        return "no-session"
    sent = req.headers.get(CSRF_HEADER)
    if not sent:
        upload = req.path in UPLOAD_PATHS and req.mimetype == "multipart/form-data"
        if (req.content_length or 0) > MAX_FORM_BYTES and not upload:
            # Werkzeug reads a urlencoded form into memory whole, before the view knows
            # who is asking; the hub's forms are a few hundred bytes.
            return "too-large"
        sent = req.form.get(CSRF_FIELD) if req.form else None
    if not sent:
        return "missing"
    if not hmac.compare_digest(sent, expected):
        return "mismatch"
    return None


# -- headers ---------------------------------------------------------------------------


def csp_nonce() -> str:
    """A per-response nonce for the one <style> element FullCalendar inserts."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    nonce: str = g.csp_nonce
    return nonce


def security_headers(nonce: str | None, frame_ancestors: str = "'none'") -> dict[str, str]:
    """The headers of every page. ``frame_ancestors`` is ``'none'`` but for the public page
    (``calhub.web.public``), which the school's website may embed (``[public]
    frame_ancestors``)."""
    style = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    policy = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            f"style-src {style}",
            "img-src 'self' data:",
            # FullCalendar's icon font is a data: URI inside its bundle.
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
