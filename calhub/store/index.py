"""The occurrence index: a SQLite sidecar (WAL) that caches what Radicale's storage holds.

It is a cache. Radicale's storage is the truth; the index can be deleted at any time and is
rebuilt from storage when missing, stale (another config, or storage changed behind the
hub's back) or corrupt. Writers update it inside Radicale's storage write lock, a file lock
shared by every server process, so several processes can serve one data directory.

Two things live here:
- ``items``: one row per stored calendar object (href, UID, etag, component, and Radicale's
  own enclosing time range), which answers ``has_uid`` and pre-filters time-range REPORTs
  exactly as Radicale would, without reading every file;
- ``occurrences``: the expanded occurrences the clash engine compares, with an R*Tree on
  their time spans for overlap queries in O(log n), the grades they touch as a bitmask
  and their folded title, so a lookup can leave out what a rule would never pair.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import json
import logging
import math
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, NamedTuple, ParamSpec, TypeVar, cast

from calhub.engine import Audience, Occurrence
from calhub.engine.index import NO_NARROWING, Narrowing
from calhub.engine.index import count_by_grade as engine_count_by_grade
from calhub.errors import CalhubError
from calhub.store.sqlitedb import ThreadLocalDatabase

logger = logging.getLogger(__name__)

# 7 (issue 21): item_files and the sync history. A version-6 index has no file stats, so
# polls would never be answered from it; another version is rebuilt from storage at start.
# 8: item_files keep the file's st_ctime_ns too (an edit in place that puts the size and
# mtime back, as `cp -p` over a file does, still moves it).
SCHEMA_VERSION = "8"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS calendars (
    calendar TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    calendar TEXT NOT NULL,
    href TEXT NOT NULL,
    uid TEXT NOT NULL,
    etag TEXT NOT NULL,
    component TEXT NOT NULL,
    tr_start INTEGER NOT NULL,
    tr_end INTEGER NOT NULL,
    error TEXT,
    exact_from INTEGER NOT NULL DEFAULT 0,
    exact_until INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (calendar, href)
);
CREATE INDEX IF NOT EXISTS items_uid ON items (calendar, uid);
CREATE INDEX IF NOT EXISTS items_range ON items (calendar, tr_start);
CREATE TABLE IF NOT EXISTS occurrences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    calendar TEXT NOT NULL,
    href TEXT NOT NULL,
    uid TEXT NOT NULL,
    recurrence_id TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    all_day INTEGER NOT NULL,
    summary TEXT NOT NULL,
    location TEXT NOT NULL,
    venue TEXT NOT NULL,
    audience TEXT NOT NULL,
    audience_source TEXT NOT NULL,
    is_blackout INTEGER NOT NULL,
    grades INTEGER NOT NULL,
    title TEXT
);
CREATE INDEX IF NOT EXISTS occurrences_item ON occurrences (calendar, href);
CREATE INDEX IF NOT EXISTS occurrences_uid ON occurrences (calendar, uid);
-- Covers the overload rule's counts: a week's rows by start, never reading the table.
CREATE INDEX IF NOT EXISTS occurrences_start
    ON occurrences (start, grades, is_blackout, all_day);
-- The duplicate rule's partners: one title, starting on one day.
CREATE INDEX IF NOT EXISTS occurrences_title ON occurrences (title, start);
CREATE VIRTUAL TABLE IF NOT EXISTS occurrence_spans USING rtree (id, start, end);
-- The file each item row was read from, as one stat() saw it then: a poll compares a
-- scan of the collection folder with these and answers from the rows only if all agree.
-- A write whose clash records follow after Radicale's storage lock is released (one row
-- each, deleted once they do; calhub.dav.settling): any row at start-up means a crash came
-- in between, as the records_pending mark does for a write whose records follow in the lock.
CREATE TABLE IF NOT EXISTS records_deferred (id INTEGER PRIMARY KEY AUTOINCREMENT);
CREATE TABLE IF NOT EXISTS item_files (
    calendar TEXT NOT NULL,
    href TEXT NOT NULL,
    ino INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    PRIMARY KEY (calendar, href)
);
-- Radicale's sync history of a calendar (its .Radicale.cache/history files: the etag an
-- object had at its last change and the history etag), written through on every change,
-- with the history folder's (inode, mtime_ns) after the last write: equal stamps mean the
-- rows are the folder's, so a sync-token needs no file read.
CREATE TABLE IF NOT EXISTS sync_history (
    calendar TEXT NOT NULL,
    href TEXT NOT NULL,
    etag TEXT NOT NULL,
    history_etag TEXT NOT NULL,
    PRIMARY KEY (calendar, href)
);
CREATE INDEX IF NOT EXISTS sync_history_deleted ON sync_history (calendar) WHERE etag = '';
CREATE TABLE IF NOT EXISTS sync_history_folders (
    calendar TEXT PRIMARY KEY,
    stamp TEXT NOT NULL
);
"""

OCCURRENCE_FIELDS = (
    "calendar",
    "uid",
    "recurrence_id",
    "start",
    "end",
    "all_day",
    "summary",
    "location",
    "venue",
    "audience",
    "audience_source",
    "is_blackout",
)
OCCURRENCE_COLUMNS = ", ".join(OCCURRENCE_FIELDS)
JOINED_OCCURRENCE_COLUMNS = ", ".join(f"o.{name}" for name in OCCURRENCE_FIELDS)


# (st_ino, st_size, st_mtime_ns, st_ctime_ns) of a stored object's file. The ctime is the
# kernel's: no program can set it back, so a file rewritten in place cannot pass for itself.
FileStat = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class IndexedItem:
    """What the index knows of one stored calendar object."""

    href: str
    uid: str
    etag: str
    component: str
    time_range: tuple[int, int]
    error: str | None = None
    # Within [exact_from, exact_until) the item's occurrences in the index are all of its
    # instances, at the times Radicale reads too (no cap reached, nothing cancelled or
    # transparent left out, no floating or all-day times, no instants); (0, 0): never.
    exact_span: tuple[int, int] = (0, 0)
    # The stored file the row was read from (inode, size, mtime_ns, ctime_ns), if looked at.
    file: FileStat | None = None


class KnownFile(NamedTuple):
    """One indexed object with the file it was read from: what a poll answers from."""

    href: str
    etag: str
    uid: str
    component: str
    tr_start: int
    tr_end: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @property
    def stat(self) -> FileStat:
        return self.ino, self.size, self.mtime_ns, self.ctime_ns


def _generation_and_changes(db: sqlite3.Connection) -> tuple[str, str]:
    """What ``state()`` is made of: the file's generation, its count of write transactions."""
    rows = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('generation', 'changes')"))
    return str(rows.get("generation", "")), str(rows.get("changes", "0"))


def known_file(item: IndexedItem) -> KnownFile | None:
    """The row ``known_files`` reads back for ``item`` once written (None: written without
    its file's stat, so not among them)."""
    if item.file is None:
        return None
    return KnownFile(item.href, item.etag, item.uid, item.component, *item.time_range, *item.file)


def audience_to_json(audience: Audience) -> str:
    return json.dumps(
        {"g": sorted(audience.grades), "c": sorted([g, letter] for g, letter in audience.classes)},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def grade_mask(grades: Iterable[int]) -> int:
    """The grades as bits (grade g is bit g), for SQL filters on ``occurrences.grades``."""
    mask = 0
    for grade in grades:
        mask |= 1 << grade
    return mask


# Few distinct audiences occur in a hub, and every overlap query decodes one per row.
@functools.lru_cache(maxsize=4096)
def audience_from_json(text: str) -> Audience:
    data = json.loads(text)
    return Audience(
        grades=frozenset(data["g"]), classes=frozenset((g, letter) for g, letter in data["c"])
    )


def _timestamp(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _moment(timestamp: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC)


# How many occurrence objects each process keeps (a few hundred bytes each); a hub of a
# school and its partners has fewer, a stress benchmark more.
ROW_CACHE_SIZE = 50_000
_SQL_VARIABLES = 900  # below SQLite's smallest limit on parameters per statement
# Up to this many excluded events are subtracted from a count one indexed query each.
_FEW_EXCLUDED = 16


class RowCache:
    """Occurrence objects by (index generation, row id), shared by a process's threads.

    A row of ``occurrences`` never changes: an edit deletes an event's rows and writes
    new ones, and AUTOINCREMENT never hands out an id twice within one index file. The
    generation, a random token written when the file is created, tells files apart, so a
    rebuilt or replaced index never meets objects read from the one before.
    """

    def __init__(self, size: int = ROW_CACHE_SIZE) -> None:
        self.size = size
        self._rows: dict[tuple[str, int], Occurrence] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> Occurrence | None:
        return self._rows.get(key)

    def put(self, rows: dict[tuple[str, int], Occurrence]) -> None:
        with self._lock:
            self._rows.update(rows)
            excess = len(self._rows) - self.size
            if excess > 0:
                # The oldest first (insertion order), a tenth more so this runs rarely.
                for key in list(itertools.islice(self._rows, excess + self.size // 10)):
                    del self._rows[key]


class IndexCorrupt(CalhubError, sqlite3.DatabaseError):
    """The index file cannot be used; the caller rebuilds it (a sqlite3 error, for callers
    that report an unusable database without knowing this one)."""


# SQLite's primary result codes for a damaged file (extended codes keep them in the low byte).
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
# What a row whose bytes were overwritten gives when it is turned into objects.
_DAMAGED_ROW_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, OSError)


class DamagedRow(CalhubError, sqlite3.DatabaseError):
    """A row the index cannot have written: its bytes were changed on disk."""


def is_damage(error: BaseException) -> bool:
    """Whether ``error`` says the file is damaged (not busy, locked or misused)."""
    if isinstance(error, DamagedRow):
        return True
    if not isinstance(error, sqlite3.DatabaseError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return True
    # Text columns overwritten with bytes that are not UTF-8 (the sqlite3 module's check).
    return "could not decode to utf-8" in str(error).lower()


_COUNT_CHANGE = (
    "INSERT INTO meta VALUES ('changes', '1') "
    "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _reading(
    method: Callable[Concatenate[OccurrenceIndex, _P], _R],
) -> Callable[Concatenate[OccurrenceIndex, _P], _R]:
    """A read that survives a damaged file: see ``OccurrenceIndex.repair``."""

    @functools.wraps(method)
    def guarded(self: OccurrenceIndex, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as error:
            if not is_damage(error):
                raise
            self._damaged(error)
        # Rebuilt from storage by ``repair``: the same question again, of the new file.
        return method(self, *args, **kwargs)

    # functools.wraps hides the signature from mypy; it is the method's own.
    return cast("Callable[Concatenate[OccurrenceIndex, _P], _R]", guarded)


class OccurrenceIndex(ThreadLocalDatabase):
    """``index.sqlite``: a cache, so it may lose its last commit on power loss (it is
    verified against storage at start-up) and an unusable file is simply started again.

    A damaged file (random bytes on disk: SQLite says "malformed" or "not a database", or a
    row cannot be read back) is deleted with one warning wherever it shows, and a new one
    started. A read outside a transaction then asks ``repair`` to fill the new file from
    storage and is answered from it; otherwise, or when ``repair`` declines, the caller
    gets ``IndexCorrupt`` (a write inside a transaction is rolled back first) and rebuilds.
    Every connection notices a file replaced by another thread or process and reopens.
    """

    SCHEMA = SCHEMA
    SYNCHRONOUS = "NORMAL"
    # SQLite's default page cache, unlike hub.sqlite's stores (calhub.store.sqlitedb): the
    # month view and the REPORTs read the index's pages again and again within a request,
    # and with 512 KiB the repeated month view took about a third longer (issue 21).
    CACHE_KIB = 2000

    def __init__(self, path: Path, fold_title: Callable[[str], str] | None = None) -> None:
        """``fold_title``: the engine's ``TitleFolder``, the same for every process that
        writes or reads the file; without it no title is stored and lookups by title
        return every title."""
        super().__init__(path)
        self.rows = RowCache()
        self.fold_title = fold_title
        # Set by calhub.dav.maintenance.open_runtime: rebuilds a new, empty file from
        # storage; False if it cannot here (this request holds the storage lock, and its
        # caller rebuilds).
        self.repair: Callable[[], bool] | None = None

    def _file_id(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        return stat.st_dev, stat.st_ino

    @property
    def db(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if (
            connection is not None
            and not connection.in_transaction
            and getattr(self._local, "file_id", None) != self._file_id()
        ):
            # Another thread or process replaced a damaged file: this one is gone.
            self.close()
        return super().db

    def _connect(self) -> sqlite3.Connection:
        connection = super()._connect()
        self._local.file_id = self._file_id()
        version = connection.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if version is None:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            connection.execute(
                "INSERT OR IGNORE INTO meta VALUES ('generation', ?)", (secrets.token_hex(8),)
            )
            connection.execute("COMMIT")
        elif version[0] != SCHEMA_VERSION:
            connection.close()
            raise IndexCorrupt(f"index schema {version[0]} is not {SCHEMA_VERSION}")
        generation = connection.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        # This thread's connection stays on this file, so its rows belong to this generation.
        self._local.generation = "" if generation is None else str(generation[0])
        return connection

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except (sqlite3.DatabaseError, IndexCorrupt) as exc:
            logger.warning("Index %s is unusable (%s); starting a new one", self.path, exc)
            self.destroy()
            connection = self._connect()
            reason = str(exc)
        # The new file is empty: filled from storage before anything reads it.
        self._local.connection = connection
        if self.repair is not None and not self.repair():
            raise IndexCorrupt(reason)
        return connection

    def destroy(self) -> None:
        """Delete the index files; only for a file no connection can use any more.

        A file that another thread or process has put in place of the one this thread's
        connection found damaged is left alone.
        """
        opened = getattr(self._local, "file_id", None)
        has_connection = getattr(self._local, "connection", None) is not None
        self.close()
        if has_connection and opened != self._file_id():
            return
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").unlink()

    def _damaged(self, error: BaseException) -> None:
        """Start a new file after ``error`` showed damage; return if ``repair`` filled it,
        else raise IndexCorrupt."""
        connection = getattr(self._local, "connection", None)
        if connection is not None and connection.in_transaction:
            # ``transaction`` rolls back, then starts the new file.
            raise IndexCorrupt(str(error)) from error
        replaced = connection is not None and self._local.file_id != self._file_id()
        if not replaced:
            logger.warning(
                "Index %s is damaged (%s); it is deleted and rebuilt from storage",
                self.path,
                error,
            )
        self.destroy()
        if replaced or (self.repair is not None and self.repair()):
            return
        raise IndexCorrupt(str(error)) from error

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; damage found in it rolls it back and raises IndexCorrupt."""
        with self._write(counted=True) as db:
            yield db

    @contextlib.contextmanager
    def quiet_transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that changes no event (the records-pending mark cleared):
        ``state()`` stays, so what readers built from the index stays theirs."""
        with self._write(counted=False) as db:
            yield db

    @staticmethod
    def states_of_write(db: sqlite3.Connection) -> tuple[str, str]:
        """Inside a :meth:`transaction`: ``state()`` before it, and once it commits (the
        write lock is held, so no other write comes between)."""
        generation, changes = _generation_and_changes(db)
        return f"{generation}:{changes}", f"{generation}:{int(changes) + 1}"

    @contextlib.contextmanager
    def _write(self, counted: bool) -> Iterator[sqlite3.Connection]:
        """``counted=False``: a write that changes no event (the sync history), which
        readers comparing ``state()`` need not see."""
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                # Every write counts: readers that cache what they built from the index
                # (feeds) compare state() instead of reading every row.
                if counted:
                    db.execute(_COUNT_CHANGE)
            except BaseException:
                self._rollback(db)
                raise
            db.execute("COMMIT")
        except (sqlite3.DatabaseError, IndexCorrupt) as error:
            if not (isinstance(error, IndexCorrupt) or is_damage(error)):
                raise
            self._rollback(db)
            logger.warning(
                "Index %s is damaged (%s); it is deleted and rebuilt from storage",
                self.path,
                error,
            )
            self.destroy()
            raise IndexCorrupt(str(error)) from error

    @staticmethod
    def _rollback(db: sqlite3.Connection) -> None:
        if db.in_transaction:
            try:
                db.execute("ROLLBACK")
            except sqlite3.DatabaseError as error:
                # The file is deleted right after: what it keeps no longer matters.
                logger.debug("Rollback on a damaged index failed: %s", error)

    def check(self) -> str | None:
        """SQLite's own integrity check of the file: None if sound (or not there yet), else
        what is wrong. A connection of its own: finding damage changes nothing."""
        if not self.path.exists():
            return None
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            rows = connection.execute("PRAGMA integrity_check(5)").fetchall()
        except sqlite3.DatabaseError as error:
            if not is_damage(error):
                raise
            return str(error)
        finally:
            connection.close()
        found = "; ".join(str(row[0]).replace("*** in database main ***", "") for row in rows)
        return None if found == "ok" else " ".join(found.split())[:300]

    def clear(self) -> None:
        """Empty the index in place: other threads and processes keep valid connections."""
        with self.transaction() as db:
            db.execute("DELETE FROM occurrence_spans")
            tables = ("occurrences", "items", "item_files", "calendars")
            for table in (*tables, "sync_history", "sync_history_folders", "records_deferred"):
                db.execute(f"DELETE FROM {table}")
            db.execute("DELETE FROM meta WHERE key NOT IN ('schema', 'generation', 'changes')")

    # -- clash records in step ----------------------------------------------------------

    # Set in the same transaction as an index change, cleared once the clash records (a
    # separate database) follow it; still set at start-up means a crash came in between.
    def mark_records_pending(self, db: sqlite3.Connection) -> None:
        db.execute("INSERT OR REPLACE INTO meta VALUES ('records_pending', '1')")

    def clear_records_pending(self, db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM meta WHERE key='records_pending'")

    @staticmethod
    def mark_records_deferred(db: sqlite3.Connection) -> int:
        """In a write's transaction, for records that follow it once the storage lock is
        released: the mark's id, for :meth:`clear_records_deferred`."""
        row_id = db.execute("INSERT INTO records_deferred DEFAULT VALUES").lastrowid
        assert row_id is not None
        return row_id

    @staticmethod
    def clear_records_deferred(db: sqlite3.Connection, row_id: int) -> None:
        """One deferred write's mark, once its records follow it."""
        db.execute("DELETE FROM records_deferred WHERE id=?", (row_id,))

    @_reading
    def last_deferred(self) -> int:
        """The latest deferred write's mark (0: none): a scan of every clash that read the
        index in the same snapshot clears it and those before (:meth:`clear_deferred_upto`)."""
        row = self.db.execute("SELECT max(id) FROM records_deferred").fetchone()
        return int(row[0] or 0)

    @staticmethod
    def clear_deferred_upto(db: sqlite3.Connection, last: int) -> None:
        db.execute("DELETE FROM records_deferred WHERE id <= ?", (last,))

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see the index as one commit left it, whatever others write
        meanwhile: a clash refresh outside the storage lock asks it many questions."""
        db = self.db
        if db.in_transaction:
            yield  # inside a transaction already (one snapshot)
            return
        db.execute("BEGIN")
        try:
            db.execute("SELECT 1 FROM meta LIMIT 1").fetchone()  # the snapshot starts here
            yield
        finally:
            if db.in_transaction:
                db.execute("COMMIT")

    @_reading
    def state(self) -> str:
        """Which version of the index this is: its file's generation and how many write
        transactions it has seen. Equal states mean equal contents."""
        generation, changes = _generation_and_changes(self.db)
        return f"{generation}:{changes}"

    @_reading
    def records_pending(self) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM meta WHERE key='records_pending' "
            "UNION ALL SELECT 1 FROM records_deferred LIMIT 1"
        ).fetchone()
        return row is not None

    # -- calendars -------------------------------------------------------------------

    @_reading
    def fingerprint(self, calendar: str) -> str | None:
        row = self.db.execute(
            "SELECT fingerprint FROM calendars WHERE calendar=?", (calendar,)
        ).fetchone()
        return None if row is None else str(row[0])

    @_reading
    def known_calendars(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT calendar FROM calendars")]

    def set_fingerprint(self, db: sqlite3.Connection, calendar: str, fingerprint: str) -> None:
        db.execute("INSERT OR REPLACE INTO calendars VALUES (?, ?)", (calendar, fingerprint))

    def set_rules_fingerprint(self, db: sqlite3.Connection, fingerprint: str) -> None:
        """The rules every clash record was last scanned under (``meta('rules')``)."""
        db.execute("INSERT OR REPLACE INTO meta VALUES ('rules', ?)", (fingerprint,))

    def drop_calendar(self, db: sqlite3.Connection, calendar: str) -> None:
        db.execute(
            "DELETE FROM occurrence_spans WHERE id IN "
            "(SELECT id FROM occurrences WHERE calendar=?)",
            (calendar,),
        )
        db.execute("DELETE FROM occurrences WHERE calendar=?", (calendar,))
        db.execute("DELETE FROM items WHERE calendar=?", (calendar,))
        db.execute("DELETE FROM item_files WHERE calendar=?", (calendar,))
        db.execute("DELETE FROM calendars WHERE calendar=?", (calendar,))

    # -- items -----------------------------------------------------------------------

    @_reading
    def item(self, calendar: str, href: str) -> IndexedItem | None:
        row = self.db.execute(
            "SELECT href, uid, etag, component, tr_start, tr_end, error, exact_from, exact_until "
            "FROM items "
            "WHERE calendar=? AND href=?",
            (calendar, href),
        ).fetchone()
        return None if row is None else _item(row)

    @_reading
    def items(self, calendar: str) -> dict[str, IndexedItem]:
        rows = self.db.execute(
            "SELECT href, uid, etag, component, tr_start, tr_end, error, exact_from, exact_until "
            "FROM items "
            "WHERE calendar=?",
            (calendar,),
        )
        return {row[0]: _item(row) for row in rows}

    @_reading
    def known_files(
        self, calendar: str, hrefs: Sequence[str] | None = None
    ) -> dict[str, KnownFile]:
        """Every object of ``calendar`` whose file the index looked at, by href; only those
        of ``hrefs`` when given (a write or a small multiget asks for a few)."""
        query = (
            "SELECT i.href, i.etag, i.uid, i.component, i.tr_start, i.tr_end, "
            "f.ino, f.size, f.mtime_ns, f.ctime_ns FROM items i "
            "JOIN item_files f ON f.calendar = i.calendar AND f.href = i.href "
            "WHERE i.calendar=?"
        )
        if hrefs is None:
            rows: Iterable[Any] = self.db.execute(query, (calendar,))
        else:
            rows = []
            for start in range(0, len(hrefs), 500):
                chunk = list(hrefs[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows += self.db.execute(f"{query} AND i.href IN ({marks})", (calendar, *chunk))
        try:
            return {row[0]: KnownFile._make(row) for row in rows}
        except _DAMAGED_ROW_ERRORS as error:
            raise DamagedRow(f"an item row cannot be read: {error!r}") from error

    @_reading
    def item_count(self, calendar: str) -> int:
        row = self.db.execute("SELECT count(*) FROM items WHERE calendar=?", (calendar,))
        return int(row.fetchone()[0])

    @_reading
    def href_of(self, calendar: str, uid: str) -> str | None:
        """The href of the object holding ``uid`` in ``calendar``, if indexed."""
        row = self.db.execute(
            "SELECT href FROM items WHERE calendar=? AND uid=? LIMIT 1", (calendar, uid)
        ).fetchone()
        return None if row is None else str(row[0])

    @_reading
    def has_uid(self, calendar: str, uid: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM items WHERE calendar=? AND uid=? LIMIT 1", (calendar, uid)
        ).fetchone()
        return row is not None

    @_reading
    def hrefs_in_range(self, calendar: str, start: int, end: int) -> list[tuple[str, bool]]:
        """Candidates for a time-range query of [start, end), each with whether it surely
        matches (a superset of the matching hrefs in all).

        An item exact over the window (zoned times only, every instance indexed: see
        ``IndexedItem.exact_span``) is returned only if one of its occurrences overlaps or
        touches the window, and it surely matches if one overlaps; one that only touches it
        is left to Radicale, whose recurrence walk counts an instance starting right at the
        window's end. Any other item whose enclosing time range meets the
        window is a candidate for Radicale to filter, as in Radicale's own prefilter.
        """
        rows = self.db.execute(
            "SELECT href, 0 FROM items WHERE calendar=:calendar "
            "AND tr_start < :end AND tr_end > :start "
            "AND NOT (exact_from <= :start AND exact_until >= :end) "
            "UNION ALL "
            "SELECT o.href, max(o.start < :end AND o.end > :start) FROM occurrence_spans s "
            "JOIN occurrences o ON o.id = s.id "
            "JOIN items i ON i.calendar = o.calendar AND i.href = o.href "
            "WHERE s.start <= :end AND s.end >= :start AND o.start <= :end AND o.end >= :start "
            "AND o.calendar = :calendar AND i.exact_from <= :start AND i.exact_until >= :end "
            "GROUP BY o.href",
            {"calendar": calendar, "start": start, "end": end},
        )
        return [(row[0], bool(row[1])) for row in rows]

    def put_item(
        self,
        db: sqlite3.Connection,
        calendar: str,
        item: IndexedItem,
        occurrences: Sequence[Occurrence],
    ) -> None:
        self.delete_item(db, calendar, item.href)
        fold_title = self.fold_title
        db.execute(
            "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                calendar,
                item.href,
                item.uid,
                item.etag,
                item.component,
                item.time_range[0],
                item.time_range[1],
                item.error,
                item.exact_span[0],
                item.exact_span[1],
            ),
        )
        if item.file is not None:
            db.execute(
                "INSERT INTO item_files VALUES (?, ?, ?, ?, ?, ?)",
                (calendar, item.href, *item.file),
            )
        for occurrence in occurrences:
            start, end = _timestamp(occurrence.start), _timestamp(occurrence.end)
            cursor = db.execute(
                f"INSERT INTO occurrences (href, {OCCURRENCE_COLUMNS}, grades, title) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item.href,
                    occurrence.calendar,
                    occurrence.uid,
                    occurrence.recurrence_id,
                    start,
                    end,
                    int(occurrence.all_day),
                    occurrence.summary,
                    occurrence.location,
                    occurrence.venue,
                    audience_to_json(occurrence.audience),
                    occurrence.audience_source,
                    int(occurrence.is_blackout),
                    grade_mask(occurrence.audience.grades_touched()),
                    None if fold_title is None else fold_title(occurrence.summary),
                ),
            )
            db.execute(
                "INSERT INTO occurrence_spans VALUES (?, ?, ?)", (cursor.lastrowid, start, end)
            )

    @staticmethod
    def set_file_stats(
        db: sqlite3.Connection, calendar: str, stats: Mapping[str, FileStat]
    ) -> None:
        """Inside a :meth:`transaction`: the stat of each object's file, as it is now."""
        db.executemany(
            "INSERT OR REPLACE INTO item_files VALUES (?, ?, ?, ?, ?, ?)",
            [(calendar, href, *stat) for href, stat in stats.items()],
        )

    def delete_item(self, db: sqlite3.Connection, calendar: str, href: str) -> str | None:
        """Forget one object; returns its UID if it was known."""
        row = db.execute(
            "SELECT uid FROM items WHERE calendar=? AND href=?", (calendar, href)
        ).fetchone()
        db.execute(
            "DELETE FROM occurrence_spans WHERE id IN "
            "(SELECT id FROM occurrences WHERE calendar=? AND href=?)",
            (calendar, href),
        )
        db.execute("DELETE FROM occurrences WHERE calendar=? AND href=?", (calendar, href))
        db.execute("DELETE FROM items WHERE calendar=? AND href=?", (calendar, href))
        db.execute("DELETE FROM item_files WHERE calendar=? AND href=?", (calendar, href))
        return None if row is None else str(row[0])

    # -- Radicale's sync history, written through -----------------------------------------

    @_reading
    def history_stamp(self, calendar: str) -> str | None:
        row = self.db.execute(
            "SELECT stamp FROM sync_history_folders WHERE calendar=?", (calendar,)
        ).fetchone()
        return None if row is None else str(row[0])

    @_reading
    def history(self, calendar: str) -> dict[str, tuple[str, str]]:
        """href → (etag at its last change, history etag), deleted objects too ("")."""
        rows = self.db.execute(
            "SELECT href, etag, history_etag FROM sync_history WHERE calendar=?", (calendar,)
        )
        return {href: (etag, history_etag) for href, etag, history_etag in rows}

    @_reading
    def history_entry(self, calendar: str, href: str) -> tuple[str, str] | None:
        row = self.db.execute(
            "SELECT etag, history_etag FROM sync_history WHERE calendar=? AND href=?",
            (calendar, href),
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    @_reading
    def deleted_history(self, calendar: str) -> list[str]:
        """The hrefs whose last history entry is a deletion (etag "")."""
        rows = self.db.execute(
            "SELECT href FROM sync_history WHERE calendar=? AND etag=''", (calendar,)
        )
        return [str(row[0]) for row in rows]

    def record_history(
        self,
        calendar: str,
        entries: Iterable[tuple[str, str, str]],
        stamp: str | None,
        *,
        replace: bool = False,
        forget: Iterable[str] = (),
    ) -> None:
        """Write history rows (href, etag, history etag), drop ``forget``; ``replace``: the
        rows are the whole history. ``stamp``: the folder as it is after these rows (None:
        the rows may not be the folder's, so nobody trusts them until a reload)."""
        with self._write(counted=False) as db:
            if replace:
                db.execute("DELETE FROM sync_history WHERE calendar=?", (calendar,))
            db.executemany(
                "INSERT OR REPLACE INTO sync_history VALUES (?, ?, ?, ?)",
                [(calendar, *entry) for entry in entries],
            )
            db.executemany(
                "DELETE FROM sync_history WHERE calendar=? AND href=?",
                [(calendar, href) for href in forget],
            )
            if stamp is None:
                db.execute("DELETE FROM sync_history_folders WHERE calendar=?", (calendar,))
            else:
                db.execute(
                    "INSERT OR REPLACE INTO sync_history_folders VALUES (?, ?)", (calendar, stamp)
                )

    # -- occurrences -----------------------------------------------------------------

    @_reading
    def overlapping(
        self,
        start: dt.datetime,
        end: dt.datetime,
        exclude: Iterable[tuple[str, str]] = (),
        where: Narrowing = NO_NARROWING,
    ) -> list[Occurrence]:
        """Occurrences with ``o.start < end`` and ``o.end > start``, minus excluded events,
        that ``where`` admits."""
        # A set as it is: an import's check excludes its thousands of rows on every one of
        # its tens of thousands of lookups, and copying them each time made it quadratic.
        skip = exclude if isinstance(exclude, set | frozenset) else set(exclude)
        # Rows hold whole seconds: rounded outwards, the bounds never leave one out.
        low, high = math.floor(start.timestamp()), math.ceil(end.timestamp())
        arguments: dict[str, int | str] = {"low": low, "high": high}
        if where.starting is not None:
            # Partners that start in a known span (a day, a week) are found by start in
            # an ordinary index, by title first when there is one.
            query = (
                "SELECT o.id FROM occurrences o WHERE o.start >= :from AND o.start < :until "
                "AND o.start < :high AND o.end > :low"
            )
            arguments["from"] = math.floor(where.starting[0].timestamp())
            arguments["until"] = math.ceil(where.starting[1].timestamp())
        else:
            # R*Tree bounds are rounded outwards, so re-check the exact columns.
            query = (
                "SELECT o.id FROM occurrence_spans s JOIN occurrences o ON o.id = s.id "
                "WHERE s.start < :high AND s.end > :low AND o.start < :high AND o.end > :low"
            )
        if where.grades is not None:
            query += " AND o.grades & :grades != 0"
            arguments["grades"] = grade_mask(where.grades)
        if where.venue is not None:
            query += " AND o.venue = :venue"
            arguments["venue"] = where.venue
        if where.title is not None and self.fold_title is not None:
            query += " AND o.title = :title"
            arguments["title"] = where.title
        ids = [row[0] for row in self.db.execute(query, arguments)]
        return [o for o in self._by_ids(ids) if (o.calendar, o.uid) not in skip]

    @_reading
    def count_by_grade(
        self,
        start: dt.datetime,
        end: dt.datetime,
        grades: frozenset[int],
        all_day: bool,
        exclude: Collection[tuple[str, str]],
    ) -> dict[int, int]:
        """See ``calhub.engine.index.CountingLookup``: one pass over the covering index."""
        wanted = sorted(grades)
        if not wanted:
            return {}
        low, high = _timestamp(start), _timestamp(end)
        if low != start.timestamp() or high != end.timestamp():
            # Rows hold whole seconds; a window that does not is counted by reading it.
            # (a second wider on each side: timestamps are truncated, and a zero-length
            # occurrence at ``start`` overlaps no window that starts with it)
            second = dt.timedelta(seconds=1)
            found = self.overlapping(
                start - second, end + second, exclude, Narrowing(grades=grades)
            )
            return engine_count_by_grade(found, start, end, grades, all_day, ())
        sums = ", ".join(f"total(grades & {1 << grade} != 0)" for grade in wanted)
        condition = "start >= ? AND start < ? AND is_blackout = 0"
        if not all_day:
            condition += " AND all_day = 0"
        row = self.db.execute(
            f"SELECT {sums} FROM occurrences WHERE {condition}", (low, high)
        ).fetchone()
        counts = {grade: int(total) for grade, total in zip(wanted, row, strict=True)}
        mask = grade_mask(wanted)
        if len(exclude) <= _FEW_EXCLUDED:
            excluded: Iterable[tuple[int]] = [
                row
                for calendar, uid in exclude
                for row in self.db.execute(
                    f"SELECT grades FROM occurrences WHERE calendar=? AND uid=? "
                    f"AND {condition} AND grades & ? != 0",
                    (calendar, uid, low, high, mask),
                )
            ]
        else:
            # A whole calendar replaced: one read of the window beats a query per event.
            excluded = [
                (row[2],)
                for row in self.db.execute(
                    f"SELECT calendar, uid, grades FROM occurrences WHERE {condition} "
                    "AND grades & ? != 0",
                    (low, high, mask),
                )
                if (row[0], row[1]) in exclude
            ]
        for (own,) in excluded:
            for grade in wanted:
                if own & (1 << grade):
                    counts[grade] -= 1
        return counts

    def _by_ids(self, ids: Sequence[int]) -> list[Occurrence]:
        """The occurrences of these rows, from the row cache where it has them."""
        db = self.db
        generation: str = self._local.generation
        found: dict[int, Occurrence] = {}
        missing = []
        for row_id in ids:
            cached = self.rows.get((generation, row_id))
            if cached is None:
                missing.append(row_id)
            else:
                found[row_id] = cached
        read: dict[tuple[str, int], Occurrence] = {}
        for at in range(0, len(missing), _SQL_VARIABLES):
            chunk = missing[at : at + _SQL_VARIABLES]
            rows = db.execute(
                f"SELECT id, {OCCURRENCE_COLUMNS} FROM occurrences "
                f"WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for row in rows:
                occurrence = found[row[0]] = _occurrence(row[1:])
                read[(generation, row[0])] = occurrence
        if read:
            self.rows.put(read)
        # A row deleted between the two queries is simply gone.
        return [found[row_id] for row_id in ids if row_id in found]

    @_reading
    def occurrences_of(self, calendar: str, uid: str) -> list[Occurrence]:
        rows = self.db.execute(
            f"SELECT {OCCURRENCE_COLUMNS} FROM occurrences WHERE calendar=? AND uid=?",
            (calendar, uid),
        )
        return [_occurrence(row) for row in rows]

    @_reading
    def first_of(self, calendar: str, uid: str) -> tuple[Occurrence | None, int]:
        """An event's first occurrence and how many it has (its audit summary), read
        without loading a long series whole."""
        row = self.db.execute(
            f"SELECT {OCCURRENCE_COLUMNS} FROM occurrences WHERE calendar=? AND uid=? "
            "ORDER BY start, recurrence_id LIMIT 1",
            (calendar, uid),
        ).fetchone()
        if row is None:
            return None, 0
        count = self.db.execute(
            "SELECT count(*) FROM occurrences WHERE calendar=? AND uid=?", (calendar, uid)
        ).fetchone()[0]
        return _occurrence(row), int(count)

    @_reading
    def all_occurrences(self) -> list[Occurrence]:
        # Read whole, so that damage shows here and not halfway through a caller's loop.
        rows = self.db.execute(f"SELECT {OCCURRENCE_COLUMNS} FROM occurrences ORDER BY start")
        return [_occurrence(row) for row in rows]

    @_reading
    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @_reading
    def count(self) -> tuple[int, int]:
        items = self.db.execute("SELECT count(*) FROM items").fetchone()[0]
        occurrences = self.db.execute("SELECT count(*) FROM occurrences").fetchone()[0]
        return int(items), int(occurrences)


class IndexLookup:
    """The engine's ``OccurrenceLookup`` over the index, leaving out some events."""

    def __init__(self, index: OccurrenceIndex, exclude: Iterable[tuple[str, str]] = ()) -> None:
        self.index = index
        self.exclude = frozenset(exclude)

    def overlapping(
        self, start: dt.datetime, end: dt.datetime, where: Narrowing = NO_NARROWING
    ) -> list[Occurrence]:
        return self.index.overlapping(start, end, self.exclude, where)

    def count_by_grade(
        self,
        start: dt.datetime,
        end: dt.datetime,
        grades: frozenset[int],
        all_day: bool,
        exclude: Collection[tuple[str, str]],
    ) -> dict[int, int]:
        return self.index.count_by_grade(start, end, grades, all_day, self.exclude | set(exclude))


def _item(row: Sequence[Any]) -> IndexedItem:
    try:
        return IndexedItem(
            row[0], row[1], row[2], row[3], (row[4], row[5]), row[6], (row[7], row[8])
        )
    except _DAMAGED_ROW_ERRORS as error:
        raise DamagedRow(f"an item row cannot be read: {error!r}") from error


def _occurrence(row: Sequence[Any]) -> Occurrence:
    try:
        return Occurrence(
            calendar=row[0],
            uid=row[1],
            recurrence_id=row[2],
            summary=row[6],
            start=_moment(row[3]),
            end=_moment(row[4]),
            all_day=bool(row[5]),
            location=row[7],
            venue=row[8],
            audience=audience_from_json(row[9]),
            audience_source=row[10],
            is_blackout=bool(row[11]),
        )
    except _DAMAGED_ROW_ERRORS as error:
        raise DamagedRow(f"an occurrence row cannot be read: {error!r}") from error
