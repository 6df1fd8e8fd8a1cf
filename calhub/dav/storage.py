"""Opening Radicale's storage of a hub, as the server's own Radicale sees it (same plugins,
same folder), for the CLI and the readers that need an event's full text.

Storage is the single source of truth: the index keeps only what the clash engine needs,
so a reader that shows a description reads the object itself (:func:`read_object`), under
Radicale's shared lock, so it never sees a write half done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from radicale import storage as radicale_storage

from calhub.dav.app import radicale_configuration

if TYPE_CHECKING:
    from calhub.runtime import Runtime


# What readers outside this package hold: an opened storage, passed back to read_object.
Storage = radicale_storage.BaseStorage


def open_storage(runtime: Runtime) -> Storage:
    return radicale_storage.load(radicale_configuration(runtime))


def read_object(storage: Storage, collection_path: str, href: str) -> str | None:
    """The stored iCalendar text of one object, or None when it is not there."""
    with storage.acquire_lock("r", "calhub-web"):
        collection = next(iter(storage.discover(collection_path)), None)
        if not isinstance(collection, radicale_storage.BaseCollection):
            return None
        for _, item in collection.get_multi([href]):
            if item is not None:
                text: str = item.serialize()
                return text
    return None
