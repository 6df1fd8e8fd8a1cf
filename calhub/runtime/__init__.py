"""One hub at work in one process: its stores, and the engine built from its settings.

A :class:`Runtime` is made once per process (by the server, the web app, a CLI command)
and handed to whatever needs the hub's data: the DAV layer's write hooks, the web, the
API, the CLI, and the readers still to come (feeds, exports). Each takes the part it
needs and nothing passes through one class:

- ``runtime.parts``: the engine, its configuration and parser, built again only when the
  settings change (:mod:`calhub.runtime.parts`);
- ``runtime.index``, ``runtime.records``, ``runtime.refused``, ``runtime.logins``,
  ``runtime.sessions``, ``runtime.feeds``, ``runtime.outbox``,
  ``runtime.sources``, ``runtime.feedback``, ``runtime.audit``: the stores on the data
  directory
  (:mod:`calhub.store`), opened on first use;
- ``runtime.clashes``: keeping the clash records in step with the index
  (:mod:`calhub.runtime.bookkeeping`);
- ``runtime.policy``: who may read and write what (:mod:`calhub.hub.policy`).

The runtime never touches Radicale's storage: reading it, and repairing a damaged index
from it, is the DAV layer's (:func:`calhub.dav.maintenance.open_runtime` builds a runtime
that can).
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING

from calhub.hub.policy import Policy
from calhub.runtime.bookkeeping import ClashBook
from calhub.runtime.parts import EngineParts, build_parts
from calhub.store.audit import AuditLog
from calhub.store.feedback import FeedbackStore
from calhub.store.feeds import FeedTokens
from calhub.store.index import OccurrenceIndex
from calhub.store.logins import LoginLimiter
from calhub.store.move_requests import MoveRequests
from calhub.store.outbox import Outbox
from calhub.store.records import ClashRecords
from calhub.store.refused import RefusedWrites
from calhub.store.sessions import SessionGenerations
from calhub.store.sources import Sources

if TYPE_CHECKING:
    from calhub.hub import Hub
    from calhub.hub.settings import Settings

__all__ = ["EngineParts", "Runtime"]


class Runtime:
    """The stores and the engine of one hub, shared by the threads of one process."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._parts: EngineParts | None = None
        self._parts_lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        return self.hub.settings

    @property
    def parts(self) -> EngineParts:
        """The engine of the current settings (built again when ``calhub.toml`` changed)."""
        settings = self.hub.settings
        with self._parts_lock:
            if self._parts is None or self._parts.settings is not settings:
                self._parts = build_parts(settings)
            return self._parts

    @cached_property
    def index(self) -> OccurrenceIndex:
        # Titles are folded with the groups of the calendar fingerprint the rows are
        # written under, so a change of groups re-indexes them like their audiences.
        return OccurrenceIndex(self.hub.paths.index_db, fold_title=self._fold_title)

    def _fold_title(self, summary: str) -> str:
        return self.parts.fold_title(summary)

    @cached_property
    def records(self) -> ClashRecords:
        """Clash records, approvals and history (hub.sqlite)."""
        return ClashRecords(self.hub.paths.hub_db)

    @cached_property
    def refused(self) -> RefusedWrites:
        """Writes the hub refused, kept for the dashboard (hub.sqlite)."""
        return RefusedWrites(self.hub.paths.hub_db)

    @cached_property
    def logins(self) -> LoginLimiter:
        """The sign-in limit shared by CalDAV, the web and the API (hub.sqlite)."""
        return LoginLimiter(self.hub.paths.hub_db)

    @cached_property
    def sessions(self) -> SessionGenerations:
        """Which web sessions of each login are still valid (hub.sqlite)."""
        return SessionGenerations(self.hub.paths.hub_db)

    @cached_property
    def feeds(self) -> FeedTokens:
        """The feeds people subscribe to, their tokens kept hashed (hub.sqlite)."""
        return FeedTokens(self.hub.paths.hub_db)

    @cached_property
    def feedback(self) -> FeedbackStore:
        """Feedback on events and the partners' term surveys (hub.sqlite)."""
        return FeedbackStore(self.hub.paths.hub_db)

    @cached_property
    def move_requests(self) -> MoveRequests:
        """The coordinator's requests to move an event (hub.sqlite, with the records)."""
        return MoveRequests(self.records)

    @cached_property
    def outbox(self) -> Outbox:
        """Notices of what happened to clashes and the messages made of them (hub.sqlite)."""
        return Outbox(self.hub.paths.hub_db)

    @cached_property
    def sources(self) -> Sources:
        """The external calendars mirrored into partner calendars (hub.sqlite)."""
        return Sources(self.hub.paths.hub_db)

    @cached_property
    def audit(self) -> AuditLog:
        """Who changed which event and who decided what (hub.sqlite)."""
        return AuditLog(self.hub.paths.hub_db)

    @cached_property
    def clashes(self) -> ClashBook:
        return ClashBook(self)

    @cached_property
    def policy(self) -> Policy:
        return Policy(self.hub)

    # Every store this object opens (each a cached property above).
    STORES = (
        "index",
        "records",
        "refused",
        "logins",
        "sessions",
        "feeds",
        "outbox",
        "sources",
        "audit",
        "feedback",
    )

    def close(self) -> None:
        """Close this thread's database connections (a command's work is done)."""
        for name in self.STORES:
            store = self.__dict__.get(name)
            if store is not None:
                store.close()
