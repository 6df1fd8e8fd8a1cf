"""A bound on the properties one WebDAV request names, checked before Radicale reads it.

Radicale answers every property named in a PROPFIND or REPORT for every resource it lists,
and looks each one up among all the properties it knows, so the work grows with their
product: a PROPFIND naming 20,000 properties kept a worker thread busy for 11 s. A PROPPATCH,
MKCALENDAR or MKCOL setting 20,000 properties took a second and stored all of them, for every
later PROPFIND to read. Calendar apps name a few dozen at most. The body is read once with
expat, as a stream of events, and counting stops at the limit; a body that is not
well-formed XML is left to Radicale's own 400.
"""

from __future__ import annotations

import logging
import xml.parsers.expat
from collections.abc import Callable
from typing import Any

from calhub.dav.refusal import CALHUB_NS, error_xml, xml_answer
from calhub.errors import CalhubError

logger = logging.getLogger(__name__)

METHODS = frozenset({"PROPFIND", "REPORT", "PROPPATCH", "MKCALENDAR", "MKCOL"})
# Elements whose children each name a property: DAV:prop and DAV:include (RFC 4918), and
# CALDAV:prop inside calendar-data, which names iCalendar properties to return.
_NAMING = frozenset({"prop", "include"})
SETTING = "calhub.toml [hub] max_properties_per_request"


class _TooMany(CalhubError):
    pass


class _Count:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.found = 0
        self.stack: list[str] = []

    def start(self, name: str, _attributes: Any) -> None:
        if self.stack and self.stack[-1].rpartition(" ")[2] in _NAMING:
            self.found += 1
            if self.found > self.limit:
                raise _TooMany
        self.stack.append(name)

    def end(self, _name: str) -> None:
        self.stack.pop()


def names_too_many(body: bytes, limit: int) -> bool:
    """Whether the XML ``body`` names more than ``limit`` properties."""
    if body.count(b"<") <= limit:
        return False  # every property is an element: fewer tags than the limit is below it
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    count = _Count(limit)
    parser.StartElementHandler = count.start
    parser.EndElementHandler = count.end
    try:
        parser.Parse(body, True)
    except _TooMany:
        return True
    except xml.parsers.expat.ExpatError as exc:
        logger.debug("XML body not well-formed, left to Radicale: %s", exc)
    return False


def refuse_many_properties(
    method: str, body: bytes, limit: int, start_response: Callable[..., Any]
) -> list[bytes] | None:
    """A 403 answer if the XML ``body`` of a PROPFIND, REPORT, PROPPATCH, MKCALENDAR or
    MKCOL names more than ``limit`` properties, else None (the request goes on)."""
    if method not in METHODS or not body or not names_too_many(body, limit):
        return None
    text = (
        f"Запрос не принят: в {method} названо больше {limit} свойств; хаб отвечает не больше "
        f"чем на {limit} за запрос ({SETTING}). Запросите свойства частями.\n"
        f"The request was refused: the {method} names more than {limit} properties; the hub "
        f"answers at most {limit} per request ({SETTING}). Ask for them in smaller parts.\n"
    )
    logger.info("Refused %s naming more than %d properties", method, limit)
    payload = error_xml(CALHUB_NS, "max-properties", text)
    return xml_answer(start_response, "403 Forbidden", payload)
