"""Whole-hub checks at start and index operations under Radicale's storage lock: verify,
repair, rebuild."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from typing import TYPE_CHECKING

from calhub.calendars import open_storage
from calhub.errors import UserError

if TYPE_CHECKING:
    from calhub.hub import Hub

logger = logging.getLogger(__name__)


def verify_index(hub: Hub, repair: bool) -> list[str]:
    """Differences between the index and storage; with ``repair``, fixed before returning."""
    storage = open_storage(hub)
    with storage.acquire_lock("w" if repair else "r", "calhub"):
        return hub.tracker.verify(storage, repair=repair)


def rebuild_index(hub: Hub) -> tuple[int, int, float]:
    """Rebuild from storage; returns (objects, occurrences, seconds)."""
    started = time.perf_counter()
    storage = open_storage(hub)
    with storage.acquire_lock("w", "calhub"):
        hub.tracker.rebuild(storage)
    items, occurrences = hub.tracker.index.count()
    return items, occurrences, time.perf_counter() - started


def check_hub_database(hub: Hub) -> None:
    """Refuse to serve on a damaged ``hub.sqlite`` (approvals, history): UserError.

    ``PRAGMA quick_check`` reads every page once (milliseconds for a school's records). A
    damaged file would otherwise answer 500s later, one request at a time, and an
    approval written then could be lost. A clean file has its write-ahead log folded in
    (checkpoint), so what was approved before a crash no longer depends on
    ``hub.sqlite-wal`` once the hub has started again.
    """
    path = hub.paths.hub_db
    if not path.exists():
        return  # a new hub: the records store creates it
    problem = ""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
            rows = db.execute("PRAGMA quick_check").fetchall()
            found = [str(row[0]) for row in rows]
            if found != ["ok"]:
                problem = "; ".join(found[:3])
            else:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.DatabaseError as exc:
        problem = str(exc)
    if not problem:
        logger.info("hub.sqlite passed its check")
        return
    logger.error("hub.sqlite failed its check: %s", problem)
    raise UserError(
        f"Файл {path.name} (согласования и история накладок) повреждён: {problem}. "
        f"The hub's records file {path.name} (approvals, clash history) is damaged: {problem}.",
        hint="Остановите хаб и восстановите каталог данных из резервной копии (calhub backup), "
        f"или перенесите {path.name} в сторону: хаб заведёт пустой и заново найдёт накладки, "
        "но согласования будут потеряны. / Stop the hub and restore the data directory from a "
        f"backup (calhub backup), or move {path.name} aside: the hub starts an empty one and "
        "finds the clashes again, but their approvals are lost.",
    )
