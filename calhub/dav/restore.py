"""Restoring a hub from a ``calhub backup`` archive: checked whole before anything is
written, unpacked beside the hub, moved into place, and verified.

The order is what makes a refused archive leave the target untouched:

1. the target: a newer hub is refused (:mod:`calhub.hub.dataformat`), a non-empty one
   without ``force``, one a server is using (the format lock) always;
2. the archive, read once: a gzip tar whose members are plain files and folders with
   relative names that stay inside the hub, no more of them and no larger than the bounds
   below, with the files a hub cannot be without;
3. its hub files, unpacked into a scratch folder outside the target: the format marker,
   ``calhub.toml`` (the settings schema), ``accounts.json`` and ``hub.sqlite`` (SQLite's
   integrity check);

then it is unpacked into ``.calhub-restore-<pid>/`` in the target, what was there is moved
aside and the restored files take its place; the index (a cache, not in the archive) is
rebuilt and verified. If that fails the old files are moved back. A restore cut short
(power off) leaves what was there in ``.calhub-restore-<pid>-previous/``; nothing is deleted
before the restored hub has verified.
"""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from calhub.dav.backup import RESTORE_STAGING
from calhub.dav.maintenance import open_runtime, rebuild_index, verify_index
from calhub.dav.upgrade import upgrade
from calhub.errors import UserError
from calhub.hub import Hub, dataformat
from calhub.hub.accounts import ACCOUNTS_NAME, AccountStore
from calhub.hub.settings import CONFIG_NAME, load_settings
from calhub.store.health import check_hub_database

logger = logging.getLogger(__name__)

# Bounds a school's hub stays far below (a 10,000-event calendar is ~20 MB): an archive
# past them is not one of ours, or is made to fill the disk.
MAX_MEMBERS = 500_000
MAX_MEMBER_BYTES = 1024**3
MAX_TOTAL_BYTES = 20 * 1024**3
# What every hub has; an archive without them is not a calhub backup.
REQUIRED_FILES = (CONFIG_NAME, ACCOUNTS_NAME)
STORAGE = "storage"
HUB_DB = "hub.sqlite"
# Checked in the scratch folder before the target is touched.
HUB_FILES = (dataformat.FORMAT_NAME, CONFIG_NAME, ACCOUNTS_NAME, HUB_DB)
# Caches a hand-made archive may hold: rebuilt, never restored.
CACHES = ("index.sqlite",)

# What a damaged or truncated gzip stream raises while tarfile reads it.
_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError, UnicodeDecodeError)


@dataclass(frozen=True)
class Restored:
    root: Path
    events: int
    occurrences: int
    replaced: bool


def _refused(archive: Path, problem: str) -> UserError:
    return UserError(
        f"{archive} is not a usable calhub backup: {problem}.",
        hint="Nothing was changed. Use another archive written by 'calhub backup' (the "
        "nightly ones are in the timer's directory, e.g. /var/backups/calhub).",
    )


def _member_name(info: tarfile.TarInfo) -> str | None:
    """The member's path inside the hub, or None when it would leave it."""
    name = info.name
    if not name or "\0" in name or "\\" in name:
        return None
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("..", "") for part in path.parts):
        return None
    return path.as_posix()


def check_archive(archive: Path) -> list[tarfile.TarInfo]:
    """The members to restore, after every check that needs only the headers."""
    members: list[tarfile.TarInfo] = []
    names: set[str] = set()
    total = 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for info in tar:
                name = _member_name(info)
                if name is None:
                    raise _refused(archive, f"the member {info.name!r} points outside the hub")
                if not (info.isfile() or info.isdir()):
                    raise _refused(archive, f"{name!r} is a link or a device, not a plain file")
                if name in names:
                    raise _refused(archive, f"{name!r} is in it twice")
                if info.size > MAX_MEMBER_BYTES:
                    raise _refused(archive, f"{name!r} is larger than {MAX_MEMBER_BYTES} bytes")
                total += info.size
                names.add(name)
                if len(names) > MAX_MEMBERS or total > MAX_TOTAL_BYTES:
                    raise _refused(
                        archive,
                        f"it holds more than {MAX_MEMBERS} files or {MAX_TOTAL_BYTES} bytes",
                    )
                if not name.startswith(CACHES):
                    members.append(info)
    except _READ_ERRORS as exc:
        raise _refused(archive, f"it cannot be read as a .tar.gz ({exc})") from exc
    missing = [name for name in REQUIRED_FILES if name not in names]
    if not any(name == STORAGE or name.startswith(STORAGE + "/") for name in names):
        missing.append(STORAGE + "/")
    if missing:
        raise _refused(archive, f"it has no {', '.join(missing)}")
    return members


def _extract(archive: Path, members: list[tarfile.TarInfo], into: Path) -> None:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            # The "data" filter refuses once more what check_archive refused, and drops
            # owners and modes the archive may carry.
            tar.extractall(into, members=members, filter="data")
    except _READ_ERRORS as exc:
        raise _refused(archive, f"it cannot be unpacked ({exc})") from exc


def check_hub_files(archive: Path, members: list[tarfile.TarInfo]) -> int:
    """Unpack the hub's own files to a scratch folder and check them; their format."""
    wanted = [info for info in members if info.name in HUB_FILES]
    with tempfile.TemporaryDirectory(prefix="calhub-restore-") as scratch:
        folder = Path(scratch)
        _extract(archive, wanted, folder)
        try:
            version = dataformat.check_format(folder)
            load_settings(folder)
            list(AccountStore(folder / ACCOUNTS_NAME))
            check_hub_database(folder / HUB_DB)
        except UserError as exc:
            problem = exc.message.replace(str(folder) + "/", "").replace(str(folder), "")
            raise _refused(archive, problem.rstrip(".")) from exc
    return version


def _check_target(root: Path, archive: Path, force: bool) -> bool:
    """Whether there is something to replace; refuses what must not be replaced."""
    if (root / CONFIG_NAME).exists():
        dataformat.check_format(root)
    if not archive.is_file():
        raise UserError(
            f"There is no backup archive {archive}.",
            hint="Name a calhub-backup-*.tar.gz written by 'calhub backup'.",
        )
    entries = [e for e in root.iterdir() if e.name != dataformat.LOCK_NAME] if root.exists() else []
    if entries and not force:
        what = "a hub" if (root / CONFIG_NAME).exists() else f"{len(entries)} entries"
        raise UserError(
            f"{root} is not empty (it holds {what}); a restore would replace it.",
            hint="Restore into a new directory (--data NEWDIR), or add --force to replace "
            "this one (stop the server first; what is there now is lost).",
        )
    return bool(entries)


def _move_all(source: Path, target: Path, keep: tuple[str, ...], moved: list[str]) -> None:
    """Move the entries of ``source`` into ``target``, noting each in ``moved`` as it goes."""
    for entry in sorted(source.iterdir()):
        if entry.name in keep or entry.name.startswith(RESTORE_STAGING):
            continue
        entry.rename(target / entry.name)
        moved.append(entry.name)


def _remove_all(root: Path) -> None:
    for entry in root.iterdir():
        if entry.name == dataformat.LOCK_NAME or entry.name.startswith(RESTORE_STAGING):
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def restore(archive: Path, root: Path, force: bool = False) -> Restored:
    """Restore the backup ``archive`` into the data directory ``root``."""
    replaced = _check_target(root, archive, force)
    members = check_archive(archive)
    check_hub_files(archive, members)
    root.mkdir(parents=True, exist_ok=True)
    with dataformat.format_lock(root, timeout=2.0):
        staging = root / f"{RESTORE_STAGING}{os.getpid()}"
        previous = root / f"{RESTORE_STAGING}{os.getpid()}-previous"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            _extract(archive, members, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        previous.mkdir()
        aside: list[str] = []
        try:
            _move_all(root, previous, keep=(dataformat.LOCK_NAME,), moved=aside)
        except BaseException:
            # Only what had moved goes back; the rest never left.
            for name in aside:
                (previous / name).rename(root / name)
            previous.rmdir()
            shutil.rmtree(staging, ignore_errors=True)
            raise
        try:
            _move_all(staging, root, keep=(), moved=[])
            staging.rmdir()
            events, occurrences = _settle(root)
        except BaseException:
            logger.error("The restore did not complete; putting back what was there")
            # The old hub is whole in ``previous``: everything in root now is the
            # restore's (its files, the index and write-ahead logs it opened).
            _remove_all(root)
            _move_all(previous, root, keep=(), moved=[])
            previous.rmdir()
            shutil.rmtree(staging, ignore_errors=True)
            raise
        shutil.rmtree(previous)
    logger.info("Restored %s into %s", archive, root)
    return Restored(root, events, occurrences, replaced)


def _settle(root: Path) -> tuple[int, int]:
    """Upgrade the restored files (the archive is the backup), rebuild the index, verify."""
    hub = Hub(root)
    if hub.needs_upgrade:
        # Under the restore's own lock (the upgrade's would wait for it).
        upgrade(hub, backup_first=False, locked=True)
    runtime = open_runtime(hub)
    try:
        rebuild_index(runtime)
        problems = verify_index(runtime, repair=False)
        if problems:
            raise UserError(
                f"The restored hub does not verify: {'; '.join(problems)}.",
                hint="What was in the directory before is back as it was. Try an older "
                "backup, or report this with the archive.",
            )
        return runtime.index.count()
    finally:
        runtime.close()
