"""Changing a stored event from the website, through the same path as a phone's PUT.

The dashboard moves an event (issue 14's free slots, the coordinator's desk): it reads the
stored object, changes only the times of the one event or occurrence asked for, and
stores the object again with Radicale's storage API. That upload runs the storage plugin,
so the write hooks check it for clashes (a ``reject`` calendar refuses a new hard clash with
:class:`~calhub.dav.refusal.WriteRefused`), index it and bring the clash records up to
date, exactly as for a CalDAV PUT; a phone's next sync sees the new ETag.

Everything the form does not show is kept: every other property, parameter, alarm and
override of the object. The caller says which version it showed (the ETag): an object
changed since is not overwritten (:class:`EditConflict`), as ``If-Match`` guards a PUT.
Who may change a calendar is the policy's word (``Policy.may_write_events``), the same as
Radicale's rights plugin asks.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import icalendar
from radicale import item as radicale_item
from radicale import storage as radicale_storage

from calhub.dav.indexing import PARSER_ERRORS
from calhub.dav.precheck import body_limits
from calhub.dav.refusal import WriteRefused
from calhub.engine import InvalidCalendarData
from calhub.engine.precheck import check_body
from calhub.engine.timezones import format_recurrence_id
from calhub.errors import CalhubError, UserError

if TYPE_CHECKING:
    from calhub.dav.storage import Storage
    from calhub.hub.settings import CalendarSettings
    from calhub.runtime import Runtime

__all__ = [
    "EditConflict",
    "EditForbidden",
    "EventGone",
    "Moved",
    "current_version",
    "move_occurrence",
]

logger = logging.getLogger(__name__)

# An override copies its master except for these: they belong to the series.
_SERIES_ONLY = frozenset({"RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID"})
_TIMES = frozenset({"DTSTART", "DTEND", "DURATION"})


class EditForbidden(CalhubError):
    """The account may not change events in this calendar (a 403)."""


class EventGone(UserError):
    """The event (or the occurrence) is not in storage any more (a 404)."""


class EditConflict(UserError):
    """The event changed after the page showed it (a 409, as a failed If-Match)."""


@dataclass(frozen=True, slots=True)
class Moved:
    """A stored move: the object's new ETag and the occurrence's new times (UTC)."""

    etag: str
    start: dt.datetime
    end: dt.datetime


def current_version(
    runtime: Runtime, storage: Storage, calendar: CalendarSettings, uid: str
) -> str | None:
    """The stored object's ETag (what a move form sends back), or None when it is gone."""
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
) -> Moved:
    """Move one event, or one occurrence of a series (``recurrence_id``), to ``start``–``end``.

    Raises :class:`EditForbidden`, :class:`EventGone`, :class:`EditConflict`, a
    :class:`UserError` for times that are not a move, and :class:`WriteRefused` when the
    hub refuses the result (a new hard clash in a ``reject`` calendar, limits).
    """
    if start.utcoffset() is None or end.utcoffset() is None:
        raise ValueError("a move needs aware datetimes")
    if end <= start:
        raise UserError(
            "Окончание должно быть позже начала. / The end must be after the start.",
            hint="Choose an end time after the start time.",
        )
    if not runtime.policy.may_write_events(login, calendar.path):
        raise EditForbidden(f"{login} may not change events in {calendar.id}")
    zone = runtime.parts.config.zone
    with storage.acquire_lock("w", login):
        collection = next(iter(storage.discover(calendar.path)), None)
        if not isinstance(collection, radicale_storage.BaseCollection):
            raise EventGone(f"Calendar {calendar.id} is not in storage.")
        href = runtime.index.href_of(calendar.id, uid)
        stored = next(iter(collection.get_multi([href])), (href, None))[1] if href else None
        if href is None or stored is None:
            raise _gone()
        if etag is not None and stored.etag != etag:
            raise EditConflict(
                "Событие изменилось после того, как страница его показала; оно не перенесено. "
                "/ The event changed after the page showed it; it was not moved.",
                hint="Open the event again and repeat the move.",
            )
        text = _moved_text(stored.serialize(), recurrence_id, start, end, zone)
        item = _item(runtime, calendar, text)
        uploaded = collection.upload(href, item)
    logger.info("%s moved %s/%s (%s) on the website", login, calendar.id, uid, recurrence_id)
    # Radicale answers the stored item and the one it replaced.
    return Moved(
        etag=str(uploaded[0].etag), start=start.astimezone(dt.UTC), end=end.astimezone(dt.UTC)
    )


def _gone() -> EventGone:
    return EventGone(
        "Этого события больше нет в календаре. / This event is no longer in the calendar.",
        hint="It may have been deleted or moved from a calendar app; reload the page.",
    )


def _item(runtime: Runtime, calendar: CalendarSettings, text: str) -> radicale_item.Item:
    """The changed object as Radicale stores it, within the limits a PUT body has."""
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


def _moved_text(
    text: str, recurrence_id: str, start: dt.datetime, end: dt.datetime, zone: dt.tzinfo
) -> str:
    cal = icalendar.Calendar.from_ical(text)
    events = [c for c in cal.subcomponents if c.name == "VEVENT"]
    master = next((e for e in events if e.get("RECURRENCE-ID") is None), None)
    target = None
    for event in events:
        original = event.get("RECURRENCE-ID")
        if original is not None and format_recurrence_id(original.dt, zone) == recurrence_id:
            target = event
    if target is None and not recurrence_id:
        target = master
    if target is None:
        if master is None or (master.get("RRULE") is None and master.get("RDATE") is None):
            raise _gone()
        target = _override(master, recurrence_id, zone)
        cal.add_component(target)
    _set_times(target, start, end, zone)
    _touch(target)
    result: bytes = cal.to_ical()
    return result.decode("utf-8")


def _override(master: Any, recurrence_id: str, zone: dt.tzinfo) -> Any:
    """A new override of ``master`` for the occurrence ``recurrence_id`` (UTC or a date)."""
    override = icalendar.Event()
    for name, value in master.items():
        if name not in _SERIES_ONLY and name not in _TIMES:
            override[name] = copy.deepcopy(value)
    for sub in master.subcomponents:
        override.add_component(copy.deepcopy(sub))
    first = master["DTSTART"].dt
    if len(recurrence_id) == 8:
        original: dt.date = dt.datetime.strptime(recurrence_id, "%Y%m%d").date()
    else:
        moment = dt.datetime.strptime(recurrence_id, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        original = _like(moment, first, zone)
    override.add("RECURRENCE-ID", original)
    # Its length and its times are set by the move; DTSTART first, in the master's zone.
    override.add("DTSTART", original)
    return override


def _like(moment: dt.datetime, model: dt.date | dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """``moment`` written the way ``model`` is: in its time zone, UTC, or floating."""
    if not isinstance(model, dt.datetime):
        return moment.astimezone(zone)
    if model.tzinfo is None:
        return moment.astimezone(zone).replace(tzinfo=None)
    return moment.astimezone(model.tzinfo)


def _set_times(event: Any, start: dt.datetime, end: dt.datetime, zone: dt.tzinfo) -> None:
    model = event["DTSTART"].dt if event.get("DTSTART") is not None else start
    uses_duration = event.get("DURATION") is not None and event.get("DTEND") is None
    for name in _TIMES:
        event.pop(name, None)
    # A move to a slot is a timed event; an all-day one becomes timed in the hub's zone.
    event.add("DTSTART", _like(start, model, zone))
    if uses_duration:
        event.add("DURATION", end - start)
    else:
        event.add("DTEND", _like(end, model, zone))


def _touch(event: Any) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    _set(event, "SEQUENCE", int(event.get("SEQUENCE", 0)) + 1)
    _set(event, "DTSTAMP", now)
    _set(event, "LAST-MODIFIED", now)


def _set(event: Any, name: str, value: object) -> None:
    """Replace a property; ``add`` gives the value its iCalendar type."""
    event.pop(name, None)
    event.add(name, value)
