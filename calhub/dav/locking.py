"""Whether this call runs inside Radicale's storage write lock, held by this very request.

The write hooks, ``calhub index verify`` and a rebuild run while their caller holds the lock;
a damaged index found on the way is rebuilt from storage there and then. A damaged index
found by a reader outside the lock is rebuilt by taking the lock first, which a caller
already holding it must not do: it would wait for itself. The depth of nested locked calls
lives in a context variable, so each request (each thread, each task) has its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

_depth: ContextVar[int] = ContextVar("calhub_storage_lock_depth", default=0)


def depth() -> int:
    """How many calls made under the storage lock this context is in (0: none)."""
    return _depth.get()


@contextlib.contextmanager
def holding() -> Iterator[int]:
    """Mark the calls inside as made under the storage lock; yields the depth before."""
    before = _depth.get()
    token = _depth.set(before + 1)
    try:
        yield before
    finally:
        _depth.reset(token)
