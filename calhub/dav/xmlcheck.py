"""A pre-parse check of the XML bodies CalDAV clients send, before anything parses them.

Radicale parses PROPFIND, PROPPATCH, REPORT, MKCALENDAR and MKCOL bodies with defusedxml,
which refuses a DTD or an entity by raising an error Radicale answers with 500; a body
nested some thousand levels deep makes its recursive walks overflow the stack (500 again);
and a REPORT that expands recurrences from year 1 or to year 9999 overflows its date
arithmetic (500). This check reads the body once with expat, as a stream of events (no tree,
no recursion), and refuses those bodies with 400 and a reason in Russian and English:

- a document type declaration or an entity declaration (nothing a CalDAV client sends;
  entity expansion is the "billion laughs" attack);
- elements nested deeper than ``MAX_DEPTH`` (a calendar-query filter is 7 levels deep);
- a ``DAV:href`` (a calendar-multiget names objects by it) with a name over 255 bytes;
- a recurrence ``expand`` outside the years ``EARLIEST_YEAR`` to ``LATEST_YEAR`` (a filter's
  ``time-range`` may be as wide as a client likes: Radicale compares it without arithmetic).

A body that is not well-formed XML passes: Radicale refuses it with its own 400.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
import xml.parsers.expat
from typing import Any

from calhub.dav.request import MAX_NAME_BYTES, has_long_name
from calhub.errors import CalhubError

logger = logging.getLogger(__name__)

XML_METHODS = frozenset({"PROPFIND", "PROPPATCH", "REPORT", "MKCALENDAR", "MKCOL"})
MAX_DEPTH = 64
# The years a school calendar can mean; well inside what datetime arithmetic can hold.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200
CALDAV_NS = "urn:ietf:params:xml:ns:caldav"
RANGE_ELEMENTS = frozenset({f"{CALDAV_NS} expand"})
HREF = "DAV: href"


class BadXml(CalhubError, ValueError):
    """Why a body is refused; ``text`` is the answer, in Russian and English."""

    def __init__(self, ru: str, en: str) -> None:
        super().__init__(en)
        self.text = f"Запрос не принят: {ru}\nThe request was refused: {en}\n"


def _doctype(*_args: Any) -> None:
    raise BadXml(
        "XML с объявлением DTD или сущностей не принимается; отправьте запрос без <!DOCTYPE>.",
        "XML with a document type (DTD) or entity declarations is not accepted; "
        "send the request without <!DOCTYPE>.",
    )


def _year(value: str) -> int | None:
    """The year of an iCalendar UTC date-time (``20270101T000000Z``), None if unreadable."""
    try:
        return dt.datetime.strptime(value.strip(), "%Y%m%dT%H%M%SZ").year
    except ValueError:
        return None


class _Walk:
    def __init__(self) -> None:
        self.depth = 0
        self.href: list[str] | None = None  # the text of the DAV:href being read

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        if name == HREF:
            self.href = []
        if self.depth > MAX_DEPTH:
            raise BadXml(
                f"XML вложен глубже {MAX_DEPTH} уровней.",
                f"the XML is nested deeper than {MAX_DEPTH} levels.",
            )
        if name in RANGE_ELEMENTS:
            for key in ("start", "end"):
                year = _year(attributes.get(key, ""))
                if year is not None and not EARLIEST_YEAR <= year <= LATEST_YEAR:
                    raise BadXml(
                        f"повторения раскрываются (expand) только с {EARLIEST_YEAR} по "
                        f"{LATEST_YEAR} год ({key}={attributes[key]}); сузьте диапазон.",
                        f"recurrences are expanded only within the years {EARLIEST_YEAR} to "
                        f"{LATEST_YEAR} ({key}={attributes[key]}); ask for a narrower range.",
                    )

    def text(self, data: str) -> None:
        if self.href is not None:
            self.href.append(data)

    def end(self, name: str) -> None:
        self.depth -= 1
        if name == HREF and self.href is not None:
            # A multiget names objects by href; storage cannot even look up a name
            # longer than a file name may be (OSError: a 500 from Radicale).
            path = urllib.parse.unquote(urllib.parse.urlsplit("".join(self.href)).path)
            self.href = None
            if has_long_name(path):
                raise BadXml(
                    f"имя в D:href длиннее {MAX_NAME_BYTES} байт.",
                    f"a name in a D:href is longer than {MAX_NAME_BYTES} bytes.",
                )


def check_xml_body(body: bytes) -> None:
    """Raise ``BadXml`` if ``body`` must not reach an XML parser or Radicale's REPORT."""
    if not body.strip():
        return
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    walk = _Walk()
    parser.StartDoctypeDeclHandler = _doctype
    parser.EntityDeclHandler = _doctype
    parser.StartElementHandler = walk.start
    parser.EndElementHandler = walk.end
    parser.CharacterDataHandler = walk.text
    try:
        parser.Parse(body, True)
    except xml.parsers.expat.ExpatError as exc:
        # Not well-formed: Radicale's parser says so with its own 400.
        logger.debug("XML body not well-formed, left to Radicale: %s", exc)
