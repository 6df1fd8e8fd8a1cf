"""Bringing an older data directory up to this calhub's format, a backup first.

Every face opens its hub through :func:`calhub.dav.maintenance.open_runtime` (or the CLI's
``open_hub``), which calls :func:`upgrade` when :attr:`Hub.needs_upgrade`: the first
command or server of a new release upgrades the directory in place, once, under the
directory's format lock, after writing a backup of it into ``upgrade-backups/`` (left out
of later backups; delete it when the upgrade is known good). A directory newer than this
calhub never gets here: :class:`~calhub.hub.Hub` refuses it.

One step per format: ``STEPS[n]`` turns format ``n`` into ``n + 1``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from calhub.dav.backup import UPGRADE_BACKUPS, backup
from calhub.hub import dataformat
from calhub.runtime import Runtime

if TYPE_CHECKING:
    from calhub.hub import Hub

logger = logging.getLogger(__name__)


def _from_0(hub: Hub) -> None:
    """Format 0 (no marker) to 1: the files are the same; the SQLite stores upgrade their
    own schemas when they open (``calhub.store.records_migrate``, the index's version),
    so the step is the marker itself."""


STEPS: dict[int, Callable[[Hub], None]] = {0: _from_0}


def upgrade(hub: Hub, backup_first: bool = True, locked: bool = False) -> Path | None:
    """Upgrade ``hub``'s directory to :data:`~calhub.hub.dataformat.CURRENT_FORMAT`.

    Returns the backup written first (None when another process had upgraded it already,
    or with ``backup_first=False``: a restore's archive is that backup). ``locked``: the
    caller holds the directory's format lock already (a restore).
    """
    if locked:
        return _upgrade(hub, backup_first)
    with dataformat.format_lock(hub.root):
        return _upgrade(hub, backup_first)


def _upgrade(hub: Hub, backup_first: bool) -> Path | None:
    root = hub.root
    written: Path | None = None
    version = dataformat.check_format(root)
    if version < dataformat.CURRENT_FORMAT:
        logger.warning(
            "Upgrading the data directory %s from format %s to %s",
            root,
            version,
            dataformat.CURRENT_FORMAT,
        )
        if backup_first:
            runtime = Runtime(hub)
            written = backup(runtime, root / UPGRADE_BACKUPS)
            runtime.close()
            logger.warning("Backup before the upgrade: %s", written)
        while version < dataformat.CURRENT_FORMAT:
            STEPS[version](hub)
            version += 1
            # Each step is marked as it is done: an upgrade cut short resumes there.
            dataformat.write_format(root, version)
    hub.data_format = version
    return written
