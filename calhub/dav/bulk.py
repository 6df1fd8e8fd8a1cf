"""Storing many objects at once (a spreadsheet import) through the CalDAV write path.

Everything happens under one hold of Radicale's storage write lock: the caller sees what
is stored (the objects carrying its marker), decides what to write with that view, and the
writes follow before any other writer gets in, so what the caller checked is what it
writes over. Each object is uploaded through the storage plugin like a PUT, so the write
hooks run for each: a ``reject`` calendar's clash check, the index, the clash records.
An object is created or replaced by its UID (at the href the index knows, else
``<uid>.ics``) and deleted by href.

**Checked once.** A :class:`Put` may carry the Radicale item and the occurrences its check
made (:func:`check_object`, the expansion): the write then uploads that item and the write
hooks take those occurrences instead of parsing and expanding the text again, and the
clash records are brought up to date once for the whole batch, not once per object
(``WriteHooks.batch``): for a sheet of thousands of rows each of these cost as much as
the check itself.

With ``atomic`` a refusal half-way undoes the writes made before it (the replaced objects
are stored back, new ones deleted), so a refused import leaves storage as it found it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from radicale import item as radicale_item
from radicale import storage as radicale_storage

from calhub.dav import locking
from calhub.dav.actor import Actor, acting, current_actor
from calhub.dav.edit import _item
from calhub.dav.maintenance import sound_index
from calhub.dav.plugins.storage import Storage as HubStorage
from calhub.dav.refusal import WriteRefused
from calhub.dav.storage import open_storage
from calhub.errors import UserError

if TYPE_CHECKING:
    from calhub.engine import Occurrence
    from calhub.hub.settings import CalendarSettings
    from calhub.runtime import Runtime

__all__ = ["Batch", "BatchResult", "Put", "Stored", "check_object", "write_batch"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Stored:
    """An object already in storage that carries the caller's marker."""

    calendar: str
    uid: str
    href: str
    text: str


@dataclass(frozen=True, slots=True)
class Put:
    """Create or replace the object of ``uid`` in ``calendar`` with ``text``."""

    calendar: CalendarSettings
    uid: str
    text: str
    tag: object = None  # the caller's (a row number), handed back with a refusal
    href: str | None = None  # for a new object; None: ``<uid>.ics``
    # What check_object made of ``text`` and its expansion: written as they are (None: the
    # text is checked and expanded again by the write).
    item: radicale_item.Item | None = None
    occurrences: Sequence[Occurrence] | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    puts: Sequence[Put] = ()
    deletes: Sequence[Stored] = ()


@dataclass
class BatchResult:
    written: int = 0
    deleted: int = 0
    refused: list[tuple[Put, WriteRefused]] = field(default_factory=list)
    undone: bool = False


def check_object(runtime: Runtime, calendar: CalendarSettings, text: str) -> radicale_item.Item:
    """The item a PUT of ``text`` would store, or the :class:`WriteRefused` it would get for
    its data alone."""
    return _item(runtime, calendar, text)


def write_batch(
    runtime: Runtime,
    calendars: Sequence[CalendarSettings],
    marker: str,
    decide: Callable[[dict[tuple[str, str], Stored]], Batch | None],
    *,
    login: str = "calhub-import",
    atomic: bool = True,
    one_transaction: bool = False,
) -> BatchResult | None:
    """Under the write lock: read the objects of ``calendars`` whose text holds ``marker``,
    let ``decide`` choose the writes (None: write nothing, a dry run or a refusal), do them.

    ``one_transaction``: the index rows of all the writes go in one transaction at the end
    (for writes checked in ``record`` mode only: the mirror's,
    :meth:`calhub.dav.hooks.WriteHooks.one_transaction`). In any case the clash records are
    brought up to date once for the whole batch (:meth:`calhub.dav.hooks.WriteHooks.batch`)."""
    storage = open_storage(runtime)
    if not isinstance(storage, HubStorage):
        raise TypeError("the hub's storage plugin is not configured")  # a wiring fault
    # The audit entries name the caller announced (the website's coordinator, the CLI's
    # user), else ``login``.
    actor = current_actor() or Actor(login, "", "import")
    with (
        acting(actor.login, actor.address, actor.via, actor.note),
        storage.acquire_lock("w", login),
    ):
        # Checked here, under the lock, and rebuilt now if damaged: later in the batch,
        # damage raises instead (a rebuild from inside would wait for this very lock).
        sound_index(runtime)
        with locking.holding(), storage.hooks.batch():
            collections = {c.id: _collection(storage, c) for c in calendars}
            stored: dict[tuple[str, str], Stored] = {}
            for calendar_id, collection in collections.items():
                for item in collection.get_all():
                    text = item.serialize()
                    if marker in text and item.href is not None:
                        key = (calendar_id, str(item.uid))
                        stored[key] = Stored(calendar_id, str(item.uid), item.href, text)
            batch = decide(stored)
            if batch is None:
                return None
            if not one_transaction:
                return _apply(runtime, storage, collections, stored, batch, atomic)
            with storage.hooks.one_transaction():
                return _apply(runtime, storage, collections, stored, batch, atomic)


def _apply(
    runtime: Runtime,
    storage: HubStorage,
    collections: dict[str, radicale_storage.BaseCollection],
    stored: dict[tuple[str, str], Stored],
    batch: Batch,
    atomic: bool,
) -> BatchResult:
    result = BatchResult()
    done: list[tuple[CalendarSettings, str, str | None]] = []  # (calendar, href, old text)
    for put in batch.puts:
        collection = collections[put.calendar.id]
        old = stored.get((put.calendar.id, put.uid))
        href = old.href if old else runtime.index.href_of(put.calendar.id, put.uid)
        href = href or put.href or f"{put.uid}.ics"
        try:
            item = put.item or _item(runtime, put.calendar, put.text)
            if put.occurrences is not None:
                storage.hooks.expect(put.calendar.id, href, item, put.occurrences)
            collection.upload(href, item)
        except WriteRefused as refusal:
            result.refused.append((put, refusal))
            if atomic:
                _undo(runtime, collections, done)
                # Storage is as the batch found it: no audit entries for what was undone.
                storage.hooks.forget_audit()
                result.undone = True
                return result
            continue
        done.append((put.calendar, href, old.text if old else None))
        result.written += 1
    for gone in batch.deletes:
        collections[gone.calendar].delete(gone.href)
        result.deleted += 1
    return result


def _undo(
    runtime: Runtime,
    collections: dict[str, radicale_storage.BaseCollection],
    done: list[tuple[CalendarSettings, str, str | None]],
) -> None:
    for calendar, href, old_text in reversed(done):
        collection = collections[calendar.id]
        try:
            if old_text is None:
                collection.delete(href)
            else:
                collection.upload(href, _item(runtime, calendar, old_text))
        except WriteRefused:
            logger.exception("Could not undo the import's write of %s%s", calendar.path, href)
    logger.warning("An import was refused half-way; %d writes undone", len(done))


def _collection(
    storage: radicale_storage.BaseStorage, calendar: CalendarSettings
) -> radicale_storage.BaseCollection:
    collection = next(iter(storage.discover(calendar.path)), None)
    if not isinstance(collection, radicale_storage.BaseCollection):
        raise UserError(
            f"Календаря {calendar.id} нет в хранилище. / Calendar {calendar.id} is not in storage.",
            hint="Run 'calhub partner add' or 'calhub init' first.",
        )
    return collection
