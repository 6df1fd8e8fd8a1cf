"""Every hub.sqlite store's SQLite connection keeps a small page cache of its own (issue 21):
a server opens one per store per worker thread, and at SQLite's default each filled 2 MB
with copies of pages the operating system caches anyway. The index keeps the default."""

from __future__ import annotations

import threading
from typing import Any

from calhub.hub import Hub
from calhub.runtime import Runtime
from calhub.store.sqlitedb import ThreadLocalDatabase

STORES = Runtime.STORES


def cache_kib(store: ThreadLocalDatabase) -> int:
    (value,) = store.db.execute("PRAGMA cache_size").fetchone()
    # A negative cache_size is in KiB; a positive one would be pages.
    assert value < 0, value
    return int(-value)


def test_every_store_connection_has_the_small_cache(module_hubs: Any) -> None:
    runtime = Runtime(Hub(module_hubs.create()))
    try:
        stores = {name: getattr(runtime, name) for name in STORES}
        assert all(isinstance(s, ThreadLocalDatabase) for s in stores.values())
        expected = {name: type(s).CACHE_KIB for name, s in stores.items()}
        assert {name: cache_kib(s) for name, s in stores.items()} == expected
        # hub.sqlite's stores below SQLite's default of 2,000 KiB; the index keeps it.
        assert {n: k for n, k in expected.items() if n != "index"} == dict.fromkeys(
            set(STORES) - {"index"}, 512
        )
        assert expected["index"] == 2000

        # A worker thread's own connections too (each thread opens its own).
        found: dict[str, int] = {}

        def in_thread() -> None:
            for name, store in stores.items():
                found[name] = cache_kib(store)
                store.close()

        worker = threading.Thread(target=in_thread)
        worker.start()
        worker.join(timeout=60)
        assert found == expected
    finally:
        runtime.close()
