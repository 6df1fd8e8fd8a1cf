"""What real feeds send, made into one clean calendar object per UID for the mirror.

Calendars published by Google, Outlook, Yandex and school websites are not what RFC 5545
describes: Google's ``X-WR-TIMEZONE`` with floating times (the engine makes them
times of that zone), Windows zone names (``W. Europe Standard Time``) for TZIDs, events
whose VTIMEZONE is missing, the same UID twice, a ``METHOD:PUBLISH`` line (an iTIP method
has no place in a stored object), tasks and journal entries mixed in with the events. Each
event the hub mirrors is written as its own object: the events of one UID (the series and
its changed instances), the VTIMEZONEs they name, the marker of the source
(``X-CALHUB-SOURCE``) and a digest of what was mirrored (``X-CALHUB-DIGEST``), by which the
next sync sees whether it changed.

An event another hub mirrored in itself (``X-CALHUB-MIRRORED``, calhub.feeds) is left out:
it is that hub's copy of someone else's calendar, and taking it back would make a loop.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import icalendar
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from calhub.dav.mirror import DIGEST, MARKER, MIRRORED
from calhub.engine.expand import standard_times
from calhub.sources.errors import SourceFailed

logger = logging.getLogger(__name__)

TIME_PROPERTIES = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID")
DATE_LISTS = ("EXDATE", "RDATE")
# A UID that is safe as a file name is the object's href as a phone would make it.
SAFE_UID = re.compile(r"[A-Za-z0-9@._-]{1,200}")
_DIGEST_LINE = re.compile(rf"^{DIGEST}(?:;[^:\r\n]*)?:([0-9a-f]+)\r?$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Mirrored:
    """One object to mirror: the events of one UID."""

    uid: str
    text: str
    digest: str

    @property
    def href(self) -> str:
        if SAFE_UID.fullmatch(self.uid):
            return f"{self.uid}.ics"
        return hashlib.sha256(self.uid.encode()).hexdigest()[:32] + ".ics"


@dataclass
class Cleaned:
    objects: list[Mirrored] = field(default_factory=list)
    not_events: int = 0  # tasks, journal entries, free/busy
    duplicates: int = 0  # a second event of the same UID and instance
    echoes: int = 0  # events another hub mirrored in (no loops)

    def note(self) -> str:
        """What was left out, in words, for the log and the source's status."""
        parts = []
        if self.not_events:
            parts.append(f"{self.not_events} не события / not events")
        if self.duplicates:
            parts.append(f"{self.duplicates} повторы UID / repeated UIDs")
        if self.echoes:
            parts.append(f"{self.echoes} копии из другого хаба / mirrored by another hub")
        return "; ".join(parts)


def stored_digest(text: str) -> str:
    """The digest a mirrored object was written with ("" if none)."""
    match = _DIGEST_LINE.search(text)
    return match[1] if match else ""


def clean(texts: Sequence[str], source_id: int) -> Cleaned:
    """The objects to mirror from a whole calendar (an ICS feed: one text; a CalDAV
    calendar: one per object); :class:`SourceFailed` if one is not a calendar."""
    timezones: dict[str, icalendar.Component] = {}
    result = Cleaned()
    by_uid: dict[str, dict[str, icalendar.Component]] = {}
    for text in texts:
        for component in _read(text).subcomponents:
            if component.name == "VTIMEZONE":
                timezones[str(component.get("TZID", ""))] = component
            elif component.name == "VEVENT":
                _add_event(component, by_uid, result)
            elif component.name in ("VTODO", "VJOURNAL", "VFREEBUSY"):
                result.not_events += 1
    zones: dict[str, bytes] = {}
    for uid, events in by_uid.items():
        result.objects.append(_object(uid, events.values(), timezones, zones, source_id))
    return result


def _read(text: str) -> icalendar.Calendar:
    if not text.lstrip("\ufeff \t\r\n").upper().startswith("BEGIN:VCALENDAR"):
        raise SourceFailed(
            "по адресу не календарь iCalendar (нет BEGIN:VCALENDAR)",
            "the address does not give an iCalendar calendar (no BEGIN:VCALENDAR)",
        )
    try:
        calendar = icalendar.Calendar.from_ical(text)
        standard = standard_times(calendar)
    except Exception as exc:  # noqa: BLE001 - any parser failure is a malformed feed
        raise SourceFailed(
            f"календарь повреждён и не читается ({_short(exc)})",
            f"the calendar is malformed and cannot be read ({_short(exc)})",
        ) from None
    return standard


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _add_event(
    event: icalendar.Component, by_uid: dict[str, dict[str, icalendar.Component]], result: Cleaned
) -> None:
    if MIRRORED in event or MARKER in event:
        # A copy another hub made (its feed marks it; its CalDAV storage keeps the marker).
        result.echoes += 1
        return
    uid = str(event.get("UID", "")).strip()
    if not uid:
        # No UID (some website feeds): one made from what the event is, stable across syncs.
        start = event.get("DTSTART")
        moment = start.to_ical().decode() if start is not None else ""
        seed = f"{event.get('SUMMARY', '')}\x1f{moment}"
        uid = hashlib.sha256(seed.encode()).hexdigest()[:24] + "@source.calhub"
        event["UID"] = icalendar.vText(uid)
    recurrence = event.get("RECURRENCE-ID")
    instance = recurrence.to_ical().decode() if recurrence is not None else ""
    events = by_uid.setdefault(uid, {})
    kept = events.get(instance)
    if kept is not None:
        result.duplicates += 1
        if _version(kept) >= _version(event):
            return
    events[instance] = event


def _version(event: icalendar.Component) -> tuple[int, str]:
    """Which of two events of one UID is the newer: SEQUENCE, then LAST-MODIFIED/DTSTAMP."""
    try:
        sequence = int(str(event.get("SEQUENCE", 0)))
    except ValueError:
        sequence = 0
    stamp = event.get("LAST-MODIFIED") or event.get("DTSTAMP")
    return sequence, stamp.to_ical().decode() if stamp is not None else ""


def _object(
    uid: str,
    events: Iterable[icalendar.Component],
    timezones: dict[str, icalendar.Component],
    zones: dict[str, bytes],
    source_id: int,
) -> Mirrored:
    ordered = sorted(events, key=lambda e: "RECURRENCE-ID" in e)
    tzids: set[str] = set()
    for event in ordered:
        for name in (MARKER, DIGEST, "METHOD"):
            event.pop(name, None)
        # An alarm is its owner's reminder, not the school's.
        event.subcomponents = [c for c in event.subcomponents if c.name != "VALARM"]
        _standard_zones(event, timezones)
        tzids.update(_tzids(event))
    body = b"".join(event.to_ical() for event in ordered)
    digest = hashlib.sha256(body).hexdigest()[:32]
    for event in ordered:
        event.add(MARKER, str(source_id))
    ordered[0].add(DIGEST, digest)
    parts = [f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calhub//source {source_id}//EN\r\n"]
    for tzid in sorted(tzids):
        if tzid not in zones:
            # Written once per sync: a VTIMEZONE takes icalendar milliseconds to write and
            # tens of milliseconds to build, and every object of a feed names the same few.
            zone = timezones.get(tzid) or _standard_timezone(tzid)
            zones[tzid] = zone.to_ical() if zone is not None else b""
        parts.append(zones[tzid].decode("utf-8"))
    parts.extend(event.to_ical().decode("utf-8") for event in ordered)
    parts.append("END:VCALENDAR\r\n")
    return Mirrored(uid, "".join(parts), digest)


def _standard_timezone(tzid: str) -> icalendar.Timezone | None:
    """The VTIMEZONE of an IANA zone the feed named without sending it."""
    try:
        zoneinfo.ZoneInfo(tzid)
        return icalendar.Timezone.from_tzid(tzid)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _iana(tzid: str, timezones: dict[str, icalendar.Component]) -> str | None:
    """The IANA zone to write instead of ``tzid``, or None to keep it as it is."""
    if tzid in timezones:
        return None  # the feed defines it; icalendar reads the times by that definition
    try:
        zoneinfo.ZoneInfo(tzid)
        return None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return WINDOWS_TO_OLSON.get(tzid)


def _standard_zones(event: icalendar.Component, timezones: dict[str, icalendar.Component]) -> None:
    """Times in a Windows zone the feed did not define become times of its IANA zone, with
    the same clock reading (what the TZID meant)."""
    for name in TIME_PROPERTIES:
        value = event.get(name)
        tzid = value.params.get("TZID") if value is not None else None
        iana = _iana(str(tzid), timezones) if tzid else None
        if value is None or iana is None or not isinstance(value.dt, dt.datetime):
            continue
        moment = value.dt.replace(tzinfo=zoneinfo.ZoneInfo(iana))
        event.pop(name)
        event.add(name, moment)
    for name in DATE_LISTS:
        values = event.get(name)
        if values is None:
            continue
        lists = values if isinstance(values, list) else [values]
        changed = False
        moments: list[dt.date | dt.datetime] = []
        for listed in lists:
            tzid = listed.params.get("TZID")
            iana = _iana(str(tzid), timezones) if tzid else None
            for item in listed.dts:
                moment = item.dt
                if iana is not None and isinstance(moment, dt.datetime):
                    moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(iana))
                    changed = True
                moments.append(moment)
        if changed:
            event.pop(name)
            for listed_moment in moments:
                event.add(name, listed_moment)


def _tzids(event: icalendar.Component) -> set[str]:
    found: set[str] = set()
    for name in (*TIME_PROPERTIES, *DATE_LISTS):
        values = event.get(name)
        for value in values if isinstance(values, list) else [values]:
            tzid = getattr(value, "params", {}).get("TZID") if value is not None else None
            if tzid:
                found.add(str(tzid))
    return found
