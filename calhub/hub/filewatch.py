"""Re-read a small file only when it changed on disk.

The CLI edits hub files (accounts, config) while a server runs; every request checks the
file's stat stamp, which costs one ``stat`` call, and parses again only after a change.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from calhub.errors import UserError

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ReloadingFile(Generic[T]):
    def __init__(self, path: Path, parse: Callable[[Path], T], missing: Callable[[], T]) -> None:
        self.path = path
        self._parse = parse
        self._missing = missing
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._value: T | None = None
        self._bad_stamp: tuple[int, int, int] | None = None

    def get(self) -> T:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return self._missing()
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            if self._value is not None and stamp == self._bad_stamp:
                # Known bad and unchanged: every request would parse it again for nothing.
                return self._value
            if stamp != self._stamp or self._value is None:
                try:
                    value = self._parse(self.path)
                except UserError as exc:
                    if self._value is None:
                        raise
                    # A running server keeps its last good reading rather than failing
                    # every request; the error is logged once per bad version.
                    logger.error(
                        "Ignoring the new %s, keeping the last valid one: %s", self.path, exc
                    )
                    self._bad_stamp = stamp
                    return self._value
                self._value = value
                self._stamp = stamp
            return self._value


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Write a whole file so that readers see the old or the new text, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
