"""Built feeds kept in memory per version, so a phone's poll costs a lookup, not a build."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BuiltFeed:
    body: bytes
    gzipped: bytes
    etag: str  # a strong ETag, quoted
    last_modified: dt.datetime  # aware, UTC, whole seconds: when this version was built


class FeedCache:
    """The last built document of each scope (a bounded number of scopes)."""

    def __init__(self, max_entries: int = 64) -> None:
        raise NotImplementedError

    def get(self, scope: str, version: str, build: Callable[[], bytes]) -> BuiltFeed:
        """The document of ``scope`` at ``version``, built by ``build`` when not kept."""
        raise NotImplementedError
