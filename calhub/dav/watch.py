"""Which calendar folders have not changed, told by the kernel (Linux inotify).

A poll is answered from what the index knows of a folder (:mod:`calhub.dav.known`) once a
scan has shown that the index holds the folder as it is: one ``stat`` per file, 5 ms at
2,000 objects, and more with every object. Nothing else tells an edit in place behind the
hub's back from no change at all: a folder's own mtime moves when a file is created,
renamed or deleted, not when one is rewritten where it lies.

The kernel does tell: an inotify watch on the folder reports every write, rename, delete and
change of attributes (``touch``) of its files, whoever made it. So a listing proved by a scan
stays proved while no event has come for its folder since the scan began, and a poll costs
one look at the queue instead of a stat per file: the same answer at 200 or 20,000 objects.
Reads are not watched (Radicale reads files on every request), nor sub-folders (Radicale's
item cache): only what changes an answer.

Each folder has a generation, moved on by every event for it. A caller takes the generation
*before* it scans and keeps its result under that generation: an event during the scan moves
the generation past it, so the next caller scans again; never the other way round. Where
inotify is missing (another system, the limit of instances or watches reached, the queue
overflowed), every generation is unknown and callers scan as before.

One watcher per process: an inotify descriptor inherited over ``fork`` is one queue for both
processes, and an event read by one would be lost to the other, so a watcher found in
another process than the one that made it starts again.
"""

from __future__ import annotations

import logging
import os
import threading

logger = logging.getLogger(__name__)

try:  # Linux only; elsewhere every folder is scanned, as without the watcher
    from inotify_simple import INotify, flags
except (ImportError, OSError):  # pragma: no cover - the library loads libc on import
    INotify = None
    flags = None

# What changes a listing, an etag, a date, the properties or the sync history of a folder.
_CHANGES = (
    "CREATE",
    "DELETE",
    "MODIFY",
    "ATTRIB",
    "CLOSE_WRITE",
    "MOVED_FROM",
    "MOVED_TO",
    "DELETE_SELF",
    "MOVE_SELF",
)
# The watch is gone (folder deleted or moved, unmounted): it must be made again.
_GONE = ("IGNORED", "DELETE_SELF", "MOVE_SELF", "UNMOUNT")


class FolderWatch:
    """Generations of watched folders, for one process. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inotify: INotify | None = None
        self._pid = 0
        self._broken = INotify is None
        self._wd: dict[str, int] = {}
        self._folder: dict[int, str] = {}
        self._generation: dict[str, int] = {}
        self._epoch = 0  # moved on when the queue overflowed: every generation is new
        if flags is not None:
            self._mask = 0
            for name in _CHANGES:
                self._mask |= flags[name]
            self._gone = 0
            for name in _GONE:
                self._gone |= flags[name]

    def generation(self, folder: str) -> tuple[int, int] | None:
        """The folder's generation now (watched from now on if it was not), or None when
        nothing can be said of it: then the caller scans, as without a watch."""
        with self._lock:
            inotify = self._queue()
            if inotify is None:
                return None
            self._drain(inotify)
            if folder not in self._wd:
                try:
                    wd = inotify.add_watch(folder, self._mask)
                except OSError as error:
                    # A missing folder, or the limit of watches: scan, as before.
                    logger.debug("not watching %s: %s", folder, error)
                    return None
                self._wd[folder] = wd
                self._folder[wd] = folder
                # A new watch has seen nothing yet: whatever was kept of this folder
                # before it was made is not proved by it.
                self._generation[folder] = self._generation.get(folder, 0) + 1
            return self._epoch, self._generation[folder]

    def close(self) -> None:
        with self._lock:
            self._reset()
            self._broken = True

    # -- inside the lock -------------------------------------------------------------------

    def _queue(self) -> INotify | None:
        if self._broken:
            return None
        if self._inotify is not None and self._pid == os.getpid():
            return self._inotify
        if self._inotify is not None:
            # Made before a fork: the descriptor's queue is the parent's too. Leave it to
            # the parent and start again.
            self._reset()
        assert INotify is not None
        try:
            self._inotify = INotify(nonblocking=True)
        except OSError as error:
            logger.warning("inotify is not available (%s): polls scan every file", error)
            self._broken = True
            return None
        self._pid = os.getpid()
        return self._inotify

    def _drain(self, inotify: INotify) -> None:
        try:
            events = inotify.read(timeout=0)
        except OSError as error:
            logger.warning("inotify read failed (%s): polls scan every file", error)
            self._reset()
            self._broken = True
            return
        for event in events:
            if event.mask & flags.Q_OVERFLOW:
                # Events were lost: nothing kept under any generation is proved now.
                self._epoch += 1
                continue
            folder = self._folder.get(event.wd)
            if folder is None:
                continue
            self._generation[folder] = self._generation.get(folder, 0) + 1
            if event.mask & self._gone:
                self._forget(event.wd)

    def _forget(self, wd: int) -> None:
        folder = self._folder.pop(wd, None)
        if folder is not None and self._wd.get(folder) == wd:
            del self._wd[folder]

    def _reset(self) -> None:
        if self._inotify is not None:
            # (in a child of a fork this closes only the child's copy of the descriptor)
            self._inotify.close()
        self._inotify = None
        self._wd.clear()
        self._folder.clear()
        self._epoch += 1
