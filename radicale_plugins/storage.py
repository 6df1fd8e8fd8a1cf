"""Radicale storage that keeps the hub's index and clash records in step with every write.

Radicale calls these methods while it holds its storage write lock (a file lock shared by
every server process on the data directory), so the hub's bookkeeping runs inside that
lock too and two racing writers cannot both slip past a clash check. The real work is in
``calhub.tracker``; this module only translates Radicale's calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from radicale import config
from radicale import item as radicale_item
from radicale.storage import BaseCollection, multifilesystem

if TYPE_CHECKING:
    from calhub.hub import Hub


class Collection(multifilesystem.Collection):
    _storage: Storage

    def upload(self, href: str, item: radicale_item.Item) -> Any:
        tracker = self._storage.hub.tracker
        tracker.before_item_write(self.path, href, item)
        result = super().upload(href, item)
        tracker.after_item_write(self.path, href, item)
        return result

    def delete(self, href: str | None = None) -> None:
        super().delete(href)
        tracker = self._storage.hub.tracker
        if href is None:
            tracker.after_collection_delete(self.path)
        else:
            tracker.after_item_delete(self.path, href)

    def has_uid(self, uid: str) -> bool:
        # Radicale's default reads every item of the collection on each new PUT.
        known = self._storage.hub.tracker.has_uid(self.path, uid)
        if known is None:
            return super().has_uid(uid)
        return known


class Storage(multifilesystem.Storage):
    _collection_class = Collection

    def __init__(self, configuration: config.Configuration, hub: Hub) -> None:
        super().__init__(configuration)
        self.hub = hub

    def move(self, item: radicale_item.Item, to_collection: BaseCollection, to_href: str) -> None:
        tracker = self.hub.tracker
        assert item.collection is not None and item.href is not None
        from_path, from_href = item.collection.path, item.href
        tracker.before_item_write(
            to_collection.path, to_href, item, moved_from=(from_path, from_href)
        )
        super().move(item, to_collection, to_href)
        tracker.after_item_delete(from_path, from_href)
        tracker.after_item_write(to_collection.path, to_href, item)

    def create_collection(
        self,
        href: str,
        items: Iterable[radicale_item.Item] | None = None,
        props: Mapping[str, str] | None = None,
    ) -> Any:
        tracker = self.hub.tracker
        item_list = None if items is None else list(items)
        if item_list is not None:
            tracker.before_collection_replace(href, item_list)
        result = super().create_collection(href, item_list, props)
        if item_list is not None:
            tracker.after_collection_replace(href, item_list)
        return result
