"""Who may read and write what over CalDAV: the one place that decides it.

Radicale asks through ``radicale_plugins.rights`` (as permission letters), the PUT pre-check
asks whether a login may write before a body is parsed, and the DAV response layer asks
which WebDAV privileges to advertise (``current-user-privilege-set``), so that what apps are
told is exactly what the hub then allows.

- anonymous users and unknown logins get nothing;
- a partner writes its own calendar's events and reads every other hub calendar, through
  the views ``/<login>/hub-<id>/`` in its own home (``radicale_plugins.sharing``);
- the coordinator writes every hub calendar at its real path (``/school/calendar/``) and
  its events through the views, and may create calendars of its own (not hub calendars);
- nobody deletes a hub calendar over CalDAV (``calhub partner remove`` archives it) or
  replaces one whole with a single PUT (which would drop every event not in the body); a
  partner may relabel its own calendar in its apps (``calhub.proppatch``), and nobody
  changes properties through a view;
- nobody creates a collection at a view's name (``hub-<id>``) in a home.

Radicale permission letters: R/W read/write principal collections, r/w read/write calendars
and their events, D allows deleting a collection, o forbids replacing a whole calendar with
one PUT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calhub.hub import Hub
    from calhub.settings import CalendarSettings

VIEW_PREFIX = "hub-"

READ_ONLY: tuple[str, ...] = ("D:read", "C:read-free-busy")
# RFC 3744: write-content changes existing events, bind adds and unbind removes them.
EVENTS_WRITABLE: tuple[str, ...] = (*READ_ONLY, "D:write-content", "D:bind", "D:unbind")
# write = write-content + write-properties (+ bind, unbind).
FULL_WRITE: tuple[str, ...] = (*EVENTS_WRITABLE, "D:write-properties", "D:write")


def path_parts(path: str) -> list[str]:
    """``/bfu/calendar/`` → ``["bfu", "calendar"]`` (a Radicale path, no ``/dav`` prefix)."""
    return [part for part in path.split("/") if part]


class Access:
    """Answers access questions for one hub, from its current settings and accounts."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    def _calendar(self, path: str) -> CalendarSettings | None:
        calendar = self._hub.settings.calendar_by_path(path)
        return None if calendar is None or calendar.archived else calendar

    def view_target(self, login: str, path: str) -> CalendarSettings | None:
        """The hub calendar that ``/<login>/hub-<id>/`` shows to ``login``, if it is one."""
        parts = path_parts(path)
        if len(parts) != 2 or parts[0] != login or not parts[1].startswith(VIEW_PREFIX):
            return None
        calendar = self._hub.settings.calendar(parts[1][len(VIEW_PREFIX) :])
        if calendar is None or calendar.archived:
            return None
        account = self._hub.accounts.get(login)
        if account is None:
            return None
        if not account.is_coordinator and calendar.role == "partner" and calendar.id == login:
            return None  # a partner's own calendar has no view: it is its ``calendar``
        return calendar

    def letters(self, login: str, path: str) -> str:
        """Radicale's permission letters for ``login`` on ``path``."""
        if not login:
            return ""
        account = self._hub.accounts.get(login)
        if account is None:
            return ""
        parts = path_parts(path)
        if len(parts) == 0:
            return "R"
        if len(parts) == 1:
            return "RW" if account.is_coordinator else "R"
        if len(parts) != 2:
            return ""
        calendar = self._hub.settings.calendar_by_path(path)
        if calendar is not None and not calendar.archived:
            # o: nobody replaces a whole hub calendar with one PUT, the coordinator
            # included: it silently deletes every event not in the body, a partner's or
            # the school's. Events are written one by one (or ``calhub`` imports them).
            # Its labels (name, colour) may be changed, as apps do; calhub.proppatch keeps
            # the properties the hub relies on.
            if account.is_coordinator:
                return "rwo"
            return "rwo" if self.owns(login, calendar) else "r"
        if parts[1].startswith(VIEW_PREFIX) and self.view_target(login, path) is None:
            # ``hub-<id>`` names the views (radicale_plugins.sharing): a collection made
            # there would hide, or be hidden by, the view of a calendar added later.
            stored = self._hub.paths.collections.joinpath(*parts)
            return "rwD" if stored.exists() and account.is_coordinator else "r"
        if account.is_coordinator:
            # Hub calendars are only removed (archived) through the CLI; an archived one
            # is gone from storage, so the coordinator is told 404, not 403.
            return "rwD" if calendar is None else "rw"
        # A coordinator's own calendar stays private; asking for a path where there is
        # nothing gets 404 (as from plain Radicale), not 403.
        stored = self._hub.paths.collections.joinpath(*parts)
        return "" if stored.exists() else "r"

    @staticmethod
    def owns(login: str, calendar: CalendarSettings) -> bool:
        return calendar.role == "partner" and calendar.owner == login

    def may_write_events(self, login: str, collection_path: str) -> bool:
        """Whether ``login`` (already authenticated) may write events into the collection."""
        account = self._hub.accounts.get(login)
        if account is None:
            return False
        if account.is_coordinator:
            return True
        calendar = self._calendar(collection_path)
        return calendar is not None and self.owns(login, calendar)

    def privileges(self, login: str, path: str) -> Sequence[str] | None:
        """The privileges to advertise on a hub calendar or view, or None for Radicale's."""
        account = self._hub.accounts.get(login) if login else None
        if account is None:
            return None
        view = self.view_target(login, path)
        if view is not None:
            # Views refuse PROPPATCH (share permission "p") for everyone.
            return EVENTS_WRITABLE if account.is_coordinator else READ_ONLY
        calendar = self._calendar(path)
        if calendar is None:
            return None
        if account.is_coordinator or self.owns(login, calendar):
            return FULL_WRITE
        return READ_ONLY
