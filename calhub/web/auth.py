"""Who is asking: the session cookie (web sign-in) or HTTP Basic (API, as CalDAV does).

Both check the same hub accounts within the hub's one sign-in limit (``calhub.store.logins``,
shared with CalDAV). A session remembers the login, a fingerprint of its password hash and
the account's session generation (``calhub.store.sessions``) and is checked on every request:
signing out, ``calhub partner passwd``, a new password or a removed account end it on the
server at once, in every browser, and so does ``[hub] session_idle_minutes`` without a
request.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import time
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

from calhub.dav.actor import LOGIN_ENVIRON_KEY
from calhub.errors import UserError
from calhub.hub.accounts import Account
from calhub.runtime.signin import sign_in, too_many_text
from calhub.web.context import current_hub, current_runtime
from calhub.web.i18n import safe_next
from calhub.web.security import CSRF_FIELD

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("auth", __name__)


# -- who is signed in --------------------------------------------------------------------


def _fingerprint(account: Account) -> str:
    key = current_app.secret_key
    secret = key if isinstance(key, bytes) else str(key).encode()
    return hmac.new(secret, account.password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def _basic_account(username: str, password: str) -> Account | None:
    outcome = sign_in(current_runtime(), username, password, request.remote_addr)
    if outcome.retry_after:
        g.auth_retry_after = outcome.retry_after
    return outcome.account


# A session's last request is written back at most this often, not on every request.
SEEN_EVERY = 60


def _session_account() -> Account | None:
    login = session.get("login")
    if not isinstance(login, str):
        return None
    hub = current_hub()
    account = hub.accounts.get(login)
    now = int(time.time())
    seen = session.get("seen")
    idle = hub.settings.session_idle_minutes * 60
    if (
        account is None
        or not hmac.compare_digest(str(session.get("pw", "")), _fingerprint(account))
        or not hmac.compare_digest(
            str(session.get("gen", "")), current_runtime().sessions.current(login)
        )
        or not isinstance(seen, int)
        or not 0 <= now - seen <= idle
    ):
        # Signed out elsewhere, password changed, account removed, or idle too long.
        session.clear()
        return None
    # A quiet request (calhub.web.live: an open tab asking for news) is not activity:
    # it must not keep a forgotten sign-in alive.
    if now - seen >= SEEN_EVERY and not g.get("quiet_session"):
        session["seen"] = now
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
    if account is not None:
        request.environ[LOGIN_ENVIRON_KEY] = account.login
    return account


def start_session(account: Account) -> None:
    """A new session for ``account``: nothing of the anonymous session is carried over."""
    session.clear()
    session["login"] = account.login
    session["pw"] = _fingerprint(account)
    session["gen"] = current_runtime().sessions.current(account.login)
    session["seen"] = int(time.time())
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


def api_user_error(error: UserError) -> ResponseReturnValue:
    """What the JSON API answers to a mistake the caller can fix: 400 with the message and
    the hint (every API blueprint registers it)."""
    return api_error(400, error.message, error.hint)


def _api_refusal() -> ResponseReturnValue:
    wait = g.get("auth_retry_after")
    if wait:
        return api_error(429, " / ".join(too_many_text(wait).splitlines()))
    return api_error(
        401, "Войдите с логином и паролем хаба. / Sign in with your hub login and password."
    )


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
        if not current_runtime().policy.may_coordinate(account):
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
        if not current_runtime().policy.may_coordinate(account):
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
    outcome = sign_in(current_runtime(), login_name, password, request.remote_addr)
    wait = outcome.retry_after
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
    account = outcome.account
    if account is None:
        # One message whether or not the login exists.
        message = _("Wrong login or password.")
        return (
            render_template("login.html", next_url=next_url or "", login=login_name, error=message),
            200,
        )
    start_session(account)
    logger.info("Web sign-in: %s", account.login)
    return redirect(next_url or _landing(), code=303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Ends the session on the server: the account's every session, not just this cookie
    (a copy of it must not open the pages any more)."""
    if g.get("auth_method") != "basic" and _session_account() is not None:
        current_runtime().sessions.bump(str(session["login"]))
    session.clear()
    return redirect(url_for("home.index"), code=303)
