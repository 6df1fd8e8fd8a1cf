"""PROPPATCH of a hub calendar: which properties an app may change.

A partner's app may relabel the partner's own calendar as calendar apps do (Apple Calendar
sends a PROPPATCH when the user recolours or renames a calendar): its display name, colour,
order and description, as in plain Radicale. Those are the calendar's own labels in the
partner's apps; everybody else (the views in other logins' homes, the dashboard) keeps the
name and colour from ``calhub.toml``. What the hub relies on is protected for everyone
(RFC 4918 §16 ``DAV:cannot-modify-protected-property``): the component set (events only),
the time zone, the resource type. Views refuse every PROPPATCH (``calhub.dav.plugins.sharing``).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from calhub.dav.refusal import DAV_NS, error_xml, xml_answer
from calhub.dav.request import basic_credentials

if TYPE_CHECKING:
    from calhub.hub import Hub

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

APPLE_NS = "http://apple.com/ns/ical/"
CALDAV_NS = "urn:ietf:params:xml:ns:caldav"
LABELS = frozenset(
    {
        f"{{{DAV_NS}}}displayname",
        f"{{{APPLE_NS}}}calendar-color",
        f"{{{APPLE_NS}}}calendar-order",
        f"{{{CALDAV_NS}}}calendar-description",
    }
)
PROTECTED_TEXT = (
    "Это свойство календаря хаба изменить нельзя (можно менять название, цвет, порядок и "
    "описание): {names}.\n"
    "This property of a hub calendar cannot be changed (its name, colour, order and "
    "description can): {names}.\n"
)


def changed_properties(body: bytes) -> list[str] | None:
    """The properties a PROPPATCH body sets or removes (Clark names); None if unreadable."""
    try:
        # Radicale parses the same body right after with the same parser.
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError:
        return None
    names: list[str] = []
    for action in ("set", "remove"):
        for prop in root.iterfind(f"{{{DAV_NS}}}{action}/{{{DAV_NS}}}prop"):
            names.extend(child.tag for child in prop)
    return names


class PropertyGuard:
    """Refuses a PROPPATCH of a hub calendar that touches a protected property."""

    def __init__(self, app: WSGIApp, hub: Hub) -> None:
        self.app = app
        self.hub = hub

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "PROPPATCH":
            return self.app(environ, start_response)
        calendar = self.hub.settings.calendar_by_path(environ.get("PATH_INFO", ""))
        source = environ["wsgi.input"]
        if calendar is None or calendar.archived or not isinstance(source, io.BytesIO):
            return self.app(environ, start_response)
        login, password = basic_credentials(environ)
        if not login or self.hub.accounts.verify(login, password) is None:
            return self.app(environ, start_response)  # Radicale asks for a login (401)
        names = changed_properties(source.getvalue())
        protected = sorted(set(names or ()) - LABELS)
        if not protected:
            # An unreadable body is Radicale's to refuse (400), as for any collection.
            return self.app(environ, start_response)
        text = PROTECTED_TEXT.format(names=", ".join(protected))
        payload = error_xml(DAV_NS, "cannot-modify-protected-property", text)
        return xml_answer(start_response, "403 Forbidden", payload)
