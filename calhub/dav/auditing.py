"""The audit entries of event writes: what the write hooks (:mod:`calhub.dav.hooks`) know of
a write that succeeded, turned into entries of :mod:`calhub.store.audit`.

Who wrote is the request's :class:`~calhub.dav.actor.Actor` (set by the CalDAV login layer,
the website, the import), or the mirrored source being synced, or the hub itself. The
event's summary before and after is made from its occurrences (the index's rows before the
write, the expansion the write was checked with after): the title, first start and end,
venue and audience, never the iCalendar text.

**When the entry cannot be written.** It is written under Radicale's storage lock, after
the object is stored, in one ``hub.sqlite`` transaction (the same file, the same durability
as the approvals): the clash records' own when the write changed them (one commit and one
sync of the file for both, :meth:`calhub.store.records.ClashRecords.sync`), else one of its
own after them. Either way it is on disk before the client is answered. Sharing the
records' commit does not widen the one window there is, between Radicale's sync of the
event's file and this commit (it narrows it: one sync less in it); a power cut inside it
loses the records' change too, which the next start redoes (the index marks the records
pending), and the client, never answered, sends the write again. Should the commit fail, the
error goes up and the client gets Radicale's 500, as when the clash records cannot be
written: an entry is never lost silently, the client is told the write may not have
completed and sends it again (which stores the same object and writes the entry), and the
entry that could not be written is logged whole (it holds no secret) so the journal has it.
Writing it in the same transaction as the event is impossible: the event is a file of
Radicale's, not a row.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import icalendar

from calhub.dav.actor import SYSTEM, Actor, current_actor
from calhub.dav.mirror import mirroring
from calhub.store.audit import EventSummary, NewEntry
from calhub.store.sqlitedb import utc_text

if TYPE_CHECKING:
    from calhub.engine import Occurrence
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)


def summarize(occurrences: Sequence[Occurrence]) -> EventSummary | None:
    """The event in a few words (None: no occurrence, nothing to say)."""
    if not occurrences:
        return None
    first = min(occurrences, key=lambda o: (o.start, o.recurrence_id))
    return summary_of(first, len(occurrences))


def summary_of(first: Occurrence, count: int) -> EventSummary:
    """The summary of an event whose first occurrence is ``first``, of ``count``."""
    return EventSummary(
        title=first.summary,
        start=utc_text(first.start),
        end=utc_text(first.end),
        venue=first.location,
        audience=first.audience.label(),
        occurrences=count,
    )


def summarize_text(text: str, audience: Callable[[Any], str] | None = None) -> EventSummary | None:
    """The event in a few words from its iCalendar text, for an event with no occurrence in
    the index's horizon (years ahead, long past): the master's title, times and venue."""
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError:
        return None
    events = list(calendar.walk("VEVENT"))
    if not events:
        return None
    master = next((e for e in events if e.get("RECURRENCE-ID") is None), events[0])
    start = _moment(master.get("DTSTART"))
    end = _moment(master.get("DTEND")) or start
    return EventSummary(
        title=str(master.get("SUMMARY", "")),
        start=start,
        end=end,
        venue=str(master.get("LOCATION", "")),
        audience=audience(master) if audience is not None else "",
        occurrences=len(events),
    )


def _moment(prop: Any) -> str:
    value = getattr(prop, "dt", None)
    if isinstance(value, dt.datetime):
        # A floating time has no zone: written as it reads.
        return utc_text(value) if value.tzinfo is not None else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return ""


def writer() -> Actor:
    """Who is writing now: the mirror's source, the announced actor, or the hub."""
    source = mirroring()
    if source is not None:
        return Actor(f"source:{source}", "", "source")
    return current_actor() or SYSTEM


def event_entry(
    action: str,
    calendar: str,
    uid: str,
    before: EventSummary | None,
    after: EventSummary | None,
    moved_from: str = "",
) -> NewEntry:
    actor = writer()
    return NewEntry(
        actor=actor.login,
        action=action,
        address=actor.address,
        via=actor.via,
        calendar=calendar,
        uid=uid,
        subject=f"from {moved_from}" if moved_from else actor.note,
        before=before,
        after=after,
    )


def record(runtime: Runtime, entries: Iterable[NewEntry]) -> None:
    """Write ``entries``; on failure log each whole and raise (see the module's note)."""
    entries = list(entries)
    try:
        runtime.audit.record(entries)
    except Exception:
        unwritten(entries)
        raise


def unwritten(entries: Iterable[NewEntry]) -> None:
    """Log each of ``entries`` whole: they could not be written (the caller raises)."""
    for entry in entries:
        logger.error(
            "Audit entry not written: %s %s %s/%s by %s from %s",
            entry.action,
            entry.subject,
            entry.calendar,
            entry.uid,
            entry.actor,
            entry.address,
        )


def collapse(entries: Sequence[NewEntry]) -> list[NewEntry]:
    """A batch's entries, one per event: the first ``before`` and the last ``after``; an
    event created and deleted again in the batch leaves none."""
    merged: dict[tuple[str, str], NewEntry] = {}
    for entry in entries:
        key = (entry.calendar, entry.uid)
        earlier = merged.get(key)
        if earlier is None:
            merged[key] = entry
            continue
        before = earlier.before
        action = entry.action
        if before is None and entry.after is not None:
            action = "created"
        elif before is not None and entry.after is not None and action != "moved":
            action = "changed"
        merged[key] = NewEntry(
            actor=entry.actor,
            action=action,
            address=entry.address,
            via=entry.via,
            calendar=entry.calendar,
            uid=entry.uid,
            subject=entry.subject or earlier.subject,
            before=before,
            after=entry.after,
        )
    return [e for e in merged.values() if not (e.before is None and e.after is None)]
