"""What the index knows of a calendar's folder, so a poll is answered without reading items.

Phones poll all day: a Depth-0 PROPFIND for the ctag or sync-token, a Depth-1 PROPFIND of
etags. Radicale answers each by reading every object of the collection (its ctag hashes
every etag), a second per poll at 10,000 events. The index already holds every object's
etag, UID, component and Radicale's time range, written under the storage write lock from
the very file stored; with each row it keeps that file's (inode, size, mtime_ns, ctime_ns).

The index is a cache, so a listing from it is used only when it provably is the folder's:
one ``os.scandir`` of the folder, and every file Radicale would list must have a row whose
stat agrees, and every row a file. A file written behind the hub's back (by hand, by
another program, by a restore), a missing or rebuilt index, a calendar indexed under other
settings: any difference and the caller takes Radicale's own path, which reads the files.
The order of the listing is the folder's, as Radicale's ``_list`` sees it, because the
ctag and the sync-token hash the items in that order.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import stat as stat_mode
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from radicale import item as radicale_item
from radicale import pathutils

from calhub.store.index import FileStat, KnownFile, OccurrenceIndex

if TYPE_CHECKING:
    from radicale.storage import BaseCollection

# Set while the index is checked against or rebuilt from storage: then collections read
# their files, as Radicale does, instead of answering from the index being checked.
_reading_files: ContextVar[bool] = ContextVar("calhub_reading_files", default=False)


@contextlib.contextmanager
def reading_files() -> Iterator[None]:
    """Inside, every collection lists its items from their files, never from the index."""
    token = _reading_files.set(True)
    try:
        yield
    finally:
        _reading_files.reset(token)


def files_only() -> bool:
    return _reading_files.get()


def needs_texts(method: str, body: bytes) -> bool:
    """Whether a request may want objects' texts after Radicale released its storage lock:
    a PROPFIND builds its answer there, and ``getcontentlength`` (named, or in an
    ``allprop``, which an empty body means) is the length of each text. A text read then
    could meet a file deleted meanwhile, so such a PROPFIND reads its files under the lock,
    as Radicale does. (A false alarm only costs the index's shortcut.)"""
    if method != "PROPFIND":
        return False
    return not body.strip() or b"allprop" in body or b"getcontentlength" in body


@contextlib.contextmanager
def reading_files_if(wanted: bool) -> Iterator[None]:
    if not wanted:
        yield
        return
    with reading_files():
        yield


def folder_of(collection: BaseCollection) -> str | None:
    """The folder of a multifilesystem collection (a temporary one while a calendar is
    replaced whole has its own)."""
    folder = getattr(collection, "_filesystem_path", None)
    return folder if isinstance(folder, str) else None


def file_stat(item: radicale_item.Item) -> FileStat | None:
    """(inode, size, mtime_ns, ctime_ns) of the file a stored item was read from, if any."""
    folder = None if item.collection is None else folder_of(item.collection)
    if folder is None or item.href is None:
        return None
    try:
        stat = os.stat(os.path.join(folder, item.href))
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


# A watched folder's generation (calhub.dav.watch): what a kept answer was proved under.
Generation = tuple[int, int]


@dataclass(frozen=True)
class Listing:
    """A collection's objects in its folder's order, each with its file's st_mtime.

    Kept while the folder's watch generation stays the one it was scanned under
    (:class:`KeptListings`), with what was computed from it: the ctag of each set of
    properties, and the sync-token of each generation of the history folder."""

    entries: list[tuple[KnownFile, float]]
    _ctags: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    # history folder's generation -> (sync-token, every href of Radicale's state, in order)
    synced: dict[Generation, tuple[str, tuple[str, ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # (history folder's generation, a client's older token) -> (sync-token, the changes):
    # after a write every phone syncs from the token before it, and all get one answer.
    synced_from: dict[tuple[Generation, str], tuple[str, tuple[str, ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @functools.cached_property
    def by_href(self) -> dict[str, tuple[KnownFile, float]]:
        return {known.href: (known, mtime) for known, mtime in self.entries}

    def ctag(self, meta: Mapping[str, str]) -> str:
        """Radicale's collection etag (``BaseCollection.etag``), the same bytes."""
        props = json.dumps(meta, sort_keys=True)
        kept = self._ctags.get(props)
        if kept is not None:
            return kept
        digest = sha256()
        for known, _ in self.entries:
            digest.update((known.href + "/" + known.etag).encode())
        digest.update(props.encode())
        ctag = f'"{digest.hexdigest()}"'
        if len(self._ctags) < 8:  # (properties change rarely; never grow without bound)
            self._ctags[props] = ctag
        return ctag


class KeptListings:
    """The last proved listing of each folder, while the kernel reports no change to it
    (:mod:`calhub.dav.watch`): a poll of an unchanged calendar then neither reads the
    index nor stats a file."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[Generation, int, Listing]] = {}

    def get(self, folder: str, generation: Generation, max_size: int) -> Listing | None:
        kept = self._kept.get(folder)
        if kept is None or kept[0] != generation or kept[1] != max_size:
            return None
        return kept[2]

    def keep(self, folder: str, generation: Generation, max_size: int, listing: Listing) -> None:
        self._kept[folder] = (generation, max_size, listing)


# Up to this many objects asked for, their rows are read by href rather than all the
# calendar's (a phone's multiget asks for 10-100; all rows of 2,000 take ~10 ms).
FEW_HREFS = 100


class RowCache:
    """The index's file rows of each calendar, kept by a process while the index's
    ``state()`` stays the same (every write of item rows changes it)."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[str, dict[str, KnownFile]]] = {}

    def rows(
        self, index: OccurrenceIndex, calendar_id: str, hrefs: Sequence[str] | None = None
    ) -> dict[str, KnownFile]:
        """The calendar's rows; with ``hrefs``, a mapping holding at least those of them
        (the kept rows when they are current, else only those, read from the index: a
        write reads its one object's row, not the 10,000 the last write made stale)."""
        # The state is read before the rows: rows newer than their state are read again
        # at the next call, never older rows kept under a newer state.
        state = index.state()
        cached = self._rows.get(calendar_id)
        if cached is not None and cached[0] == state:
            return cached[1]
        if hrefs is not None and len(hrefs) <= FEW_HREFS:
            return index.known_files(calendar_id, hrefs)
        rows = index.known_files(calendar_id)
        self._rows[calendar_id] = (state, rows)
        return rows

    def carry(
        self, calendar_id: str, before: str, after: str, written: Mapping[str, KnownFile | None]
    ) -> None:
        """A write of this process moved the index from state ``before`` to ``after``,
        changing only the rows ``written`` (None: gone): rows kept at ``before`` go on at
        ``after`` with those, instead of all being read again (10,000 rows: 50-100 ms)."""
        cached = self._rows.get(calendar_id)
        if cached is None or cached[0] != before:
            return
        # A new mapping: readers in other threads may be going through the old one.
        rows = dict(cached[1])
        for href, row in written.items():
            if row is None:
                rows.pop(href, None)
            else:
                rows[href] = row
        self._rows[calendar_id] = (after, rows)


def scan(folder: str, rows: dict[str, KnownFile], max_size: int) -> Listing | None:
    """The listing of ``folder`` from ``rows``, or None unless the rows are exactly its files
    (as Radicale's ``get_all`` would yield them: regular files with safe names, none over
    ``max_size``, which Radicale would skip)."""
    entries: list[tuple[KnownFile, float]] = []
    try:
        with os.scandir(folder) as found:
            for entry in found:
                if not entry.is_file():
                    continue
                name = entry.name
                known = rows.get(name)
                if known is None:
                    if pathutils.is_safe_filesystem_path_component(name):
                        return None  # a file the index never saw
                    continue  # not an object to Radicale either (.Radicale.props)
                # (an indexed href is one Radicale stored, so its name is a safe one)
                stat = entry.stat()
                if (
                    stat.st_ino != known.ino
                    or stat.st_size != known.size
                    or stat.st_mtime_ns != known.mtime_ns
                    or stat.st_ctime_ns != known.ctime_ns
                    or stat.st_size > max_size
                ):
                    return None
                entries.append((known, stat.st_mtime))
    except OSError:
        return None
    if len(entries) != len(rows):
        return None
    return Listing(entries)


def read_known(
    folder: str, known: KnownFile, max_size: int, encoding: str
) -> tuple[str, float] | None:
    """The text of an indexed object and its file's st_mtime, if the file holds exactly what
    was indexed (the etag of its bytes is the row's: the same text Radicale's item cache
    would give, byte for byte); None for anything else, which Radicale's own ``_get`` reads.
    One open, one fstat and one hash: no listing of the folder, no cache file, no parse."""
    try:
        with open(os.path.join(folder, known.href), "rb") as file:
            found = os.fstat(file.fileno())
            if not stat_mode.S_ISREG(found.st_mode) or found.st_size > max_size:
                return None  # Radicale skips an object over the size limit: its path says so
            raw = file.read()
        text = raw.decode(encoding)
    except (OSError, UnicodeDecodeError):
        return None
    if radicale_item.get_etag(text) != known.etag:
        return None  # changed since it was indexed
    return text, found.st_mtime


class IndexedFileItem(radicale_item.Item):
    """A stored item as the index knows it: etag, UID, component and time range at once,
    its text read from its file only when something asks for it."""

    def __init__(
        self,
        collection: BaseCollection,
        known: KnownFile,
        mtime: float,
        read: Callable[[KnownFile], str | None],
        text: str | None = None,
    ) -> None:
        # Radicale's Item.__init__ checks the collection's path once per item (a
        # quarter of a 10,000-object listing); these are the attributes it sets.
        self._collection_path = collection.path
        self.collection = collection
        self.href = known.href
        self._mtime = mtime
        self._last_modified: str | None = None
        self._text = text
        self._vobject_item = None
        self._etag = known.etag
        self._uid = known.uid
        self._name = "VCALENDAR"
        self._component_name = known.component
        self._time_range = (known.tr_start, known.tr_end)
        self._known = known
        self._read = read

    @property
    def last_modified(self) -> str | None:
        """Radicale's format, from the same stat as Radicale's _get (made when asked: a
        poll lists every item and asks for none of these)."""
        if self._last_modified is None:
            gmt = time.gmtime(self._mtime)
            self._last_modified = time.strftime("%a, %d %b %Y %H:%M:%S GMT", gmt)
        return self._last_modified

    @last_modified.setter
    def last_modified(self, value: str | None) -> None:
        self._last_modified = value

    def _load(self) -> None:
        text = self._read(self._known)
        if text is None:
            raise RuntimeError(f"Storage modified externally: {self.href!r} is gone")
        self._text = text

    def serialize(self) -> str:
        if self._text is None and self._vobject_item is None:
            self._load()
        return super().serialize()

    @property
    def vobject_item(self) -> Any:
        if self._text is None and self._vobject_item is None:
            self._load()
        return super().vobject_item
