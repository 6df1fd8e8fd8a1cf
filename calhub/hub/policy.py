"""Who may read and write what: the one place that decides it, for every way in.

Radicale asks through ``calhub.dav.plugins.rights`` (as permission letters) and
``calhub.dav.plugins.sharing`` (which views a login has), the PUT pre-check asks whether a
login may write before a body is parsed, the DAV response layer asks which WebDAV
privileges to advertise (``current-user-privilege-set``), so that what apps are told is
exactly what the hub then allows; the web pages, the JSON API and every reader still to
come ask which clashes, refused writes and partner pages a login may see and who may
settle them. Nobody else looks at an account's role to decide.

Over CalDAV:

- anonymous users and unknown logins get nothing;
- a partner writes its own calendar's events and reads every other hub calendar, through
  the views ``/<login>/hub-<id>/`` in its own home (``calhub.dav.plugins.sharing``);
- the coordinator writes every hub calendar at its real path (``/school/calendar/``) and
  its events through the views, and may create calendars of its own (not hub calendars);
- nobody deletes a hub calendar over CalDAV (``calhub partner remove`` archives it) or
  replaces one whole with a single PUT (which would drop every event not in the body); a
  partner may relabel its own calendar in its apps (``calhub.dav.proppatch``), and nobody
  changes properties through a view;
- nobody creates a collection at a view's name (``hub-<id>``) in a home.

On the web and the API:

- every signed-in login reads the merged plan of every active hub calendar;
- the coordinator sees every clash and every refused write and is the only one who settles
  them (approve, reopen, dismiss) or opens the coordinator's pages; a partner sees the
  clashes with an event of its own calendar, its own refused writes and its own page, and
  the same "not found" for what is not its as for what does not exist;
- feedback on events: anyone with a signed link answers (``calhub.feedback``); the
  coordinator sees every answer and comment and moderates them, a partner sees its own
  events' ratings and only the comments the coordinator approved; the partners' term
  surveys are the coordinator's to send and read;
- the coordinator reads the whole audit log; a partner the history of its own events only.

Radicale permission letters: R/W read/write principal collections, r/w read/write calendars
and their events, D allows deleting a collection, o forbids replacing a whole calendar with
one PUT.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calhub.hub import Hub
    from calhub.hub.accounts import Account
    from calhub.hub.settings import CalendarSettings

VIEW_PREFIX = "hub-"

READ_ONLY: tuple[str, ...] = ("D:read", "C:read-free-busy")
# RFC 3744: write-content changes existing events, bind adds and unbind removes them.
EVENTS_WRITABLE: tuple[str, ...] = (*READ_ONLY, "D:write-content", "D:bind", "D:unbind")
# write = write-content + write-properties (+ bind, unbind).
FULL_WRITE: tuple[str, ...] = (*EVENTS_WRITABLE, "D:write-properties", "D:write")


def view_path(login: str, calendar_id: str) -> str:
    """Where ``login`` sees calendar ``calendar_id``: ``/bfu/hub-kgtu/``.

    A view cannot meet a real collection: a principal holds only "calendar" (partners) or
    "calendar" and "blackout" (school), see CalendarSettings.slug, and nobody creates a
    collection at a view's name (:meth:`Policy.letters`)."""
    return f"/{login}/{VIEW_PREFIX}{calendar_id}/"


@dataclass(frozen=True)
class Views:
    """The views in a login's calendar home: Radicale's share letters for them, the
    calendars in Apple's list order, and the ``calendar-order`` of the first."""

    letters: str
    calendars: list[CalendarSettings]
    first_order: int


def path_parts(path: str) -> list[str]:
    """``/bfu/calendar/`` → ``["bfu", "calendar"]`` (a Radicale path, no ``/dav`` prefix)."""
    return [part for part in path.split("/") if part]


# Radicale's share letters (calhub.dav.plugins.sharing). "p": no property changes
# (PROPPATCH) through a view. "o": no replacing the calendar whole through one either
# (Radicale intersects a share's letters with the user's, so the "o" of letters() would be
# lost without it there).
PARTNER_VIEW_LETTERS = "rp"
COORDINATOR_VIEW_LETTERS = "rwpo"
ROLE_ORDER = {"school": 0, "blackout": 1, "partner": 2}


class Policy:
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
            # Its labels (name, colour) may be changed, as apps do; calhub.dav.proppatch keeps
            # the properties the hub relies on.
            if account.is_coordinator:
                return "rwo"
            return "rwo" if self.owns(login, calendar) else "r"
        if parts[1].startswith(VIEW_PREFIX) and self.view_target(login, path) is None:
            # ``hub-<id>`` names the views (calhub.dav.plugins.sharing): a collection made
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

    # -- views in a login's calendar home (Radicale sharing) -----------------------------

    def views_of(self, login: str) -> Views:
        """The calendars ``login`` sees as ``/<login>/hub-<id>/``, in Apple's list order
        (the school's calendar, the blackout periods, the partners; after a partner's own
        calendar, which is first); none for an unknown login or an anonymous user."""
        account = self._hub.accounts.get(login) if login else None
        if account is None:
            return Views("", [], 0)
        calendars: Iterable[CalendarSettings] = self._hub.settings.calendars
        if account.is_coordinator:
            letters = COORDINATOR_VIEW_LETTERS
        else:
            letters = PARTNER_VIEW_LETTERS
            # A partner's own calendar has no view: it is its ``calendar``.
            calendars = (c for c in calendars if not (c.role == "partner" and c.id == login))
        ranked = sorted(calendars, key=lambda c: ROLE_ORDER.get(c.role, len(ROLE_ORDER)))
        first = 0 if account.is_coordinator else 1
        return Views(letters, [c for c in ranked if not c.archived], first)

    # -- the web and the API ---------------------------------------------------------------

    def may_ask_to_move(self, account: Account, calendar: CalendarSettings) -> bool:
        """Whether ``account`` may ask the owner of ``calendar`` to move an event: the
        coordinator asks partners (the school's own calendars it moves itself)."""
        return account.is_coordinator and calendar.role == "partner" and not calendar.archived

    def may_answer_move_request(self, account: Account, calendar: CalendarSettings) -> bool:
        """Whether ``account`` may answer a request to move an event of ``calendar``: its
        partner, and the coordinator (on the partner's behalf, e.g. after a phone call)."""
        return account.is_coordinator or self.owns(account.login, calendar)

    def readable_calendars(self) -> dict[str, CalendarSettings]:
        """The calendars of the merged plan: every active hub calendar, for every login."""
        return {c.id: c for c in self._hub.settings.calendars if not c.archived}

    def own_calendars(self, account: Account) -> list[CalendarSettings]:
        """The calendars ``account`` writes: the school's (coordinator) or its own."""
        if account.is_coordinator:
            return [
                c for c in self._hub.settings.calendars if c.owner == "school" and not c.archived
            ]
        calendar = self._hub.settings.calendar(account.login)
        return [calendar] if calendar is not None and not calendar.archived else []

    @staticmethod
    def may_coordinate(account: Account | None) -> bool:
        """Settling clashes and refused writes, the coordinator's pages and API calls."""
        return account is not None and account.is_coordinator

    @staticmethod
    def clash_scope(account: Account) -> str | None:
        """The calendar whose clashes ``account`` may see, or None for all of them."""
        return None if account.is_coordinator else account.login

    def can_see_clash(self, account: Account, calendars: Iterable[str]) -> bool:
        """Whether ``account`` may see a clash between events of ``calendars``."""
        scope = self.clash_scope(account)
        return scope is None or scope in set(calendars)

    @staticmethod
    def refused_scope(account: Account, wanted: str | None = None) -> str | None:
        """Whose refused writes ``account`` sees: its own, or (the coordinator) those of
        ``wanted``, or everyone's (None)."""
        if account.is_coordinator:
            return wanted or None
        return account.login

    @staticmethod
    def can_see_refused(account: Account, login: str) -> bool:
        """Whether ``account`` may see a refused write made by ``login``."""
        return account.is_coordinator or login == account.login

    @staticmethod
    def audit_scope(account: Account) -> frozenset[str] | None:
        """The calendars whose audit entries ``account`` may read: every entry (None) for
        the coordinator, the entries of its own calendar's events for a partner (never the
        decisions, feeds or accounts: those are the coordinator's)."""
        return None if account.is_coordinator else frozenset({account.login})

    def can_see_audit_of(self, account: Account, calendar: str) -> bool:
        """Whether ``account`` may read the history of an event of ``calendar``."""
        scope = self.audit_scope(account)
        return scope is None or calendar in scope

    @staticmethod
    def report_scope(account: Account) -> str | None:
        """Whose figures ``account``'s report holds: every calendar's (the coordinator,
        None) or only its own row, clashes and ratings (a partner: its login)."""
        return None if account.is_coordinator else account.login

    def may_see_report_row(self, account: Account, calendar: str) -> bool:
        """Whether ``account`` may see the report's row (figures, ratings) of ``calendar``."""
        scope = self.report_scope(account)
        return scope is None or scope == calendar

    @staticmethod
    def can_see_partner(viewer: Account, login: str) -> bool:
        """Whether ``viewer`` may open the page (and the app set-up) of ``login``."""
        return viewer.is_coordinator or viewer.login == login

    # -- feedback and surveys (calhub.feedback) ------------------------------------------

    @staticmethod
    def may_moderate_feedback(account: Account | None) -> bool:
        """Approving and hiding comments, seeing every answer and the partners' surveys:
        the coordinator only."""
        return account is not None and account.is_coordinator

    @staticmethod
    def feedback_scope(account: Account) -> str | None:
        """The calendar whose events' feedback ``account`` sees, or None for every one."""
        return None if account.is_coordinator else account.login

    def may_see_comment(self, account: Account, calendar: str, status: str) -> bool:
        """Whether ``account`` may read a comment on an event of ``calendar``: the
        coordinator every one (to moderate it), a partner only its own events' comments
        and only once the coordinator approved them."""
        if account.is_coordinator:
            return True
        return calendar == account.login and status == "approved"

    @staticmethod
    def may_run_surveys(account: Account | None) -> bool:
        """Sending the partners' term survey and reading the answers: the coordinator."""
        return account is not None and account.is_coordinator
