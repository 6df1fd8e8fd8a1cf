"""Who the website's writes are by, for the audit log: the signed-in account and the
client's address (behind a local proxy, the address it forwarded: ``LocalProxyFix``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import request

from calhub.dav.actor import Actor, acting
from calhub.store.audit import Origin
from calhub.web.auth import current_account


def web_origin(via: str = "web") -> Origin:
    """Where a decision made on this request came from (its audit entry)."""
    return Origin(request.remote_addr or "", via)


@contextlib.contextmanager
def web_actor(via: str = "web", note: str = "") -> Iterator[Actor]:
    """Writes inside (events, decisions) are the signed-in account's, from this request."""
    account = current_account()
    login = account.login if account is not None else "anonymous"
    with acting(login, request.remote_addr or "", via, note) as actor:
        yield actor
