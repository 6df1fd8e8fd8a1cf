"""The sources' scheduler: a thread of ``calhub serve`` that syncs each source when due.

Every few seconds it asks the store which sources are due and takes each with
:meth:`calhub.store.sources.Sources.claim` (so two server processes on one hub never sync
the same source at once, and a process that dies mid-sync only delays it by the lease).
Each sync runs in a thread of its own, at most :data:`PARALLEL` at once, so a source that
is slow to answer never holds up the others; nothing here runs in a request thread, so no
source ever holds up the server. A failing source is retried after its interval doubled
per failure (:func:`calhub.sources.sync.backoff`); its error is kept for the dashboard.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from calhub.runtime import Runtime
from calhub.sources.sync import sync_source

__all__ = ["Scheduler"]

logger = logging.getLogger(__name__)

ROUND_SECONDS = 5.0
PARALLEL = 3


class Scheduler:
    def __init__(self, runtime: Runtime, round_seconds: float = ROUND_SECONDS) -> None:
        self.runtime = runtime
        self.round_seconds = round_seconds
        self._stop = threading.Event()
        self._slots = threading.BoundedSemaphore(PARALLEL)
        self._running: set[int] = set()
        self._running_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="calhub-sources", daemon=True)
        self._thread.start()
        logger.info("Sources: the scheduler is running")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking sources; a sync in hand finishes in its own (daemon) thread, or ends
        with the process: its lease then runs out and another process takes the source."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                # The store may be busy or damaged for a moment: the next round tries again.
                logger.exception("Sources: a scheduler round failed")
            self._stop.wait(self.round_seconds)
        self.runtime.close()

    def _lease(self) -> dt.timedelta:
        # Longer than a sync can take: the fetch's time limit, then the writes.
        return dt.timedelta(seconds=2 * self.runtime.settings.sources.timeout_seconds + 300)

    def run_once(self, now: dt.datetime | None = None) -> list[int]:
        """Start the syncs of the sources due; returns the ids started."""
        started = []
        for source_id in self.runtime.sources.due(now):
            with self._running_lock:
                if source_id in self._running:
                    continue
            if not self._slots.acquire(blocking=False):
                break  # all slots busy: the rest wait for the next round
            if not self.runtime.sources.claim(source_id, self._lease(), now):
                self._slots.release()
                continue  # another process took it
            with self._running_lock:
                self._running.add(source_id)
            thread = threading.Thread(
                target=self._sync, args=(source_id,), name=f"calhub-source-{source_id}", daemon=True
            )
            thread.start()
            started.append(source_id)
        return started

    def _sync(self, source_id: int) -> None:
        try:
            sync_source(self.runtime, source_id)
        except Exception:
            # sync_source keeps every failure as the source's error; only a source removed
            # meanwhile gets here.
            logger.warning("Sources: source %d could not be synced", source_id, exc_info=True)
        finally:
            with self._running_lock:
                self._running.discard(source_id)
            self._slots.release()
            self.runtime.close()  # this thread's database connections
