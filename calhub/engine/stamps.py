"""When an event was written, as its own iCalendar text says, and its cancelled parts.

The reports (:mod:`calhub.reports`) ask two things of a stored object the index does not
keep: when each of its components was last changed and first published, and which of its
occurrences are cancelled (the expansion leaves them out, as they never clash).

The times come from the object itself (RFC 5545): ``LAST-MODIFIED`` is the last change and
``CREATED`` the first publication; a client that writes neither still writes ``DTSTAMP``,
which then stands for both (many clients renew it at every save, so an event edited late
also counts as published late: the report errs on the side of telling).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from icalendar import Calendar, Component
from icalendar.prop import vDDDTypes

from calhub.engine.timezones import format_recurrence_id, iana_names, to_utc
from calhub.engine.validate import parse_calendar

__all__ = ["Uncounted", "WriteStamps", "object_stamps", "scan_stamps", "with_all_parts"]

_FOLD = re.compile(r"\r?\n[ \t]")
_STAMP_NAMES = {"CREATED": "created", "LAST-MODIFIED": "last_modified", "DTSTAMP": "dtstamp"}

_CANCELLED = "CANCELLED"
_TRANSPARENT = "TRANSPARENT"


@dataclass(frozen=True, slots=True)
class WriteStamps:
    """One component's times (UTC; None: the component does not say)."""

    created: datetime | None
    last_modified: datetime | None
    dtstamp: datetime | None

    @property
    def changed(self) -> datetime | None:
        """The last change: LAST-MODIFIED, else DTSTAMP."""
        return self.last_modified or self.dtstamp

    @property
    def published(self) -> datetime | None:
        """The first publication: CREATED, else the earliest of DTSTAMP and LAST-MODIFIED."""
        if self.created is not None:
            return self.created
        known = [moment for moment in (self.dtstamp, self.last_modified) if moment is not None]
        return min(known) if known else None


def _moment(component: Component, name: str, zone: tzinfo) -> datetime | None:
    value = component.get(name)
    moment = getattr(value, "dt", None)
    if not isinstance(moment, date):
        return None
    return to_utc(moment, zone)


def object_stamps(ical: str | bytes | Calendar, zone: tzinfo) -> dict[tuple[str, str], WriteStamps]:
    """Each VEVENT's times by (UID, recurrence id): ``""`` for the master (the times of
    every occurrence without an override of its own), else the override's recurrence id
    in :class:`~calhub.engine.occurrence.Occurrence`'s form."""
    found: dict[tuple[str, str], WriteStamps] = {}
    for component in parse_calendar(ical).walk("VEVENT"):
        uid = str(component.get("UID", ""))
        recurrence = component.get("RECURRENCE-ID")
        moment = getattr(recurrence, "dt", None)
        key = format_recurrence_id(moment, zone) if isinstance(moment, date) else ""
        found[(uid, key)] = WriteStamps(
            created=_moment(component, "CREATED", zone),
            last_modified=_moment(component, "LAST-MODIFIED", zone),
            dtstamp=_moment(component, "DTSTAMP", zone),
        )
    return found


@dataclass(frozen=True, slots=True)
class Uncounted:
    """An object rewritten so that expanding it gives every occurrence: ``text`` without
    ``STATUS:CANCELLED`` and ``TRANSP:TRANSPARENT``; ``cancelled``: the components that
    were cancelled, by (UID, recurrence id) as in :func:`object_stamps`."""

    text: str
    cancelled: frozenset[tuple[str, str]]
    components: frozenset[tuple[str, str]]

    def is_cancelled(self, uid: str, recurrence_id: str) -> bool:
        """Whether the occurrence is cancelled: its own override, else its series."""
        if (uid, recurrence_id) in self.components:
            return (uid, recurrence_id) in self.cancelled
        return (uid, "") in self.cancelled


def with_all_parts(ical: str | bytes | Calendar, zone: tzinfo) -> Uncounted | None:
    """The object with its cancelled and transparent parts made ordinary (the expansion
    leaves those out: they never clash, but a cancelled one is counted apart and a
    transparent one, such as an optional consultation, still took place); None when it
    has none. A Calendar given is changed in place (read its stamps first)."""
    calendar = parse_calendar(ical, keep_timezones=True)
    cancelled: set[tuple[str, str]] = set()
    components: set[tuple[str, str]] = set()
    touched = False
    for component in calendar.walk("VEVENT"):
        recurrence = getattr(component.get("RECURRENCE-ID"), "dt", None)
        key = (
            str(component.get("UID", "")),
            format_recurrence_id(recurrence, zone) if isinstance(recurrence, date) else "",
        )
        components.add(key)
        if str(component.get("STATUS", "")).upper() == _CANCELLED:
            del component["STATUS"]
            cancelled.add(key)
            touched = True
        if str(component.get("TRANSP", "")).upper() == _TRANSPARENT:
            del component["TRANSP"]
            touched = True
    if not touched:
        return None
    text: str = calendar.to_ical().decode("utf-8")
    return Uncounted(text, frozenset(cancelled), frozenset(components))


class _Unscannable(ValueError):
    """The quick scan met something only the full parser reads right."""


def _split(line: str) -> tuple[str, dict[str, str], str]:
    """(NAME, params, value) of an unfolded content line; quoted parameter values may
    hold ':' and ';'."""
    quoted = False
    for at, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            head, value = line[:at], line[at + 1 :]
            break
    else:
        raise _Unscannable(line[:40])
    name, *pieces = head.split(";")
    params = {}
    for piece in pieces:
        key, _, text = piece.partition("=")
        params[key.upper()] = text.strip('"')
    return name.upper(), params, value


def _when(value: str, params: dict[str, str], zone: tzinfo) -> date | datetime:
    tzid = params.get("TZID")
    if tzid is not None and tzid not in iana_names():
        raise _Unscannable(tzid)  # a Windows or made-up zone: the parser's VTIMEZONE
    moment = vDDDTypes.from_ical(value.strip(), timezone=tzid)  # type: ignore[no-untyped-call]
    if not isinstance(moment, date):
        raise _Unscannable(value[:40])
    return moment


def scan_stamps(text: str, zone: tzinfo) -> dict[tuple[str, str], WriteStamps]:
    """What :func:`object_stamps` gives, read from the unfolded lines without building the
    whole calendar (a full parse is most of a report's time: ten milliseconds an object);
    anything unusual (a zone only a VTIMEZONE defines, a value that does not read) and it
    parses the object after all."""
    try:
        return _scan(text, zone)
    except (_Unscannable, ValueError, TypeError):
        return object_stamps(text, zone)


class _Event:
    """The lines of one VEVENT read so far."""

    def __init__(self) -> None:
        self.uid = ""
        self.recurrence = ""
        self.times: dict[str, datetime] = {}

    def stamps(self) -> WriteStamps:
        return WriteStamps(
            created=self.times.get("created"),
            last_modified=self.times.get("last_modified"),
            dtstamp=self.times.get("dtstamp"),
        )


def _scan(text: str, zone: tzinfo) -> dict[tuple[str, str], WriteStamps]:
    found: dict[tuple[str, str], WriteStamps] = {}
    stack: list[str] = []
    current = _Event()
    for line in _FOLD.sub("", text).splitlines():
        if not line:
            continue
        name, params, value = _split(line)
        if name == "BEGIN":
            stack.append(value.strip().upper())
            if stack[-1] == "VEVENT":
                current = _Event()
            continue
        if name == "END":
            if not stack or stack[-1] != value.strip().upper():
                raise _Unscannable("unbalanced END")
            if stack.pop() == "VEVENT":
                found[(current.uid, current.recurrence)] = current.stamps()
            continue
        if not stack or stack[-1] != "VEVENT":
            continue
        if name == "UID":
            if "\\" in value:
                raise _Unscannable("an escaped UID")  # the parser unescapes it
            current.uid = value.strip()
        elif name == "RECURRENCE-ID":
            current.recurrence = format_recurrence_id(_when(value, params, zone), zone)
        elif name in _STAMP_NAMES:
            current.times[_STAMP_NAMES[name]] = to_utc(_when(value, params, zone), zone)
    if stack:
        raise _Unscannable("unterminated component")
    return found
