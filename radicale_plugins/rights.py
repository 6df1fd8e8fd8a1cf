"""Radicale rights for the hub: who may read and write which calendar.

- anonymous users get nothing;
- a coordinator reads and writes every calendar and may create calendars;
- a partner writes only its own calendar and reads every hub calendar, for transparency;
- nobody deletes, and partners do not rename, a hub calendar over CalDAV: removal goes
  through ``calhub partner remove``, which archives instead of deleting.

Radicale permission letters: R/W read/write principal collections, r/w read/write calendars
and their events, D allows deleting a collection, l locks a calendar's properties, o
forbids replacing a whole calendar with one PUT.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from radicale import config, pathutils, rights

if TYPE_CHECKING:
    from calhub.hub import Hub


class Rights(rights.BaseRights):
    def __init__(self, configuration: config.Configuration, hub: Hub) -> None:
        super().__init__(configuration)
        self._hub = hub

    def authorization(self, user: str, user_groups: set, path: str) -> str:
        if not user:
            return ""
        account = self._hub.accounts.get(user)
        if account is None:
            return ""
        parts = [p for p in pathutils.strip_path(path).split("/") if p]
        settings = self._hub.settings
        if len(parts) == 0:
            return "R"
        if len(parts) == 1:
            if account.is_coordinator:
                return "RW"
            return "R"
        if len(parts) == 2:
            calendar = settings.calendar_by_path(path)
            if account.is_coordinator:
                # Hub calendars are only removed (archived) through the CLI.
                return "rw" if calendar is not None else "rwD"
            own = calendar is not None and calendar.owner == user and calendar.role == "partner"
            if own and calendar is not None and not calendar.archived:
                # l: no renaming (PROPPATCH); o: no replacing the whole calendar at once,
                # which would also rename it (X-WR-CALNAME) and drop every event.
                return "rwlo"
            if calendar is not None and not calendar.archived:
                return "r"
            # A coordinator's own calendar stays private; asking for a path where there is
            # nothing gets 404 (as from plain Radicale), not 403.
            stored = self._hub.paths.collections.joinpath(*parts)
            return "" if stored.exists() else "r"
        return ""
