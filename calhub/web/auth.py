"""Who is asking: HTTP Basic with the hub accounts (as CalDAV does)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import g, jsonify, request
from flask.typing import ResponseReturnValue

from calhub.accounts import Account
from calhub.web import current_hub

F = TypeVar("F", bound=Callable[..., Any])


def current_account() -> Account | None:
    if "account" in g:
        account: Account | None = g.account
        return account
    account = None
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username and auth.password:
        account = current_hub().accounts.verify(auth.username, auth.password)
    g.account = account
    return account


def api_error(status: int, message: str, hint: str = "") -> ResponseReturnValue:
    body: dict[str, str] = {"error": message}
    if hint:
        body["hint"] = hint
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="calhub", charset="UTF-8"'
    return jsonify(body), status, headers


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_account() is None:
            return api_error(401, "Sign in with your hub login and password.")
        return view(*args, **kwargs)

    return cast(F, wrapped)


def coordinator_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        account = current_account()
        if account is None:
            return api_error(401, "Sign in with your hub login and password.")
        if not account.is_coordinator:
            return api_error(403, "Only a coordinator can do this.")
        return view(*args, **kwargs)

    return cast(F, wrapped)
