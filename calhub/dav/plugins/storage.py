"""Radicale storage that keeps the hub's index and clash records in step with every write.

Radicale calls these methods while it holds its storage write lock (a file lock shared by
every server process on the data directory), so the hub's bookkeeping runs inside that
lock too and two racing writers cannot both slip past a clash check. The real work is in
``calhub.dav.hooks``; this module only translates Radicale's calls.
"""

from __future__ import annotations

import contextlib
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from radicale import config, pathutils
from radicale import item as radicale_item
from radicale.item import filter as radicale_filter
from radicale.storage import BaseCollection, multifilesystem

from calhub.dav.history import HistoryBook
from calhub.dav.hooks import WriteHooks
from calhub.dav.known import IndexedFileItem, Listing, files_only, read_known
from calhub.dav.plugins import whole_text
from calhub.store.index import IndexCorrupt, KnownFile

if TYPE_CHECKING:
    from calhub.runtime import Runtime


# Older tokens whose sync answer a listing keeps (each phone asks from the one it has).
KEPT_OLD_TOKENS = 16


class Collection(multifilesystem.Collection):
    _storage: Storage

    def __init__(self, storage_: Storage, path: str, filesystem_path: str | None = None) -> None:
        super().__init__(storage_, path, filesystem_path)
        # Only the calendar's own folder has its history in the index (not the temporary
        # folder of a calendar being replaced whole).
        self._history: HistoryBook | None = None
        self._listed: tuple[Listing | None] | None = None
        if filesystem_path is None:
            self._history = storage_.hooks.history_book(self.path, self._history_folder())

    def _history_folder(self) -> str:
        folder: str = self._storage._get_collection_cache_subfolder(
            self._filesystem_path, ".Radicale.cache", "history"
        )
        return folder

    def wrote(self) -> None:
        """This object changed its folder: what it listed before is not the folder now.
        (Per object, not Radicale's process-wide lock state: another thread's write must
        not send every poll of the process back to the files.)"""
        self._listed = None

    def upload(self, href: str, item: radicale_item.Item) -> Any:
        hooks = self._storage.hooks
        hooks.before_item_write(self, href, item)
        self.wrote()
        result = super().upload(href, item)
        self.wrote()  # (and nothing listed while the file was being replaced is kept)
        hooks.after_item_write(self, href, result[0])
        return result

    def delete(self, href: str | None = None) -> None:
        hooks = self._storage.hooks
        if href is not None:
            hooks.before_item_delete(self, href)
        self.wrote()
        super().delete(href)
        self.wrote()
        if href is None:
            hooks.after_collection_delete(self.path)
        else:
            hooks.after_item_delete(self.path, href)

    def _get(self, href: str, verify_href: bool = True) -> radicale_item.Item | None:
        listed = self._listed
        if listed is not None and listed[0] is not None and not files_only():
            # Listed from the index by this very object, which has not written since.
            entry = listed[0].by_href.get(href)
            if entry is not None:
                return IndexedFileItem(self, entry[0], entry[1], self._text_of)
        return self._get_stored(href, verify_href)

    def _get_stored(self, href: str, verify_href: bool) -> radicale_item.Item | None:
        """Radicale's own read of one object's file (its item cache)."""
        try:
            return super()._get(href, verify_href)
        except FileNotFoundError:
            # Radicale 3.9 builds a PROPFIND answer (the collection's etag reads every item)
            # after releasing its storage lock, so a DELETE may remove a file between the
            # listing and the read: the item is gone, as Radicale says of missing files.
            return None

    def _listing(self) -> Listing | None:
        # Kept for this collection object (one request's) unless it writes, as Radicale
        # keeps its own etag and properties: a PROPFIND asks for the ctag and the
        # sync-token of one object, each of which lists the items.
        if files_only():
            return None  # the index is being checked against the files, or rebuilt
        if self._listed is None:
            hooks = self._storage.hooks
            self._listed = (hooks.listing(self, self._storage._max_resource_size),)
        return self._listed[0]

    def get_all(self) -> Iterator[radicale_item.Item]:
        """Every item, from the index when it provably holds the folder as it is (the
        etags, UIDs and time ranges without reading a file; a text when asked for)."""
        listing = self._listing()
        if listing is None:
            yield from super().get_all()
            return
        for known, mtime in listing.entries:
            yield IndexedFileItem(self, known, mtime, self._text_of)

    def _list(self) -> Iterator[str]:
        # A Depth-1 PROPFIND lists the folder, then asks _get for every name: both from
        # the index when it holds the folder as it is.
        listing = self._listing()
        if listing is None:
            yield from super()._list()
            return
        for known, _ in listing.entries:
            yield known.href

    def get_multi(self, hrefs: Iterable[str]) -> Iterator[tuple[str, radicale_item.Item | None]]:
        """A multiget's objects (and a GET's, a time-range REPORT's candidates): each whose
        file holds what the index knows is read once, without Radicale's listing of the
        whole folder and its item cache; from the first one that does not, Radicale's own
        path, in the order asked."""
        wanted = list(hrefs)
        rows = self._storage.hooks.known_files(self, wanted) if wanted else None
        if rows is None:
            yield from super().get_multi(wanted)
            return
        max_size = self._storage._max_resource_size
        for number, href in enumerate(wanted):
            known = rows.get(href)
            found = None
            if known is not None:
                found = read_known(self._filesystem_path, known, max_size, self._encoding)
            if known is None or found is None:
                yield from super().get_multi(wanted[number:])
                return
            text, mtime = found
            yield href, IndexedFileItem(self, known, mtime, self._text_of, text=text)

    def _text_of(self, known: KnownFile) -> str | None:
        """An indexed object's text, asked for after it was listed: read at once if its
        file holds what was indexed, else as Radicale reads it."""
        found = read_known(
            self._filesystem_path, known, self._storage._max_resource_size, self._encoding
        )
        if found is not None:
            return found[0]
        stored = self._get_stored(known.href, verify_href=False)
        return None if stored is None else stored.serialize()

    @property
    def etag(self) -> str:
        # Radicale's ctag hashes every item's etag: from the index, without the items.
        listing = self._listing()
        if listing is None:
            return str(super().etag)
        return listing.ctag(self.get_meta())

    # -- Radicale's sync history, through the index (calhub.dav.history) -------------------

    def sync(self, old_token: str = "") -> tuple[str, Iterable[str]]:
        if self._history is None:
            return super().sync(old_token)
        listing = self._listing()
        # Taken before Radicale reads the history: a change meanwhile moves it past this.
        generation = None
        if listing is not None:
            generation = self._storage.hooks.folder_generation(self._history_folder())
        if listing is not None and generation is not None:
            kept = listing.synced.get(generation)
            if kept is not None:
                answer = self._kept_sync(old_token, *kept)
                if answer is not None:
                    return answer
            since = listing.synced_from.get((generation, old_token))
            if since is not None:
                answer = self._kept_sync_from(old_token, *since)
                if answer is not None:
                    return answer
        with self._history.batch():
            token, changes = super().sync(old_token)
            hrefs = tuple(changes)
        if listing is not None and generation is not None:
            if not old_token:
                # Without a token every href of Radicale's state is a change, in its order.
                listing.synced[generation] = (token, hrefs)
            elif old_token != token and len(listing.synced_from) < KEPT_OLD_TOKENS:
                listing.synced_from[(generation, old_token)] = (token, hrefs)
        return token, list(hrefs)

    def _kept_sync_from(
        self, old_token: str, token: str, hrefs: tuple[str, ...]
    ) -> tuple[str, Iterable[str]] | None:
        """Radicale's answer to a sync from an older token, computed before on the same
        files and history: what it compared (the old token's stored state, the current
        state) is the same, so are the changes. As Radicale, the old token's file must
        still be there, and the new one's is touched; None if either is gone."""
        if not os.path.isfile(self._token_file(old_token)):
            return None  # cleaned since: Radicale answers that the token is not found
        return (token, hrefs) if self._touched(token) else None

    def _kept_sync(
        self, old_token: str, token: str, hrefs: tuple[str, ...]
    ) -> tuple[str, Iterable[str]] | None:
        """Radicale's answer from a token computed on the same files and history (a
        phone's poll asks for the token with none, or with the one it has): None for
        anything else, which Radicale's own ``sync`` answers."""
        if old_token == token:
            return token, []  # Radicale: nothing changed, before it looks at token files
        if old_token:
            return None  # an older token: Radicale compares the states it stored
        if not self._touched(token):
            return None  # never stored (or cleaned since): Radicale writes its state
        return token, hrefs  # (a tuple: callers only iterate, and a copy grows with the size)

    def _token_file(self, token: str) -> str:
        """Where Radicale keeps the state a sync-token stands for."""
        folder = self._storage._get_collection_cache_subfolder(
            self._filesystem_path, ".Radicale.cache", "sync-token"
        )
        return os.path.join(folder, token.rpartition("/")[2])

    def _touched(self, token: str) -> bool:
        """As Radicale does for a token it has stored: its age counts from its last use.
        False if its file is not there."""
        try:
            os.utime(self._token_file(token))
        except FileNotFoundError:
            return False
        return True

    def _update_history_etag(self, href: str, item: radicale_item.Item | None) -> str:
        book = self._history
        etag = item.etag if item else ""
        known = None
        if book is not None:
            try:
                known = book.known(href)
            except IndexCorrupt:
                book = None
            else:
                if known is not None and known[0] == etag:
                    return known[1]
        history_etag = str(super()._update_history_etag(href, item))  # type: ignore[no-untyped-call]
        # Radicale wrote the file unless the object had no history and is gone.
        if book is not None and (etag or known is not None):
            with contextlib.suppress(IndexCorrupt):
                book.wrote(href, etag, history_etag)
        return history_etag

    def _get_deleted_history_hrefs(self) -> Iterator[str]:
        # Radicale asks os.path.isfile of every history entry (every object ever stored,
        # on each write once a client has synced): one listing of the folder instead.
        # entry.is_file() follows symlinks as isfile does.
        with os.scandir(self._filesystem_path) as entries:
            files = {entry.name for entry in entries if entry.is_file()}
        with contextlib.suppress(FileNotFoundError), os.scandir(self._history_folder()) as found:
            for entry in found:
                name = entry.name
                if name not in files and pathutils.is_safe_filesystem_path_component(name):
                    yield name

    def _clean_history(self) -> None:
        """Radicale's cleaning of expired history entries of deleted objects, with the
        deleted objects from the index instead of a look at every history entry."""
        book = self._history
        if book is None:
            super()._clean_history()  # type: ignore[no-untyped-call]
            return
        try:
            deleted = book.deleted()
        except IndexCorrupt:
            super()._clean_history()  # type: ignore[no-untyped-call]
            book.untrusted()
            return
        candidates = [
            href
            for href in deleted
            if not os.path.isfile(os.path.join(self._filesystem_path, href))
        ]
        if not candidates:
            return
        folder = self._history_folder()
        self._clean_cache(folder, candidates, max_age=self._max_sync_token_age)
        gone = [href for href in candidates if not os.path.lexists(os.path.join(folder, href))]
        if gone:
            with contextlib.suppress(IndexCorrupt):
                book.forgot(gone)

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
            for changed in (source, to_collection):
                if isinstance(changed, Collection):
                    changed.wrote()
            super().move(item, to_collection, to_href)
            for changed in (source, to_collection):
                if isinstance(changed, Collection):
                    changed.wrote()
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
