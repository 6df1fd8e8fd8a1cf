"""Refusing a CalDAV write with a status and a body a person can read.

Radicale has no hook to veto a write, and it answers any ``ValueError`` from storage with
a bare 400. So the storage hook raises ``WriteRefused`` (a ``ValueError``, which makes
Radicale store nothing and give up the lock), which keeps itself in the request's context
variable (:func:`watching`); ``RefusalMapper`` (:mod:`calhub.dav.mapper`), a thin WSGI
layer around Radicale, then replaces Radicale's answer with ours. Every refusal names the
precondition it failed in a ``DAV:error`` body (RFC 4791 §1.3 and §5.3.2.1, RFC 4918
§16), with the reason in Russian and English in its
``DAV:responsedescription``:

- 409 and ``calhub:no-new-clash`` for a clash (the partner can move the event and retry);
- 403 and ``CALDAV:supported-calendar-component`` for a task or journal in a hub calendar,
  ``CALDAV:valid-calendar-data`` for data that is not iCalendar, and
  ``CALDAV:valid-calendar-object-resource`` for an object the hub does not take (a rule
  that never occurs, too many components): sending it again will always fail.
"""

from __future__ import annotations

import contextlib
import logging
import xml.etree.ElementTree as ET
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from calhub.errors import CalhubError

if TYPE_CHECKING:
    from calhub.engine import Clash, InvalidCalendarData
    from calhub.hub.settings import Settings

logger = logging.getLogger(__name__)

CALHUB_NS = "urn:calhub:ns:clash"
DAV_NS = "DAV:"
CALDAV_NS = "urn:ietf:params:xml:ns:caldav"
PRECONDITION = "no-new-clash"

# The refusal of the request being served, from the storage hook that raised it to the
# WSGI layer that answers it (calhub.dav.mapper), across Radicale, which swallows the
# exception. A context variable: each request (thread) sees only its own.
_refusal: ContextVar[RefusalSlot | None] = ContextVar("calhub_write_refusal", default=None)


@dataclass
class RefusalSlot:
    """Where a refusal raised while one request is served is kept for its WSGI layer."""

    refusal: WriteRefused | None = None


@contextlib.contextmanager
def watching() -> Iterator[RefusalSlot]:
    """Keep any WriteRefused raised inside (for this request only) in the slot yielded."""
    slot = RefusalSlot()
    token = _refusal.set(slot)
    try:
        yield slot
    finally:
        _refusal.reset(token)


class WriteRefused(CalhubError, ValueError):
    """A write the hub refuses, with the status and the body to answer it with.

    A ``ValueError`` as well: Radicale then stores nothing, gives up its lock and answers
    400, which :mod:`calhub.dav.mapper` replaces with this refusal's answer.
    """

    def __init__(self, status: int, text: str, xml: bytes | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.xml = xml
        # The clashes a 409 is about, for the record of the refused write.
        self.found_clashes: tuple[Clash, ...] = ()
        slot = _refusal.get()
        if slot is not None:
            slot.refusal = self

    @classmethod
    def invalid(cls, error: InvalidCalendarData) -> WriteRefused:
        """403 naming the RFC 4791 precondition that ``error`` breaks."""
        from calhub.engine import UnreadableCalendarData, UnsupportedComponent

        if isinstance(error, UnsupportedComponent):
            condition = "supported-calendar-component"
        elif isinstance(error, UnreadableCalendarData):
            condition = "valid-calendar-data"
        else:
            condition = "valid-calendar-object-resource"
        text = (
            f"Событие не сохранено: {error.message_ru}\n"
            f"The event was not saved: calhub cannot read this event: {error}\n"
        )
        return cls(403, text, error_xml(CALDAV_NS, condition, text))

    @classmethod
    def unreadable(cls, reason: str) -> WriteRefused:
        """Radicale's own 400 for data the hub's checks let through, with the reason."""
        text = (
            f"Событие не сохранено: сервер не может прочитать эти данные ({reason}).\n"
            f"The event was not saved: calhub cannot read this event: {reason}\n"
        )
        return cls(400, text)

    @classmethod
    def clashes(cls, clashes: Sequence[Clash], settings: Settings) -> WriteRefused:
        lines_ru = [c.message_ru for c in clashes]
        lines_en = [c.message_en for c in clashes]
        text = (
            "Событие не сохранено: оно пересекается с другим мероприятием "
            "(календарь принимает только события без накладок).\n"
            + "\n".join(f"- {line}" for line in lines_ru)
            + "\n\nThe event was not saved: it clashes with another event "
            "(this calendar refuses new clashes).\n"
            + "\n".join(f"- {line}" for line in lines_en)
            + "\n"
        )
        refusal = cls(409, text, clash_error_xml(clashes, settings, text))
        refusal.found_clashes = tuple(clashes)
        return refusal


def error_xml(
    namespace: str, condition: str, text: str, details: Iterable[ET.Element] = ()
) -> bytes:
    """A ``DAV:error`` body: the failed condition (holding ``details``) and ``text``."""
    # Radicale registers its prefixes (DAV: as the default namespace) for every answer;
    # registering others here would change how Radicale's own answers are written.
    root = ET.Element(f"{{{DAV_NS}}}error")
    element = ET.SubElement(root, f"{{{namespace}}}{condition}")
    element.extend(details)
    ET.SubElement(root, f"{{{DAV_NS}}}responsedescription").text = text
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def xml_answer(start_response: Callable[..., Any], status: str, payload: bytes) -> list[bytes]:
    """Answer with a ``DAV:error`` body (from :func:`error_xml`)."""
    start_response(
        status,
        [
            ("Content-Type", "application/xml; charset=utf-8"),
            ("Content-Length", str(len(payload))),
        ],
    )
    return [payload]


def clash_error_xml(clashes: Sequence[Clash], settings: Settings, text: str) -> bytes:
    ET.register_namespace("H", CALHUB_NS)
    tz = zoneinfo.ZoneInfo(settings.timezone)
    found = []
    for clash in clashes:
        element = ET.Element(
            f"{{{CALHUB_NS}}}clash",
            {"id": clash.id, "rule": clash.rule, "severity": clash.severity},
        )
        for occurrence in clash.occurrences:
            calendar = settings.calendar(occurrence.calendar)
            ET.SubElement(
                element,
                f"{{{CALHUB_NS}}}event",
                {
                    "calendar": occurrence.calendar,
                    "calendar-name": calendar.name if calendar else occurrence.calendar,
                    "uid": occurrence.uid,
                    "recurrence-id": occurrence.recurrence_id,
                    "start": occurrence.start.astimezone(tz).isoformat(),
                    "end": occurrence.end.astimezone(tz).isoformat(),
                    "audience": occurrence.audience.label(),
                    "location": occurrence.location,
                },
            ).text = occurrence.summary
        found.append(element)
    return error_xml(CALHUB_NS, PRECONDITION, text, details=found)


def diagnose_unreadable(body: bytes) -> str:
    """Why calendar data could not be read, in words, for a 400 that Radicale left bare."""
    from calhub.engine import InvalidCalendarData
    from calhub.engine.validate import parse_calendar

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the body is not UTF-8 text (byte {exc.start})"
    if "BEGIN:VCALENDAR" not in text.upper():
        return "the body is not iCalendar data (no BEGIN:VCALENDAR)"
    try:
        # calhub's parser: icalendar's from_ical caches every VTIMEZONE for the process.
        parse_calendar(text)
    except InvalidCalendarData as exc:
        return f"the iCalendar data is malformed: {exc}"
    return "the server could not accept this calendar data (check UID, DTSTART and the component)"
