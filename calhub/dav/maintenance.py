"""Whole-hub index operations under Radicale's storage lock: verify, repair, rebuild.

``calhub index verify|rebuild`` and the server's start-up call :func:`verify_index` and
:func:`rebuild_index`; the write hooks call :func:`rebuild_damaged` when they meet a
damaged index while they hold the lock, and a reader that meets one outside it gets the
index rebuilt through :func:`open_runtime`'s repair callback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from calhub.dav import locking
from calhub.dav.indexing import Indexer
from calhub.dav.known import reading_files
from calhub.dav.storage import open_storage
from calhub.dav.upgrade import upgrade
from calhub.engine.bulk import expand_all
from calhub.runtime import Runtime
from calhub.runtime.parts import expand_job
from calhub.store.index import IndexCorrupt

if TYPE_CHECKING:
    from radicale.item import Item

    from calhub.hub import Hub
    from calhub.hub.settings import CalendarSettings

logger = logging.getLogger(__name__)

_R = TypeVar("_R")


def open_runtime(hub: Hub) -> Runtime:
    """The runtime of ``hub`` whose index, found damaged by a reader, is rebuilt from
    Radicale's storage (every face opens its runtime here). A directory of an older data
    format is upgraded first (:mod:`calhub.dav.upgrade`), before any store opens it."""
    if hub.needs_upgrade:
        upgrade(hub)
    runtime = Runtime(hub)
    runtime.index.repair = lambda: _repair_index(runtime)
    return runtime


def verify_index(runtime: Runtime, repair: bool) -> list[str]:
    """Differences between the index and storage; with ``repair``, fixed before returning."""
    storage = open_storage(runtime)
    with storage.acquire_lock("w" if repair else "r", "calhub"):
        return verify(runtime, storage, repair=repair)


def rebuild_index(runtime: Runtime) -> tuple[int, int, float]:
    """Rebuild from storage; returns (objects, occurrences, seconds)."""
    started = time.perf_counter()
    storage = open_storage(runtime)
    with storage.acquire_lock("w", "calhub"):
        rebuild(runtime, storage)
    items, occurrences = runtime.index.count()
    return items, occurrences, time.perf_counter() - started


def verify(runtime: Runtime, storage: Any, repair: bool) -> list[str]:
    """Compare the index with storage; with ``repair`` rebuild what differs.

    Returns a list of human-readable differences (empty when all agree). The caller
    holds Radicale's storage lock. A damaged file (SQLite's integrity check, or an
    error reading it) is one difference; with ``repair`` it is deleted and the index
    built again from storage, without it nothing else is compared.
    """
    index = runtime.index
    with locking.holding():
        try:
            damage = index.check()
            if damage is None:
                return _verify(runtime, storage, repair)
        except IndexCorrupt as error:
            # Damage the integrity check did not see, or a file already started again.
            damage = str(error)
        if not repair:
            return [f"файл индекса повреждён / the index file is damaged ({damage})"]
        index.destroy()
        # Every calendar is re-read into the new file; that is one difference, not one
        # per calendar (the caller logs or prints each).
        _verify(runtime, storage, repair)
        return [
            "файл индекса был повреждён и построен заново из хранилища / the index file "
            f"was damaged ({damage}); rebuilt from storage"
        ]


def _verify(runtime: Runtime, storage: Any, repair: bool) -> list[str]:
    problems: list[str] = []
    indexer = Indexer(runtime)
    settings = runtime.settings
    wanted = {c.id for c in settings.calendars if not c.archived}
    for calendar_id in set(runtime.index.known_calendars()) - wanted:
        problems.append(f"{calendar_id}: indexed but no longer a hub calendar")
        if repair:
            runtime.clashes.refresh(indexer.forget_calendar(calendar_id))
    changed = False
    for calendar in settings.calendars:
        if calendar.archived:
            continue
        collection = next(iter(storage.discover(calendar.path)), None)
        if collection is None:
            problems.append(f"{calendar.id}: calendar {calendar.path} missing in storage")
            continue
        difference = indexer.compare(calendar, collection, restat=repair)
        if difference:
            problems.append(f"{calendar.id}: {difference}")
            if repair:
                indexer.reindex_calendar(calendar, collection)
                changed = True
    if runtime.index.records_pending():
        # A write was cut short between the index and the clash records.
        problems.append("clash records may lag behind the index (a write was cut short)")
    if repair and (changed or problems or runtime.clashes.rules_changed()):
        runtime.clashes.rescan_all()
    return problems


def recovering(runtime: Runtime, call: Callable[[], _R]) -> _R:
    """Make a call while the caller holds Radicale's storage lock: a damaged index found on
    the way is rebuilt from storage, once, and the call made again (each such call may be
    repeated: a check, or bookkeeping that ends in the same state)."""
    with locking.holding() as outer:
        try:
            return call()
        except IndexCorrupt:
            if outer:
                raise  # the outermost call rebuilds
            rebuild_damaged(runtime)
        return call()


def rebuild(runtime: Runtime, storage: Any) -> tuple[int, int]:
    """Empty the index and build it again from storage. Caller holds the lock.

    Every object is expanded in one batch (on all cores when there are many); returns the
    full scan's (new, resolved) clash counts.
    """
    return recovering(runtime, lambda: _rebuild(runtime, storage))


def _rebuild(runtime: Runtime, storage: Any) -> tuple[int, int]:
    index = runtime.index
    damage = index.check()
    if damage is not None:
        # Emptying a damaged file in place could leave the damage in its free pages.
        logger.warning("Index %s is damaged (%s); starting a new file", index.path, damage)
        index.destroy()
    index.clear()
    stored: list[tuple[CalendarSettings, list[Item]]] = []
    for calendar in runtime.settings.calendars:
        if calendar.archived:
            continue
        collection = next(iter(storage.discover(calendar.path)), None)
        if collection is not None:
            with reading_files():  # the files themselves, never the index being rebuilt
                stored.append((calendar, list(collection.get_all())))
    jobs = [expand_job(calendar, item.serialize()) for calendar, items in stored for item in items]
    indexer = Indexer(runtime)
    expanded = iter(expand_all(runtime.parts.config, jobs))
    for calendar, items in stored:
        rows = []
        for item in items:
            occurrences, error = next(expanded)
            rows.append(indexer.index_row(calendar, item, occurrences, error))
        indexer.write_calendar(calendar, rows)
    return runtime.clashes.rescan_all()


def rebuild_damaged(runtime: Runtime) -> None:
    """Fill a new index from storage, for a caller that holds the storage lock."""
    problems = _verify(runtime, open_storage(runtime), repair=True)
    items, occurrences = runtime.index.count()
    logger.info(
        "Index rebuilt from storage: %d objects, %d occurrences (%d calendars re-read)",
        items,
        occurrences,
        len(problems),
    )


def sound_index(runtime: Runtime) -> None:
    """For a caller that holds the storage lock and is about to write many objects (an
    import, a source sync): SQLite's integrity check of the index, and a new index built
    from storage now if the file is damaged, of an older schema or cannot be opened. A batch
    that met the damage half-way could not rebuild there (it holds the lock) and would check
    its rows against an index that lost the others' events."""
    with locking.holding():
        damage = runtime.index.check()
    if damage is None:
        recovering(runtime, runtime.index.state)  # opens it: older schemas, unreadable files
        return
    logger.warning(
        "Index %s is damaged (%s); rebuilding it from storage", runtime.index.path, damage
    )
    runtime.index.destroy()
    with locking.holding():
        rebuild_damaged(runtime)


def _repair_index(runtime: Runtime) -> bool:
    """``OccurrenceIndex.repair``: rebuild a new index now, unless this request holds the
    storage lock already (then its locked call rebuilds: locking again would wait for
    itself)."""
    if locking.depth():
        return False
    storage = open_storage(runtime)
    with storage.acquire_lock("w", "calhub"), locking.holding():
        rebuild_damaged(runtime)
    return True
