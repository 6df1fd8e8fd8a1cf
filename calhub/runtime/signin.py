"""Signing in, for CalDAV, the JSON API and the web: the hub's accounts within the one
sign-in limit (:mod:`calhub.store.logins` keeps its counters).

A password the account store verified recently needs no count; a check that runs bcrypt
is counted as a failure first and the count taken back when the password was right, so
parallel guesses cannot pass the limit together.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calhub.hub.accounts import Account
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)


def wsgi_client_address(environ: dict[str, Any]) -> str:
    """The client's address, honouring X-Forwarded-For only from a proxy on this machine
    (as the web app's ``LocalProxyFix``): any client could claim any address otherwise."""
    remote = str(environ.get("REMOTE_ADDR") or "")
    forwarded = str(environ.get("HTTP_X_FORWARDED_FOR") or "")
    if forwarded and _is_loopback(remote):
        # The proxy appends the address it saw last (werkzeug's ProxyFix with x_for=1).
        return forwarded.split(",")[-1].strip() or remote
    return remote


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to: the account, or None; ``retry_after`` > 0 when it
    was refused unchecked for too many failures."""

    account: Account | None
    retry_after: int = 0


def sign_in(runtime: Runtime, login: str, password: str, address: str | None) -> SignIn:
    """Check a login and password from ``address`` within the limit (every way in uses it).

    A password the account store verified recently needs no count: only a check that
    runs bcrypt is counted first, so parallel guesses cannot pass the limit together.
    """
    if not login:
        return SignIn(None)
    accounts = runtime.hub.accounts
    decided, account = accounts.decided(login, password)
    if decided:
        return SignIn(account)
    limiter = runtime.logins
    wait, failed_before = limiter.check(login, address)
    if not wait:
        account = accounts.cached(login, password)
        if account is None:
            wait = limiter.begin(login, address)
            failed_before = True
    if wait:
        logger.warning(
            "Sign-in of %r from %s refused unchecked for %d s (too many failures)",
            login,
            address,
            wait,
        )
        return SignIn(None, wait)
    if account is None:
        account = accounts.verify(login, password)
    if account is not None and failed_before:
        limiter.succeeded(login, address)
    elif account is None:
        logger.warning("Failed sign-in of %r from %s", login, address)
    return SignIn(account)


def too_many_text(wait: int) -> str:
    """The bilingual explanation of a 429, for CalDAV and the API."""
    minutes = max(1, math.ceil(wait / 60))
    return (
        "Слишком много неудачных попыток входа с этого адреса. "
        f"Проверьте логин и пароль и повторите через {minutes} мин.\n"
        "Too many failed sign-ins from this address. "
        f"Check the login and password and try again in {minutes} min.\n"
    )
