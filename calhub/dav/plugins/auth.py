"""Radicale authentication against the hub's accounts (``calhub.hub.accounts``), within the
hub's one sign-in limit (``calhub.runtime.signin``).

In the hub's WSGI stack ``calhub.dav.login`` has checked the credentials of the request
already (and answered a wrong password or a refused one itself); this plugin then reuses
that verdict. Used on its own it checks them through the same limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from radicale import auth, config

from calhub.runtime.signin import sign_in

if TYPE_CHECKING:
    from calhub.runtime import Runtime


class Auth(auth.BaseAuth):
    """Checks logins against ``accounts.json``; the store remembers verified passwords."""

    def __init__(self, configuration: config.Configuration, runtime: Runtime) -> None:
        super().__init__(configuration)
        self._runtime = runtime

    def _login_ext(self, login: str, password: str, context: auth.AuthContext) -> str:
        account = sign_in(self._runtime, login, password, context.remote_addr).account
        return account.login if account is not None else ""

    def _login(self, login: str, password: str) -> str:
        account = sign_in(self._runtime, login, password, None).account
        return account.login if account is not None else ""

    def _sleep_for_constant_exec_time(self, time_ns_begin: int) -> None:
        # Radicale pads every failed login to the slowest one it has seen since it started
        # (even with [auth] delay = 0), so one burst under load made every later failure
        # seconds slower until a restart. The account store's delay is fixed instead.
        return
