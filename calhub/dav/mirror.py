"""Mirrored events: the marker they carry, who may write them, and the refusal of others.

An event mirrored in from an external calendar (:mod:`calhub.sources`) carries
``X-CALHUB-SOURCE:<source id>``. Only the mirror itself changes or deletes it: a phone's
PUT, MOVE or DELETE of such an event, a PUT of a new object that carries the marker, and a
website edit are refused with the source named, since the next sync would undo the change
anyway (the place to change the event is the source).

The mirror writes inside :func:`mirror_writes`, a context variable the write hooks read
(:mod:`calhub.dav.hooks`): they then let the marked objects of that one source through and
check them for clashes in ``record`` mode whatever the calendar's policy, so a mirrored
event is never refused for a clash, only recorded.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

from calhub.dav.refusal import DAV_NS, WriteRefused, error_xml

if TYPE_CHECKING:
    from calhub.dav.storage import Storage
    from calhub.runtime import Runtime

__all__ = ["DIGEST", "MARKER", "MIRRORED", "mirror_writes", "mirroring", "refusal", "source_of"]

MARKER = "X-CALHUB-SOURCE"
# What a mirrored event carries beside the marker: the digest the mirror compares, and, in
# a feed the hub publishes, the mark that it is a copy (so another hub never mirrors it back).
DIGEST = "X-CALHUB-DIGEST"
MIRRORED = "X-CALHUB-MIRRORED"
# Read from the text: parsing each stored object to find the marker would cost far more.
_MARKER_LINE = re.compile(rf"^{MARKER}(?:;[^:\r\n]*)?:[ \t]*(\d+)[ \t]*\r?$", re.MULTILINE)

# The source the mirror is writing for, from the sync (calhub.sources) to the storage
# hooks under it; None for every other writer.
_writing: ContextVar[int | None] = ContextVar("calhub_mirror_source", default=None)


@contextlib.contextmanager
def mirror_writes(source_id: int) -> Iterator[None]:
    """Writes inside are the mirror's, for ``source_id``."""
    token = _writing.set(source_id)
    try:
        yield
    finally:
        _writing.reset(token)


def mirroring() -> int | None:
    """The source the current writer mirrors, or None (a phone, the website, an import)."""
    return _writing.get()


def source_of(text: str) -> int | None:
    """The source an object's text is marked with, or None for an event written here."""
    if MARKER not in text:
        return None
    match = _MARKER_LINE.search(text.replace("\r\n ", "").replace("\r\n\t", ""))
    return int(match[1]) if match else None


def describe(runtime: Runtime, source_id: int) -> str:
    """The source in words for a refusal: its number and address (no query: a secret
    address carries its key there)."""
    source = runtime.sources.get(source_id)
    if source is None:
        return f"№ {source_id}"
    return f"№ {source_id} ({source.url.split('?', 1)[0]})"


def refusal(runtime: Runtime, source_id: int) -> WriteRefused:
    """403: the event is a mirror of ``source_id`` and changes only there."""
    named = describe(runtime, source_id)
    text = (
        f"Событие не изменено: это копия события из внешнего календаря (источник {named}); "
        "изменяйте его там, хаб обновит копию при следующей синхронизации.\n"
        f"The event was not changed: it is mirrored from an external calendar (source "
        f"{named}); change it there, and the hub updates its copy at the next sync.\n"
    )
    return WriteRefused(403, text, error_xml(DAV_NS, "need-privileges", text))


class DeleteGuard:
    """``RefusalMapper``'s check of a DELETE: a mirrored event is refused before Radicale
    sees the request (the storage hook refuses it too, under the lock, should it be
    mirrored in the meantime)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._storage: Storage | None = None

    def __call__(self, path: str, login: str) -> None:
        from calhub.dav.storage import open_storage, read_object

        folder, _, name = path.rpartition("/")
        if not name or self.runtime.settings.calendar_by_path(folder) is None:
            return  # a collection, or not a hub calendar: Radicale's own answer
        if not self.runtime.policy.may_write_events(login, folder + "/"):
            return  # Radicale answers 403 without telling what the object is
        if self._storage is None:
            self._storage = open_storage(self.runtime)  # one for the process, as Radicale's
        text = read_object(self._storage, folder + "/", name)
        source = None if text is None else source_of(text)
        if source is not None:
            raise refusal(self.runtime, source)
