"""The iCalendar document of a feed, and its version.

Read from Radicale's storage (the single source of truth: events whole, recurrences,
EXDATEs and overrides intact, never flattened), chosen with the occurrence index (which
calendar, which audience: the engine's audience model, not text matching) and marked with
the clash records (an event in an open hard clash is TENTATIVE with a marker in its title,
until the clash is approved or resolved).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calhub.dav.storage import Storage
    from calhub.feeds.scopes import FeedScope
    from calhub.runtime import Runtime


def feed_version(runtime: Runtime, scope: FeedScope) -> str:
    """What the document depends on, cheaply (no storage read): the index's and the
    records' ``state()``, the settings it uses, the scope. Equal versions, equal documents;
    the ETag is derived from it."""
    raise NotImplementedError


def build_feed(runtime: Runtime, storage: Storage, scope: FeedScope) -> bytes:
    """The whole document (CRLF, UTF-8): METHOD:PUBLISH, X-WR-CALNAME, X-WR-TIMEZONE,
    REFRESH-INTERVAL;VALUE=DURATION and X-PUBLISHED-TTL, a VTIMEZONE for every zone used."""
    raise NotImplementedError
