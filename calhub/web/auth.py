"""Who is asking: the session cookie (web sign-in) or HTTP Basic (API, as CalDAV does).

Both check the same hub accounts with ``hub.accounts.verify``. A session remembers the
login and a fingerprint of its password hash, so changing a password or removing the
account with ``calhub partner`` signs that person out of the web at once.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from calhub.accounts import Account
from calhub.web import current_hub
from calhub.web.i18n import safe_next
from calhub.web.security import CSRF_FIELD, limiter

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("auth", __name__)


# -- who is signed in --------------------------------------------------------------------


def _fingerprint(account: Account) -> str:
    key = current_app.secret_key
    secret = key if isinstance(key, bytes) else str(key).encode()
    return hmac.new(secret, account.password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def _basic_account(username: str, password: str) -> Account | None:
    keys = limiter().keys(request.remote_addr, username)
    wait = limiter().retry_after(keys)
    if wait:
        g.auth_retry_after = wait
        return None
    account = current_hub().accounts.verify(username, password)
    if account is None:
        limiter().failed(keys)
    else:
        limiter().succeeded(keys)
    return account


def _session_account() -> Account | None:
    login = session.get("login")
    if not isinstance(login, str):
        return None
    account = current_hub().accounts.get(login)
    if account is None or not hmac.compare_digest(
        str(session.get("pw", "")), _fingerprint(account)
    ):
        # Password changed or account removed since signing in.
        session.pop("login", None)
        session.pop("pw", None)
        return None
    return account


def current_account() -> Account | None:
    """The signed-in account: HTTP Basic credentials if sent, else the session cookie."""
    if "account" in g:
        account: Account | None = g.account
        return account
    account = None
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        g.auth_method = "basic"
        if auth.username and auth.password:
            account = _basic_account(auth.username, auth.password)
    else:
        g.auth_method = "session"
        account = _session_account()
    g.account = account
    return account


def start_session(account: Account) -> None:
    """A new session for ``account``: nothing of the anonymous session is carried over."""
    session.clear()
    session["login"] = account.login
    session["pw"] = _fingerprint(account)
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    session.permanent = True
    g.account = account


# -- refusing ----------------------------------------------------------------------------


def api_error(status: int, message: str, hint: str = "") -> ResponseReturnValue:
    body: dict[str, str] = {"error": message}
    if hint:
        body["hint"] = hint
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="calhub", charset="UTF-8"'
    if status == 429:
        headers["Retry-After"] = str(g.get("auth_retry_after", 60))
    return jsonify(body), status, headers


def _api_refusal() -> ResponseReturnValue:
    if g.get("auth_retry_after"):
        return api_error(429, "Too many failed sign-ins; try again later.")
    return api_error(401, "Sign in with your hub login and password.")


def login_required(view: F) -> F:
    """For the JSON API: 401 with a Basic challenge when nobody is signed in."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_account() is None:
            return _api_refusal()
        return view(*args, **kwargs)

    return cast(F, wrapped)


def coordinator_required(view: F) -> F:
    """For the JSON API: only a coordinator may go on."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        account = current_account()
        if account is None:
            return _api_refusal()
        if not account.is_coordinator:
            return api_error(403, "Only a coordinator can do this.")
        return view(*args, **kwargs)

    return cast(F, wrapped)


def error_page(status: int, message: str) -> ResponseReturnValue:
    headers = {}
    if status == 429:
        headers["Retry-After"] = str(g.get("auth_retry_after", 60))
    return render_template("error.html", status=status, message=message), status, headers


def page_login_required(view: F) -> F:
    """For web pages: send a visitor who is not signed in to the sign-in page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_account() is None:
            if g.get("auth_retry_after"):
                return error_page(429, _("Too many failed sign-ins. Try again later."))
            target = request.full_path if request.query_string else request.path
            return redirect(url_for("auth.login") + "?" + urlencode({"next": target}))
        return view(*args, **kwargs)

    return cast(F, wrapped)


def page_coordinator_required(view: F) -> F:
    @page_login_required
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        account = current_account()
        assert account is not None
        if not account.is_coordinator:
            return error_page(403, _("Only the coordinator can do this."))
        return view(*args, **kwargs)

    return cast(F, wrapped)


# -- signing in and out --------------------------------------------------------------------


def _landing() -> str:
    return url_for("plan.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_account() is not None:
            return redirect(next_url or _landing())
        return render_template("login.html", next_url=next_url or "", login="", error="")
    login_name = request.form.get("login", "").strip()
    password = request.form.get("password", "")
    keys = limiter().keys(request.remote_addr, login_name)
    wait = limiter().retry_after(keys)
    if wait:
        g.auth_retry_after = wait
        message = _(
            "Too many failed sign-ins. Try again in %(minutes)d min.", minutes=-(-wait // 60)
        )
        return (
            render_template("login.html", next_url=next_url or "", login=login_name, error=message),
            429,
            {"Retry-After": str(wait)},
        )
    account = None
    if login_name and password:
        account = current_hub().accounts.verify(login_name, password)
    if account is None:
        if login_name or password:
            limiter().failed(keys)
        # One message whether or not the login exists.
        message = _("Wrong login or password.")
        return (
            render_template("login.html", next_url=next_url or "", login=login_name, error=message),
            200,
        )
    limiter().succeeded(keys)
    start_session(account)
    logger.info("Web sign-in: %s", account.login)
    return redirect(next_url or _landing(), code=303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    session.clear()
    return redirect(url_for("home.index"), code=303)
