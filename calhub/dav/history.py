"""Radicale's sync history of a hub calendar, written through to the index.

Radicale keeps, per object ever stored, a file in ``.Radicale.cache/history`` holding the
etag the object had at its last change and a "history etag" chained from it; a sync-token
hashes every history etag, so Radicale opens one file per object (10,000 at 10,000 events)
for each sync-collection and each Depth-0 sync-token. Every change of a history file in a
hub process goes through here (:class:`HistoryBook`, called by the storage plugin), which
writes the same row into the index and, after it, the folder's stamp: its inode and
mtime_ns, which every write into the folder changes (Radicale writes by rename).

The rows are used only while the stamp the index holds is the folder's: a history file
written by any other program (plain Radicale on the same folder, a restore, a hand) leaves
the folder with another stamp, and the rows are then read again from the files, once. The
rules themselves (when a history etag changes, what is deleted when) stay Radicale's: on a
change this module calls Radicale's own method and records what it wrote.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
from collections.abc import Iterator

from radicale import pathutils

from calhub.dav import locking
from calhub.store.index import IndexCorrupt, OccurrenceIndex

logger = logging.getLogger(__name__)

ABSENT = "absent"  # the stamp of a history folder not made yet (no object ever stored)


def folder_stamp(folder: str) -> str:
    try:
        stat = os.stat(folder)
    except FileNotFoundError:
        return ABSENT
    return f"{stat.st_ino}:{stat.st_mtime_ns}"


def read_folder(folder: str) -> dict[str, tuple[str, str]]:
    """Every readable history file of ``folder``: href → (etag, history etag). A damaged
    file is left out, so the caller asks Radicale about that object, as Radicale would."""
    rows: dict[str, tuple[str, str]] = {}
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            if not pathutils.is_safe_filesystem_path_component(entry.name):
                continue
            try:
                # Radicale's own cache files, which Radicale unpickles as well: whoever can
                # write them can already change every stored calendar.
                with open(entry.path, "rb") as file:
                    etag, history_etag = pickle.load(file)  # noqa: S301
            except (OSError, pickle.UnpicklingError, ValueError, TypeError, EOFError):
                continue
            if isinstance(etag, str) and isinstance(history_etag, str):
                rows[entry.name] = (etag, history_etag)
    return rows


class HistoryBook:
    """The history rows of one calendar's collection folder, for one collection object.

    Its calls run while Radicale holds its storage lock (or, in a PROPFIND, right after),
    so each index call is marked as under the lock (``calhub.dav.locking``): a damaged
    index raises IndexCorrupt here, which the caller answers by Radicale's own path,
    instead of a rebuild that would take the lock this request holds.
    """

    def __init__(self, index: OccurrenceIndex, calendar_id: str, folder: str) -> None:
        self.index = index
        self.calendar = calendar_id
        self.folder = folder
        self._batch: dict[str, tuple[str, str]] | None = None
        self._pending: list[tuple[str, str, str]] = []
        self._forgotten: list[str] = []
        self._broken = False

    def _trusted(self) -> bool:
        """Whether the rows are the folder's; if not, read them again from the files."""
        with locking.holding():
            return self._check()

    def _check(self) -> bool:
        current = folder_stamp(self.folder)
        if self.index.history_stamp(self.calendar) == current:
            return True
        # The stamp is taken before the files are read: a write while they are read leaves
        # the folder with another stamp than the one recorded, so it is read again later.
        rows = read_folder(self.folder)
        self.index.record_history(
            self.calendar, [(h, *r) for h, r in rows.items()], current, replace=True
        )
        logger.info(
            "Sync history of calendar %s read from its %d files "
            "(not on record, or changed outside the hub)",
            self.calendar,
            len(rows),
        )
        return True

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Many questions in a row (a sync): the rows are checked and read once."""
        try:
            self._trusted()
            with locking.holding():
                self._batch = self.index.history(self.calendar)
        except IndexCorrupt:
            self._broken = True
        self._pending, self._forgotten = [], []
        try:
            yield
        finally:
            self._batch = None
            pending, self._pending = self._pending, []
            forgotten, self._forgotten = self._forgotten, []
            if pending or forgotten:
                # One transaction for the rows Radicale wrote in the batch (every object's,
                # in the first sync of files the hub never saw written); the stamp after
                # the last of them. Lost rows (a crash) leave the stamp old: read again.
                with contextlib.suppress(IndexCorrupt), locking.holding():
                    stamp = folder_stamp(self.folder)
                    self.index.record_history(self.calendar, pending, stamp, forget=forgotten)

    def known(self, href: str) -> tuple[str, str] | None:
        """(etag, history etag) of ``href``; None if it has no history row (no file, or a
        damaged one). Raises IndexCorrupt when the index cannot answer."""
        if self._broken:
            raise IndexCorrupt("the index is not usable in this request")
        if self._batch is not None:
            return self._batch.get(href)
        self._trusted()
        with locking.holding():
            return self.index.history_entry(self.calendar, href)

    def wrote(self, href: str, etag: str, history_etag: str) -> None:
        """Radicale wrote this history file: the row and the folder's new stamp."""
        if self._batch is not None:
            self._batch[href] = (etag, history_etag)
            self._pending.append((href, etag, history_etag))
            return
        with locking.holding():
            self.index.record_history(
                self.calendar, [(href, etag, history_etag)], folder_stamp(self.folder)
            )

    def deleted(self) -> list[str]:
        """The hrefs whose last history entry is a deletion."""
        if self._broken:
            raise IndexCorrupt("the index is not usable in this request")
        if self._batch is not None:
            return [href for href, (etag, _) in self._batch.items() if etag == ""]
        self._trusted()
        with locking.holding():
            return self.index.deleted_history(self.calendar)

    def forgot(self, hrefs: list[str]) -> None:
        """Radicale's cleaning removed these history files."""
        if self._batch is not None:
            for href in hrefs:
                self._batch.pop(href, None)
            self._forgotten.extend(hrefs)
            return
        with locking.holding():
            self.index.record_history(self.calendar, [], folder_stamp(self.folder), forget=hrefs)

    def untrusted(self) -> None:
        """The folder changed in a way not recorded here: read it again next time."""
        with contextlib.suppress(IndexCorrupt), locking.holding():
            self.index.record_history(self.calendar, [], None)
