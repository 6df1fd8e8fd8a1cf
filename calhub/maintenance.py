"""Whole-hub index operations under Radicale's storage lock: verify, repair, rebuild."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from calhub.calendars import open_storage

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
