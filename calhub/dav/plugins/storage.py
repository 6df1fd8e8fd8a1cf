"""Radicale storage that keeps the hub's index and clash records in step with every write.

Radicale calls these methods while it holds its storage write lock (a file lock shared by
every server process on the data directory), so the hub's bookkeeping runs inside that
lock too and two racing writers cannot both slip past a clash check. The real work is in
``calhub.dav.hooks``; this module only translates Radicale's calls.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from radicale import config
from radicale import item as radicale_item
from radicale.item import filter as radicale_filter
from radicale.storage import BaseCollection, multifilesystem

from calhub.dav.hooks import WriteHooks
from calhub.dav.plugins import whole_text

if TYPE_CHECKING:
    from calhub.runtime import Runtime


class Collection(multifilesystem.Collection):
    _storage: Storage

    def upload(self, href: str, item: radicale_item.Item) -> Any:
        hooks = self._storage.hooks
        hooks.before_item_write(self, href, item)
        result = super().upload(href, item)
        hooks.after_item_write(self, href, result[0])
        return result

    def delete(self, href: str | None = None) -> None:
        hooks = self._storage.hooks
        if href is not None:
            hooks.before_item_delete(self, href)
        super().delete(href)
        if href is None:
            hooks.after_collection_delete(self.path)
        else:
            hooks.after_item_delete(self.path, href)

    def _get(self, href: str, verify_href: bool = True) -> radicale_item.Item | None:
        try:
            return super()._get(href, verify_href)
        except FileNotFoundError:
            # Radicale 3.9 builds a PROPFIND answer (the collection's etag reads every item)
            # after releasing its storage lock, so a DELETE may remove a file between the
            # listing and the read: the item is gone, as Radicale says of missing files.
            return None

    def has_uid(self, uid: str) -> bool:
        # Radicale's default reads every item of the collection on each new PUT.
        known = self._storage.hooks.has_uid(self, uid)
        return super().has_uid(uid) if known is None else known

    def get_filtered(
        self, filters: Iterable[ET.Element]
    ) -> Iterator[tuple[radicale_item.Item, bool]]:
        """Radicale's time-range prefilter, with candidates from the index, not every file,
        and the index's word on which of them match."""
        filters = list(filters)
        if not self.tag:
            return
        tag, start, end, simple = radicale_filter.simplify_prefilters(filters, self.tag)
        hrefs = None
        if start > radicale_filter.TIMESTAMP_MIN or end < radicale_filter.TIMESTAMP_MAX:
            hrefs = self._storage.hooks.hrefs_in_range(self, start, end)
        if hrefs is None:
            yield from super().get_filtered(filters)
            return
        matched = dict(hrefs)
        for href, item in self.get_multi(matched):
            if item is None or (tag is not None and tag != item.component_name):
                continue
            item_start, item_end = item.time_range
            if item_start >= end or item_end <= start:
                continue
            # A sure match needs no vobject parse: Radicale then only sends the stored text.
            yield item, simple and (matched[href] or start <= item_start or item_end <= end)


class Storage(multifilesystem.Storage):
    _collection_class = Collection

    def __init__(self, configuration: config.Configuration, runtime: Runtime) -> None:
        super().__init__(configuration)
        self.runtime = runtime
        self.hooks = WriteHooks(runtime)
        # Before Radicale reads any request: SUMMARY:a, b is stored whole, not as "a".
        whole_text.install()

    def move(self, item: radicale_item.Item, to_collection: BaseCollection, to_href: str) -> None:
        hooks = self.hooks
        assert item.collection is not None and item.href is not None
        source, source_href = item.collection, item.href
        source_calendar = self.runtime.settings.calendar_by_path(source.path)
        moved_from = (source_calendar.id, item.uid) if source_calendar else None
        with hooks.moving():
            hooks.before_item_write(to_collection, to_href, item, moved_from=moved_from)
            super().move(item, to_collection, to_href)
            hooks.after_item_delete(source.path, source_href)
            moved = next(iter(to_collection.get_multi([to_href])))[1]
            if moved is not None:
                hooks.after_item_write(to_collection, to_href, moved)

    def create_collection(
        self,
        href: str,
        items: Iterable[radicale_item.Item] | None = None,
        props: Mapping[str, str] | None = None,
    ) -> Any:
        hooks = self.hooks
        item_list = None if items is None else list(items)
        if item_list is not None:
            hooks.before_collection_replace(href, item_list)
        result = super().create_collection(href, item_list, props)
        if item_list is not None:
            hooks.after_collection_replace(result[0])
        return result
