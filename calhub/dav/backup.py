"""A consistent backup of a hub's data: everything but the caches, in one .tar.gz.

Taken while the server runs: Radicale's storage is read under its storage lock (writers
wait a moment), and hub.sqlite is copied with SQLite's online backup API, so the archive
never holds a half-written event or a torn database page. The occurrence index is a cache
and is left out; ``calhub restore`` (:mod:`calhub.dav.restore`) rebuilds it.

What is in it: ``calhub.toml`` (the settings), ``accounts.json``, ``calhub-format.json``,
``storage/`` (every event), ``archive/`` (removed partners' calendars) and every other entry
of the data directory but the caches, and ``hub.sqlite`` copied whole: clash records and
approvals, history, refused writes, feed tokens, the outbox and its notices, move requests,
sign-in counters, sessions, feedback answers and partners' surveys, the audit log; the
keys ``web-secret.key`` and ``feedback-secret.key`` go as entries of the data directory. A
store that keeps its tables in hub.sqlite (as the mirrored sources do,
``calhub.store.sources``) is in the backup with nothing to add here; a store
with a file of its own must be added below, or it is left out only if it is a cache
(then list it in ``_is_cache_or_live_database``).
"""

from __future__ import annotations

import datetime as dt
import logging
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from calhub.dav.storage import open_storage
from calhub.hub.dataformat import LOCK_NAME
from calhub.store.health import copy_database

if TYPE_CHECKING:
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)

# Radicale's own caches (item cache, sync-token history) are rebuilt on demand too.
SKIPPED_PARTS = (".Radicale.cache", ".Radicale.lock", ".Radicale.tmp-")
# Backups written before an upgrade, kept in the data directory (calhub.dav.upgrade), and
# what a restore unpacks before it moves it into place (calhub.dav.restore): never backed up.
UPGRADE_BACKUPS = "upgrade-backups"
RESTORE_STAGING = ".calhub-restore-"
SKIPPED_ENTRIES = (UPGRADE_BACKUPS, LOCK_NAME)


def _wanted(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if any(part in info.name for part in SKIPPED_PARTS):
        return None
    return info


def _is_cache_or_live_database(name: str) -> bool:
    return (
        name.startswith(("index.sqlite", "hub.sqlite", RESTORE_STAGING))
        or name.endswith(".tmp")
        or name in SKIPPED_ENTRIES
    )


ARCHIVE_GLOB = "calhub-backup-*.tar.gz"


def rotate(target_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups in ``target_dir``; returns those deleted.

    Only this command's own archives (``calhub-backup-<UTC time>.tar.gz``, whose names sort
    as their times) are looked at, so a directory shared with other files is safe.
    """
    archives = sorted(target_dir.glob(ARCHIVE_GLOB))
    old = archives[: max(0, len(archives) - keep)]
    for archive in old:
        archive.unlink()
        logger.info("Rotated out the old backup %s", archive)
    return old


def backup(runtime: Runtime, target_dir: Path) -> Path:
    """Write ``calhub-backup-<UTC time>.tar.gz`` into ``target_dir``; returns its path."""
    hub = runtime.hub
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    archive = target_dir / f"calhub-backup-{stamp}.tar.gz"
    partial = archive.with_name(archive.name + ".partial")
    storage = open_storage(runtime)
    with tempfile.TemporaryDirectory() as scratch:
        records_copy = Path(scratch) / "hub.sqlite"
        with tarfile.open(partial, "w:gz") as tar, storage.acquire_lock("r", "calhub"):
            if hub.paths.hub_db.exists():
                copy_database(hub.paths.hub_db, records_copy)
                tar.add(records_copy, arcname="hub.sqlite")
            for entry in sorted(hub.root.iterdir()):
                if (
                    _is_cache_or_live_database(entry.name)
                    or entry.resolve() == target_dir.resolve()
                ):
                    continue
                tar.add(entry, arcname=entry.name, filter=_wanted)
    partial.rename(archive)
    archive.chmod(0o600)
    logger.info("Backup written to %s", archive)
    return archive
