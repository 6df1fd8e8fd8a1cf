"""One SQLite connection per thread, WAL mode, and explicit write transactions.

The server runs each request on a worker thread, and a sqlite3 connection belongs to the
thread that made it. WAL lets readers in any process go on while one writer commits.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

# ``column IN {IN_LIST}`` with ``in_list(values)`` as its one parameter: any number of values,
# where a ``?`` each stops at SQLite's 32,766 (a full rescan of a dense hub has more ids).
IN_LIST = "(SELECT value FROM json_each(?))"


def utc_text(moment: dt.datetime | None = None) -> str:
    """How the stores write a time: UTC, whole seconds, ``2026-03-02T09:00:00Z`` (now when
    no ``moment`` is given). Text in this form sorts as the times do."""
    moment = moment or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def in_list(values: Iterable[str]) -> str:
    return json.dumps(list(values))


class ThreadLocalDatabase:
    """Subclasses set ``SCHEMA`` and ``SYNCHRONOUS`` and may extend ``_connect``."""

    SCHEMA = ""
    SYNCHRONOUS = "FULL"
    # Each connection's own page cache, in KiB (SQLite's default is 2,000). A server has a
    # connection per store per worker thread (ten stores, eight threads), each filling its
    # cache with copies of the pages the operating system caches anyway, and emptied
    # whenever another connection writes: at the default they were about 17 MB of a served
    # hub's peak at 2,000 events (issue 21). 512 KiB holds a big file's inner B-tree pages,
    # which is what a cache saves reads of; the index keeps more (calhub.store.index).
    CACHE_KIB = 512

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={self.SYNCHRONOUS}")
        connection.execute(f"PRAGMA cache_size=-{self.CACHE_KIB}")
        connection.executescript(self.SCHEMA)
        return connection

    @property
    def db(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open()
            self._local.connection = connection
        return connection

    def _open(self) -> sqlite3.Connection:
        return self._connect()

    def close(self) -> None:
        """Close this thread's connection (others close with their threads)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
