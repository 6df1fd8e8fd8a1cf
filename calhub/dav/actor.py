"""Who is writing: the login, address and way in of the request being served, for the audit
log the write hooks keep (:mod:`calhub.dav.hooks`).

Radicale hands its storage plugin the item, never the request, so the WSGI layer that knows
the login (:mod:`calhub.dav.login`), the website's handlers and the import set it here in a
context variable around the write: each request (thread) sees only its own, and nothing is
kept in globals.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["LOGIN_ENVIRON_KEY", "SYSTEM", "Actor", "acting", "current_actor"]

# Where the web app leaves a session's login in the WSGI environ, for the access log
# (calhub.server.stack); a Basic header names its login itself.
LOGIN_ENVIRON_KEY = "calhub.login"


@dataclass(frozen=True, slots=True)
class Actor:
    """``login`` who writes, from ``address`` (an IP address, or "" for a command), ``via``:
    ``caldav`` (a calendar app), ``web`` (the dashboard), ``import``, ``cli``, ``source``
    (a mirrored calendar: the login is ``source:<id>``) or ``calhub`` (the hub itself)."""

    login: str
    address: str = ""
    via: str = "caldav"
    note: str = ""  # what the entries say besides (an import: the file's name)


# A write nobody announced (a maintenance step of the hub itself).
SYSTEM = Actor("calhub", "", "calhub")

_actor: ContextVar[Actor | None] = ContextVar("calhub_actor", default=None)


@contextlib.contextmanager
def acting(login: str, address: str = "", via: str = "caldav", note: str = "") -> Iterator[Actor]:
    """Writes inside are ``login``'s, from ``address``, made ``via`` this way in."""
    actor = Actor(login, address, via, note)
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def current_actor() -> Actor | None:
    """The writer announced for this request, or None."""
    return _actor.get()
