"""Fewer malloc arenas for the threaded server, so memory from large responses is reused.

glibc gives threads that allocate at the same time arenas of their own (up to eight per
core) and seldom hands their memory back. The server runs each request on whichever of its
worker threads is free (waitress, like cheroot before it), so after a few large responses
(a GET or calendar-query of a 10,000-event calendar builds some 14-25 MB each) every
worker's arena has grown to that size. Python keeps small objects in its own process-wide
allocator; it is the large buffers that land in the per-thread arenas.

Measured with cheroot's 16 threads: 337 MB after ten such responses with glibc's default,
159 MB with two arenas. Measured again with waitress's 8 threads (``python -m
bench.arena_bench --events 10000``: 4 clients, 24 whole-calendar answers): peak 279 MB and
220 MB after with two arenas, 370 and 319 MB with sixteen, so the limit is kept.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

logger = logging.getLogger(__name__)

# mallopt's parameter number for the arena limit, from glibc's <malloc.h>.
_M_ARENA_MAX = -8
ARENAS = 2


def limit_malloc_arenas(count: int = ARENAS) -> bool:
    """Ask glibc for at most ``count`` arenas; True if it agreed.

    Call before the server's threads start. An operator's own ``MALLOC_ARENA_MAX`` wins,
    and other C libraries (musl, macOS) are left alone.
    """
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    agreed = bool(mallopt(_M_ARENA_MAX, count))
    logger.debug("malloc arenas limited to %d: %s", count, agreed)
    return agreed
