"""Built feeds kept in memory per version, so a phone's poll costs a lookup, not a build.

One entry per scope (the latest version built), least recently used dropped first. A
version changes when the index, the clash records or the settings the document uses
change (:func:`calhub.feeds.build.feed_version`), so a kept document is never stale.
Each document is compressed once, when it is built, not on every gzip request.

Builds of one scope run one at a time (twenty phones polling a changed feed make one
build, not twenty); builds of different scopes, and lookups, do not wait for each other.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from calhub.feeds.build import ObjectPieces

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BuiltFeed:
    body: bytes
    gzipped: bytes
    etag: str  # a strong ETag, quoted
    last_modified: dt.datetime  # aware, UTC, whole seconds: when this version was built


def etag_of(version: str) -> str:
    """The strong ETag of a version: equal versions are equal documents, byte for byte."""
    return '"' + hashlib.sha256(version.encode()).hexdigest()[:32] + '"'


class FeedCache:
    """The last built document of each scope (a bounded number of scopes).

    ``pieces`` are the parsed stored objects the builds share (pass them to
    :func:`calhub.feeds.build.build_feed`), so a new version parses only what changed.
    """

    def __init__(self, max_entries: int = 64, max_pieces: int = 50_000) -> None:
        if max_entries < 1:
            raise ValueError("a feed cache keeps at least one entry")
        self.max_entries = max_entries
        self.pieces = ObjectPieces(max_pieces)
        self._entries: OrderedDict[str, tuple[str, BuiltFeed]] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}

    def _kept(self, scope: str, version: str) -> BuiltFeed | None:
        with self._lock:
            entry = self._entries.get(scope)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(scope)
            return entry[1]

    def get(self, scope: str, version: str, build: Callable[[], bytes]) -> BuiltFeed:
        """The document of ``scope`` at ``version``, built by ``build`` when not kept."""
        kept = self._kept(scope, version)
        if kept is not None:
            return kept
        with self._lock:
            building = self._building.setdefault(scope, threading.Lock())
        with building:
            # Another thread may have built it while this one waited.
            kept = self._kept(scope, version)
            if kept is not None:
                return kept
            body = build()
            built = BuiltFeed(
                body=body,
                gzipped=gzip.compress(body, compresslevel=6, mtime=0),
                etag=etag_of(version),
                last_modified=dt.datetime.now(dt.UTC).replace(microsecond=0),
            )
            with self._lock:
                self._entries[scope] = (version, built)
                self._entries.move_to_end(scope)
                while len(self._entries) > self.max_entries:
                    dropped, _ = self._entries.popitem(last=False)
                    if dropped not in self._entries:
                        self._building.pop(dropped, None)
            logger.debug("Built feed %s: %d bytes", scope, len(body))
            return built

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
        self.pieces.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
