"""Rotating the audit log by age: entries older than ``[audit] keep_days`` are deleted when
the server starts and then once a day, by a thread of ``calhub serve`` beside the
notification sender (and by ``calhub audit prune``)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)

EVERY_SECONDS = 24 * 3600


def prune(runtime: Runtime) -> int:
    """Delete the entries older than the setting; returns how many."""
    keep = runtime.settings.audit_keep_days
    removed = runtime.audit.prune(keep)
    if removed:
        logger.info("Audit log: %d entries older than %d days deleted", removed, keep)
    return removed


class AuditRotation:
    """The daily prune, in a thread of its own; ``stop()`` ends it at once."""

    def __init__(self, runtime: Runtime, every: float = EVERY_SECONDS) -> None:
        self._runtime = runtime
        self._every = every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="calhub-audit-rotation", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                prune(self._runtime)
            except Exception:
                # The next day tries again; a hub that cannot write hub.sqlite says so
                # louder on its next write.
                logger.exception("Audit log rotation failed")
            finally:
                self._runtime.close()  # this thread's connection
            self._stopping.wait(self._every)
