"""Refusing a CalDAV write with a status and a body a person can read.

Radicale has no hook to veto a write, and it answers any ``ValueError`` from storage with
a bare 400. So the storage hook raises ``WriteRefused`` (a ``ValueError``, which makes
Radicale store nothing and give up the lock) after noting the refusal on the current
request; ``RefusalMapper``, a thin WSGI layer around Radicale, then replaces Radicale's
answer with ours. Every refusal names the precondition it failed in a ``DAV:error`` body
(RFC 4791 §1.3 and §5.3.2.1, RFC 4918 §16), with the reason in Russian and English in its
``DAV:responsedescription``:

- 409 and ``calhub:no-new-clash`` for a clash (the partner can move the event and retry);
- 403 and ``CALDAV:supported-calendar-component`` for a task or journal in a hub calendar,
  ``CALDAV:valid-calendar-data`` for data that is not iCalendar, and
  ``CALDAV:valid-calendar-object-resource`` for an object the hub does not take (a rule
  that never occurs, too many components): sending it again will always fail.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import threading
import xml.etree.ElementTree as ET
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from calhub.davprops import refuse_many_properties
from calhub.davxml import XML_METHODS, BadXml, check_xml_body

if TYPE_CHECKING:
    from calhub.engine import Clash, InvalidCalendarData
    from calhub.settings import Settings

logger = logging.getLogger(__name__)

CALHUB_NS = "urn:calhub:ns:clash"
DAV_NS = "DAV:"
CALDAV_NS = "urn:ietf:params:xml:ns:caldav"
PRECONDITION = "no-new-clash"

_local = threading.local()


@dataclass
class RequestState:
    """What the storage hooks tell the WSGI layer about the request being served."""

    refusal: WriteRefused | None = None
    clashes_after_write: list[Any] = field(default_factory=list)


def current_request() -> RequestState | None:
    state: RequestState | None = getattr(_local, "state", None)
    return state


class WriteRefused(ValueError):
    def __init__(self, status: int, text: str, xml: bytes | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.xml = xml
        # The clashes a 409 is about, for the record of the refused write.
        self.found_clashes: tuple[Clash, ...] = ()
        state = current_request()
        if state is not None:
            state.refusal = self

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


StartResponse = Callable[..., Any]

BODY_METHODS = frozenset({"PUT", "POST", *XML_METHODS})
SKIP_PIECE = 64 * 1024


def skip_body(stream: Any, length: int) -> None:
    """Read and drop what is left of a body Radicale did not read, a piece at a time:
    the WSGI server would otherwise read all of it into memory at once to keep the
    connection alive."""
    left = length
    while left > 0:
        piece = stream.read(min(SKIP_PIECE, left))
        if not piece:
            return
        left -= len(piece)


def basic_credentials(environ: dict[str, Any]) -> tuple[str, str]:
    """(login, password) from an HTTP Basic header, or empty strings."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header.lower().startswith("basic "):
        return "", ""
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return "", ""
    login, _, password = decoded.partition(":")
    return login, password


@dataclass(frozen=True)
class Attempt:
    """A write as the WSGI layer saw it, for the callbacks of ``RefusalMapper``."""

    method: str
    path: str  # Radicale's path (below /dav), UTF-8 text
    login: str
    password: str = field(repr=False)
    body: bytes = field(repr=False)


class RefusalMapper:
    """Wraps Radicale: checks PUT bodies first, keeps request state for the storage hooks
    and maps refusals onto the response.

    ``on_refused(attempt, refusal)`` is called after a refusal is answered, and
    ``on_written(attempt)`` after a PUT got in (2xx); what they raise is logged and the
    answer stays as it is (``calhub.refused_capture`` keeps refused writes with them).
    """

    def __init__(
        self,
        app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        precheck: Callable[[str, bytes, str, str], None],
        on_refused: Callable[[Attempt, WriteRefused], None] | None = None,
        on_written: Callable[[Attempt], None] | None = None,
        max_properties: Callable[[], int] | None = None,
    ) -> None:
        self.app = app
        self.precheck = precheck
        self.on_refused = on_refused
        self.on_written = on_written
        self.max_properties = max_properties

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        body = b""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        # Authenticate first, then read: a request without credentials goes to Radicale
        # unread (it answers 401 without reading) and its body is skipped afterwards in
        # small pieces (calhub.davlogin has answered wrong credentials before this).
        anonymous = not basic_credentials(environ)[0]
        if method in BODY_METHODS and length > 0 and not anonymous:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
        if method in XML_METHODS and body:
            try:
                check_xml_body(body)
            except BadXml as bad:
                logger.info("Refused XML body of %s: %s", method, bad)
                return self._bad_request(start_response, bad.text)
        if self.max_properties is not None:
            # Radicale's work grows with the properties named (calhub.davprops).
            many = refuse_many_properties(method, body, self.max_properties(), start_response)
            if many is not None:
                return many
        if method == "PUT" and body:
            login, password = basic_credentials(environ)
            try:
                self.precheck(environ.get("PATH_INFO", ""), body, login, password)
            except WriteRefused as refusal:
                return self._refused(environ, body, start_response, refusal)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        state = RequestState()
        _local.state = state
        try:
            chunks = list(self.app(environ, capture))
        finally:
            _local.state = None
        if anonymous and length > 0:
            skip_body(environ["wsgi.input"], length)
        status: str = captured["status"]
        headers: list[tuple[str, str]] = captured["headers"]
        if state.refusal is not None and status.startswith(("400", "403", "409")):
            return self._refused(environ, body, start_response, state.refusal)
        if status.startswith("400") and method == "PUT":
            reason = diagnose_unreadable(body)
            return self._refused(environ, body, start_response, WriteRefused.unreadable(reason))
        start_response(status, headers)
        if method == "PUT" and status.startswith("2") and self.on_written is not None:
            self._call(self.on_written, self._attempt(environ, body))
        return chunks

    @staticmethod
    def _attempt(environ: dict[str, Any], body: bytes) -> Attempt:
        login, password = basic_credentials(environ)
        return Attempt(
            environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""), login, password, body
        )

    def _refused(
        self,
        environ: dict[str, Any],
        body: bytes,
        start_response: StartResponse,
        refusal: WriteRefused,
    ) -> list[bytes]:
        answer = self._refuse(start_response, refusal)
        if self.on_refused is not None:
            self._call(self.on_refused, self._attempt(environ, body), refusal)
        return answer

    @staticmethod
    def _call(callback: Callable[..., None], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            # The answer is given already; a failed bookkeeping step must not change it.
            logger.exception("A refusal callback failed; the answer stands")

    @staticmethod
    def _bad_request(start_response: StartResponse, text: str) -> list[bytes]:
        payload = text.encode()
        start_response(
            "400 Bad Request",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    @staticmethod
    def _refuse(start_response: StartResponse, refusal: WriteRefused) -> list[bytes]:
        if refusal.xml is not None:
            payload, content_type = refusal.xml, "application/xml; charset=utf-8"
        else:
            payload, content_type = refusal.text.encode(), "text/plain; charset=utf-8"
        phrase = {400: "Bad Request", 403: "Forbidden", 409: "Conflict"}[refusal.status]
        start_response(
            f"{refusal.status} {phrase}",
            [("Content-Type", content_type), ("Content-Length", str(len(payload)))],
        )
        logger.info("Refused write: %s", refusal.text.splitlines()[0])
        return [payload]
