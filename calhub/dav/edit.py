"""Writing events from the website, through the same path as a phone's PUT.

The dashboard creates, edits and moves events (the coordinator's desk, issue 14's free
slots): it reads the stored object, changes what the form asked for
(:mod:`calhub.dav.eventtext`: every other property kept), and stores the object with
Radicale's storage API. That upload runs the storage plugin, so the write hooks check it for
clashes (a ``reject`` calendar refuses a new hard clash with
:class:`~calhub.dav.refusal.WriteRefused`), index it and bring the clash records up to
date, exactly as for a CalDAV PUT; a phone's next sync sees the new ETag.

The caller says which version it showed (the ETag): an object changed since is not
overwritten (:class:`EditConflict`), as ``If-Match`` guards a PUT. Who may change a
calendar is the policy's word (``Policy.may_write_events``), the same Radicale's rights
plugin asks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from radicale import item as radicale_item
from radicale import storage as radicale_storage

from calhub.dav.actor import acting, current_actor
from calhub.dav.eventtext import (
    EventFields,
    OccurrenceGone,
    edited_text,
    moved_text,
    new_event_text,
)
from calhub.dav.indexing import PARSER_ERRORS
from calhub.dav.mirror import describe, source_of
from calhub.dav.precheck import body_limits
from calhub.dav.refusal import WriteRefused
from calhub.engine import InvalidCalendarData
from calhub.engine.precheck import check_body
from calhub.errors import CalhubError, UserError

if TYPE_CHECKING:
    from calhub.dav.storage import Storage
    from calhub.hub.settings import CalendarSettings
    from calhub.runtime import Runtime

__all__ = [
    "EditConflict",
    "EditForbidden",
    "EventFields",
    "EventGone",
    "MirroredEvent",
    "Saved",
    "create_event",
    "current_version",
    "edit_event",
    "move_occurrence",
]

logger = logging.getLogger(__name__)


class EditForbidden(CalhubError):
    """The account may not change events in this calendar (a 403)."""


class MirroredEvent(EditForbidden):
    """The event is mirrored from an external calendar: it changes there, not here (a 403)."""

    def __init__(self, source_id: int, named: str) -> None:
        super().__init__(f"the event is mirrored from source {named}; change it there")
        self.source_id = source_id
        self.named = named


class EventGone(UserError):
    """The event (or the occurrence) is not in storage any more (a 404)."""


class EditConflict(UserError):
    """The event changed after the page showed it (a 409, as a failed If-Match)."""


@dataclass(frozen=True, slots=True)
class Saved:
    """A stored write: the event's UID and the object's new ETag."""

    uid: str
    etag: str


def current_version(
    runtime: Runtime, storage: Storage, calendar: CalendarSettings, uid: str
) -> str | None:
    """The stored object's ETag (what an edit form sends back), or None when it is gone."""
    href = runtime.index.href_of(calendar.id, uid)
    if href is None:
        return None
    with storage.acquire_lock("r", "calhub-web"):
        collection = next(iter(storage.discover(calendar.path)), None)
        if not isinstance(collection, radicale_storage.BaseCollection):
            return None
        for _, item in collection.get_multi([href]):
            if item is not None:
                return str(item.etag)
    return None


def move_occurrence(
    runtime: Runtime,
    storage: Storage,
    *,
    login: str,
    calendar: CalendarSettings,
    uid: str,
    recurrence_id: str,
    start: dt.datetime,
    end: dt.datetime,
    etag: str | None = None,
) -> Saved:
    """Move one event, or one occurrence of a series (``recurrence_id``), to ``start``–``end``.

    Raises :class:`EditForbidden`, :class:`EventGone`, :class:`EditConflict`, a
    :class:`UserError` for times that are not a move, and :class:`WriteRefused` when the
    hub refuses the result (a new hard clash in a ``reject`` calendar, limits).
    """
    _check_times(start, end)
    zone = runtime.parts.config.zone
    saved = _rewrite(
        runtime,
        storage,
        login,
        calendar,
        uid,
        etag,
        lambda text: moved_text(text, recurrence_id, start, end, zone),
    )
    logger.info("%s moved %s/%s (%s) on the website", login, calendar.id, uid, recurrence_id)
    return saved


def edit_event(
    runtime: Runtime,
    storage: Storage,
    *,
    login: str,
    calendar: CalendarSettings,
    uid: str,
    recurrence_id: str,
    fields: EventFields,
    etag: str | None = None,
) -> Saved:
    """Give the event (or one occurrence) the form's title, venue, description, audience
    and, when given, times; raises as :func:`move_occurrence`."""
    if fields.start is not None and fields.end is not None:
        _check_times(fields.start, fields.end)
    zone = runtime.parts.config.zone
    saved = _rewrite(
        runtime,
        storage,
        login,
        calendar,
        uid,
        etag,
        lambda text: edited_text(text, recurrence_id, fields, zone),
    )
    logger.info("%s edited %s/%s (%s) on the website", login, calendar.id, uid, recurrence_id)
    return saved


def create_event(
    runtime: Runtime,
    storage: Storage,
    *,
    login: str,
    calendar: CalendarSettings,
    fields: EventFields,
) -> Saved:
    """A new event in ``calendar``, stored as ``<uid>.ics`` as a phone would."""
    if fields.start is None or fields.end is None:
        raise UserError(
            "У события нет времени. / The event has no time.", hint="Give its day and times."
        )
    _check_times(fields.start, fields.end)
    _check_rights(runtime, login, calendar)
    uid, text = new_event_text(fields, runtime.parts.config.zone)
    with _as_writer(login), storage.acquire_lock("w", login):
        collection = _collection(storage, calendar)
        uploaded = collection.upload(f"{uid}.ics", _item(runtime, calendar, text))
    logger.info("%s created %s/%s on the website", login, calendar.id, uid)
    return Saved(uid=uid, etag=str(uploaded[0].etag))


def _as_writer(login: str) -> contextlib.AbstractContextManager[object]:
    """The audit log's writer: the one the website announced (with the client's address,
    ``calhub.web.acting``), else ``login`` on the website."""
    if current_actor() is not None:
        return contextlib.nullcontext()
    return acting(login, "", "web")


def _check_times(start: dt.datetime, end: dt.datetime) -> None:
    if start.utcoffset() is None or end.utcoffset() is None:
        raise ValueError("events are written with aware datetimes")
    if end <= start:
        raise UserError(
            "Окончание должно быть позже начала. / The end must be after the start.",
            hint="Choose an end time after the start time.",
        )


def _check_rights(runtime: Runtime, login: str, calendar: CalendarSettings) -> None:
    if not runtime.policy.may_write_events(login, calendar.path):
        raise EditForbidden(f"{login} may not change events in {calendar.id}")


def _collection(storage: Storage, calendar: CalendarSettings) -> radicale_storage.BaseCollection:
    collection = next(iter(storage.discover(calendar.path)), None)
    if not isinstance(collection, radicale_storage.BaseCollection):
        raise EventGone(f"Calendar {calendar.id} is not in storage.")
    return collection


def _rewrite(
    runtime: Runtime,
    storage: Storage,
    login: str,
    calendar: CalendarSettings,
    uid: str,
    etag: str | None,
    change: Callable[[str], str],
) -> Saved:
    """Read the stored object under the write lock, change its text, store it again."""
    _check_rights(runtime, login, calendar)
    with _as_writer(login), storage.acquire_lock("w", login):
        collection = _collection(storage, calendar)
        href = runtime.index.href_of(calendar.id, uid)
        stored = next(iter(collection.get_multi([href])), (href, None))[1] if href else None
        if href is None or stored is None:
            raise _gone()
        source_id = source_of(stored.serialize())
        if source_id is not None:
            raise MirroredEvent(source_id, describe(runtime, source_id))
        if etag is not None and stored.etag != etag:
            raise EditConflict(
                "Событие изменилось после того, как страница его показала; изменение не "
                "сохранено. / The event changed after the page showed it; the change was "
                "not saved.",
                hint="Open the event again and repeat the change.",
            )
        try:
            text = change(stored.serialize())
        except OccurrenceGone:
            raise _gone() from None
        uploaded = collection.upload(href, _item(runtime, calendar, text))
    # Radicale answers the stored item and the one it replaced.
    return Saved(uid=uid, etag=str(uploaded[0].etag))


def _gone() -> EventGone:
    return EventGone(
        "Этого события больше нет в календаре. / This event is no longer in the calendar.",
        hint="It may have been deleted or moved from a calendar app; reload the page.",
    )


def _item(runtime: Runtime, calendar: CalendarSettings, text: str) -> radicale_item.Item:
    """The object as Radicale stores it, within the limits a PUT body has."""
    body = text.encode("utf-8")
    try:
        check_body(body, False, events_only=True, limits=body_limits(runtime))
        components = radicale_item.read_components(text)
        radicale_item.check_and_sanitize_items(
            components, max_vevent_rrule_occurrence=0, tag="VCALENDAR"
        )
    except InvalidCalendarData as exc:
        raise WriteRefused.invalid(exc) from exc
    except PARSER_ERRORS as exc:
        raise WriteRefused.unreadable(str(exc)) from exc
    item = radicale_item.Item(collection_path=calendar.path.strip("/"), vobject_item=components[0])
    item.prepare()
    return item
