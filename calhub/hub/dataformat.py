"""The data directory's format version: which calhub may open it, and which must upgrade it.

A data directory carries its format in ``calhub-format.json`` (``{"format": 1}``). A hub
written before the marker existed (calhub up to December 2026) is format 0. The format
changes only when a release changes what is on disk in a way an older calhub would
misread; a store that upgrades its own SQLite schema in place (the index, the records)
does not need a new format, since every calhub since then reads the upgraded schema.

:class:`~calhub.hub.Hub` reads the marker before anything else: a directory newer than
this calhub is refused (:class:`DataFormatTooNew`) before a single byte is written, by
every entry point, since they all open the hub. An older directory is upgraded by
``calhub.dav.upgrade`` (a backup first); this module only reads and writes the marker.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from calhub.errors import UserError

FORMAT_NAME = "calhub-format.json"
# The lock serialises upgrades (and restores) of one directory between processes.
LOCK_NAME = ".calhub-format.lock"

# The format this calhub writes. Raise it with a migration step in calhub.dav.upgrade.
CURRENT_FORMAT = 1
# The oldest format this calhub can still upgrade; an older one needs an older release first.
OLDEST_UPGRADABLE = 0

LOCK_TIMEOUT = 60.0


class DataFormatTooNew(UserError):
    """The data directory was written by a newer calhub."""


class DataFormatUnknown(UserError):
    """The marker cannot be read, or the format is too old to upgrade."""


def read_format(root: Path) -> int:
    """The format of the data directory ``root`` (0 when it has no marker)."""
    path = root / FORMAT_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise DataFormatUnknown(
            f"{path}: cannot be read ({exc.strerror}).",
            hint="Check the file's owner and permissions, then run the command again.",
        ) from exc
    try:
        version = json.loads(text)["format"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DataFormatUnknown(
            f"{path}: not a calhub format marker ({text[:60]!r}).",
            hint=f'Restore it from a backup; a hub of this calhub has {{"format": '
            f"{CURRENT_FORMAT}}} there.",
        ) from exc
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise DataFormatUnknown(
            f"{path}: the format {version!r} is not a version number.",
            hint="Restore the file from a backup.",
        )
    return version


def check_format(root: Path) -> int:
    """The format of ``root``, refused (nothing written) when this calhub cannot open it."""
    version = read_format(root)
    if version > CURRENT_FORMAT:
        raise DataFormatTooNew(
            f"Каталог {root} записан более новой версией calhub (формат данных {version}, "
            f"эта версия понимает до {CURRENT_FORMAT}). / The data directory {root} was "
            f"written by a newer calhub (data format {version}; this calhub reads up to "
            f"{CURRENT_FORMAT}).",
            hint="Install the newer calhub again (pip install --upgrade calhub), or restore a "
            "backup taken before the upgrade with 'calhub restore FILE --data NEWDIR'. "
            "Nothing was changed.",
        )
    if version < OLDEST_UPGRADABLE:
        raise DataFormatUnknown(
            f"The data directory {root} has format {version}, older than this calhub can "
            f"upgrade (from {OLDEST_UPGRADABLE}).",
            hint="Upgrade it with an older calhub release first (see deploy/README.md).",
        )
    return version


def write_format(root: Path, version: int = CURRENT_FORMAT) -> None:
    """Mark ``root`` as ``version``, atomically (a torn marker would stop the hub)."""
    path = root / FORMAT_NAME
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps({"format": version}) + "\n", encoding="utf-8")
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    partial.replace(path)


@contextlib.contextmanager
def format_lock(root: Path, shared: bool = False, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the directory's format lock, between processes.

    A server holds it shared for as long as it serves (``calhub serve``); an upgrade or a
    restore holds it alone, so neither changes the files under a running server, and a
    server does not start in the middle of either.
    """
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    with (root / LOCK_NAME).open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _busy(root, shared, timeout) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _busy(root: Path, shared: bool, timeout: float) -> UserError:
    if shared:
        return UserError(
            f"Another calhub process has been upgrading or restoring {root} for over "
            f"{timeout:.0f} s.",
            hint="Wait for it to finish (see its log), then start the server again.",
        )
    return UserError(
        f"Каталог {root} занят работающим сервером calhub. / The data directory {root} is in "
        "use by a running calhub server (or another upgrade or restore).",
        hint="Stop the server first (systemctl stop calhub, or Ctrl+C), then run the command "
        "again. Nothing was changed.",
    )
