"""The start-up check of ``hub.sqlite`` and its online copy for a backup.

``hub.sqlite`` holds hub data, not cache (approvals, history, refused writes): a damaged
file stops the hub before it serves, and a backup copies it with SQLite's online backup
API, so the archive never holds a torn page.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from pathlib import Path

from calhub.errors import UserError

logger = logging.getLogger(__name__)

# What the stores raise when a database cannot be read (for readers that report it).
DatabaseError = sqlite3.Error


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of the SQLite file ``source`` at ``target``, taken while it is in use."""
    with (
        contextlib.closing(sqlite3.connect(source)) as original,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        original.backup(copy)


def check_hub_database(path: Path) -> None:
    """Refuse to serve on a damaged ``hub.sqlite`` (approvals, history): UserError.

    ``PRAGMA quick_check`` reads every page once (milliseconds for a school's records). A
    damaged file would otherwise answer 500s later, one request at a time, and an
    approval written then could be lost. A clean file has its write-ahead log folded in
    (checkpoint), so what was approved before a crash no longer depends on
    ``hub.sqlite-wal`` once the hub has started again.
    """
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
