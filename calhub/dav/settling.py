"""A write's clash bookkeeping once Radicale's storage lock is released, before the answer.

Radicale holds its storage lock through a whole PUT, DELETE or MOVE, and every other
request waits for it, a poll as much as a write. The object is stored and indexed in the
lock, and a ``reject`` calendar's clash check is made there (before the object is stored);
bringing the clash records in step is what remains, and on a busy hub it is the longest
part (issue 21: a moved event closes and opens dozens of records). So the write hooks
(:mod:`calhub.dav.hooks`) leave it here when the request came through the DAV layer, and
:class:`RefusalMapper <calhub.dav.mapper.RefusalMapper>` runs it as soon as Radicale has
answered, before the answer leaves: whoever got the answer finds the records in step.

What makes that safe outside the lock: one refresh at a time across threads and processes
(:class:`calhub.runtime.records_lock.RecordsLock`), each reading the index as one commit left
it, and a mark per write in the index (``records_deferred``) from its commit until its
records follow, so a crash in between is found at start-up and every clash scanned again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar

logger = logging.getLogger(__name__)

Work = Callable[[], None]
_queue: ContextVar[list[Work] | None] = ContextVar("calhub_settling", default=None)


def pending() -> list[Work] | None:
    """The request's queue of work for after the lock, or None outside a DAV request (a
    CLI import, a source's sync, a test's storage: those refresh in the lock)."""
    return _queue.get()


class SettleFailed(Exception):
    """Some of a request's work after the lock failed (logged): the answer is a 500, as
    when it failed in the lock, and the client sends the write again."""


@contextlib.contextmanager
def settling() -> Iterator[None]:
    """Around Radicale's handling of one request: what its writes left is done on the way
    out, in their order. A failure is logged, the rest still run, and :class:`SettleFailed`
    is raised at the end; the write itself stands, and its mark in the index has every
    clash scanned again at the next start should it not be sent again."""
    queue: list[Work] = []
    token = _queue.set(queue)
    try:
        yield
    finally:
        _queue.reset(token)
        failed = 0
        for work in queue:
            try:
                work()
            except Exception:
                failed += 1
                logger.exception("Clash records not brought in step after a write")
    if failed:
        raise SettleFailed(f"{failed} of {len(queue)}")
