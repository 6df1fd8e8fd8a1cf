"""Radicale rights for the hub: the letters come from ``calhub.hub.policy``, the one place that
decides who may read and write which calendar.

Radicale asks for the letters of every resource it lists: once per object in a Depth-1
PROPFIND (10,000 times at 10,000 events), always for the same login and collection. Within
one request (:func:`one_request`, entered by ``calhub.dav.mapper``) the answer is kept, so
the policy is asked once per login and path; the next request asks again, so a changed
account or setting counts from the next request on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

from radicale import config, rights

if TYPE_CHECKING:
    from calhub.hub.policy import Policy
    from calhub.runtime import Runtime

# (login, path) → letters, for the request being served (None outside one).
_asked: ContextVar[dict[tuple[str, str], str] | None] = ContextVar(
    "calhub_rights_asked", default=None
)


@contextlib.contextmanager
def one_request() -> Iterator[None]:
    """Inside, the letters of a login on a path are the policy's first answer."""
    token = _asked.set({})
    try:
        yield
    finally:
        _asked.reset(token)


class Rights(rights.BaseRights):
    def __init__(self, configuration: config.Configuration, runtime: Runtime) -> None:
        super().__init__(configuration)
        self._policy: Policy = runtime.policy

    def authorization(self, user: str, user_groups: set[str], path: str) -> str:
        asked = _asked.get()
        if asked is None:
            return self._policy.letters(user, path)
        key = (user, path)
        letters = asked.get(key)
        if letters is None:
            letters = asked[key] = self._policy.letters(user, path)
        return letters
