"""One clash bookkeeping at a time, across the threads and the processes of a hub.

A refresh reads the records it is about to change, works out the change and writes it
(:meth:`calhub.store.records.ClashRecords.sync`): two at once would each build on what
the other is replacing. Inside Radicale's storage lock they could not overlap; a refresh
that runs once the lock is released (calhub.dav.settling) takes this one instead, as every
refresh and full scan does. ``calhub serve --workers`` runs several processes, so the lock
is a file lock too (``flock`` on a file next to hub.sqlite), held by one thread at a time.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: one process, the thread lock alone
    fcntl = None  # type: ignore[assignment]


class RecordsLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        # Re-entrant: a full scan may refresh on its way (calhub.dav.maintenance).
        self._thread_lock = threading.RLock()
        self._depth = 0

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._thread_lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if fcntl is not None:
                    fcntl.flock(descriptor, fcntl.LOCK_EX)
                self._depth = 1
                try:
                    yield
                finally:
                    self._depth = 0
            finally:
                os.close(descriptor)  # and with it the file lock
