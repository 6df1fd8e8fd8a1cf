"""Radicale authentication against the hub's accounts (``calhub.accounts``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from radicale import auth, config

if TYPE_CHECKING:
    from calhub.hub import Hub


class Auth(auth.BaseAuth):
    """Checks logins against ``accounts.json``; the store remembers verified passwords."""

    def __init__(self, configuration: config.Configuration, hub: Hub) -> None:
        super().__init__(configuration)
        self._hub = hub

    def _login(self, login: str, password: str) -> str:
        account = self._hub.accounts.verify(login, password)
        return account.login if account is not None else ""
