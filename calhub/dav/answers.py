"""Radicale's answers, corrected where apps would draw the wrong conclusion from them.

A thin WSGI layer around the embedded Radicale (inside ``RefusalMapper``, which buffers
Radicale's answer anyway):

- **Discovery at the root.** Radicale 3.9 lists, in a ``Depth: 1`` PROPFIND of ``/``, every
  share of the user whose path starts with ``/`` (all its ``hub-*`` views, two levels down)
  and every principal the user may read. Apps that start from the root then take the root
  for the calendar home and sync only the read-only views. RFC 4918 gives a Depth 1 answer
  the resource and its direct members; the hub's root answers with itself and the user's
  own principal, which leads on to ``calendar-home-set``.
- **Privileges.** Radicale advertises ``DAV:all`` and ``DAV:write`` on every calendar the
  user may write, and no ``bind``/``unbind``; for hub calendars and views the privileges
  advertised are exactly what ``calhub.hub.policy`` allows.
- **max-resource-size** is the hub's own body limit, read from ``calhub.toml`` (Radicale
  knows only the ceiling it was started with).
- **A refused write says which privilege is missing** (``DAV:need-privileges``, RFC 3744
  §7.1.1), so apps treat the calendar as read-only rather than report a sync error.
"""

from __future__ import annotations

import io
import logging
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from calhub.dav.refusal import DAV_NS, error_xml, xml_answer
from calhub.dav.request import basic_credentials
from calhub.hub.policy import Policy

logger = logging.getLogger(__name__)

CALDAV_NS = "urn:ietf:params:xml:ns:caldav"
NAMESPACES = {"D": DAV_NS, "C": CALDAV_NS}
RADICALE_FORBIDDEN = b"Access to the requested resource forbidden."
# The privilege each write method needs (RFC 3744 §3): on the resource or its collection.
NEEDED_PRIVILEGE = {
    "PUT": "write-content",
    "DELETE": "unbind",
    "MOVE": "unbind",
    "PROPPATCH": "write-properties",
    "MKCALENDAR": "bind",
    "MKCOL": "bind",
}
READ_ONLY_TEXT = (
    "Нет прав на это действие: календарь для вас только для чтения "
    "(менять можно только мероприятия своего календаря).\n"
    "You may not do this here: this calendar is read-only for you "
    "(you may change the events of your own calendar only).\n"
)

WHOLE_CALENDAR_TEXT = (
    "Календарь хаба не заменяется целиком одним PUT: это удалило бы все мероприятия, которых "
    "нет в запросе. Отправляйте каждое мероприятие отдельным PUT.\n"
    "A hub calendar is never replaced whole with one PUT: that would delete every event not "
    "in the body. Send each event with a PUT of its own.\n"
)
VIEW_NAME_TEXT = (
    "Имена hub-… заняты представлениями календарей хаба; выберите другое имя.\n"
    "Names starting with hub- are kept for the views of hub calendars; choose another name.\n"
)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _clark(prefixed: str) -> str:
    prefix, _, name = prefixed.partition(":")
    return f"{{{NAMESPACES[prefix]}}}{name}"


class DavAnswers:
    def __init__(self, app: WSGIApp, access: Policy, body_limit: Callable[[], int]) -> None:
        self.app = app
        self.access = access
        self.body_limit = body_limit

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        rewrite = method == "PROPFIND" and self._may_rewrite(environ)
        if not rewrite and method not in NEEDED_PRIVILEGE:
            return self.app(environ, start_response)
        # Radicale compresses its answer for a client that accepts gzip; the answer is read
        # here first, and compressed (the same way) only once it is final.
        gzip_wanted = "gzip" in environ.pop("HTTP_ACCEPT_ENCODING", "")
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        status: str = captured["status"]
        headers: list[tuple[str, str]] = captured["headers"]
        if rewrite and status.startswith("207"):
            body = self._propfind(environ, body)
        elif status.startswith("403") and body == RADICALE_FORBIDDEN and method != "PROPFIND":
            return self._need_privileges(environ, method, start_response)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        if gzip_wanted and method == "PROPFIND":
            compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
            body = compressor.compress(body) + compressor.flush()
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    @staticmethod
    def _may_rewrite(environ: dict[str, Any]) -> bool:
        """Whether a PROPFIND's answer may need correcting: at the root, or asking for the
        privileges or the size limit (or for every property)."""
        path = environ.get("PATH_INFO", "/")
        if path.strip("/") == "" and environ.get("HTTP_DEPTH", "0") == "1":
            return True
        # RefusalMapper, outside this layer, has read the request body into a BytesIO.
        source = environ["wsgi.input"]
        request = source.getvalue() if isinstance(source, io.BytesIO) else b""
        return (
            not request.strip()
            or b"allprop" in request
            or b"current-user-privilege-set" in request
            or b"max-resource-size" in request
        )

    # -- PROPFIND ----------------------------------------------------------------------

    def _propfind(self, environ: dict[str, Any], body: bytes) -> bytes:
        """The corrected multistatus (Radicale's own, if it cannot be read)."""
        path = environ.get("PATH_INFO", "/")
        at_root = path.strip("/") == "" and environ.get("HTTP_DEPTH", "0") == "1"
        try:
            # Radicale's own output, written by ElementTree: no DTD, no entities.
            root = ET.fromstring(body)  # noqa: S314
        except ET.ParseError:
            logger.warning("Radicale's PROPFIND answer for %s is not XML; sent as it is", path)
            return body
        login = basic_credentials(environ)[0]
        prefix = environ.get("SCRIPT_NAME", "")
        for response in list(root.findall("D:response", NAMESPACES)):
            href = response.findtext("D:href", "", NAMESPACES)
            member = unquote(urlsplit(href).path)
            if not member.startswith(prefix):
                continue
            member = member[len(prefix) :] or "/"
            if at_root and member.strip("/") not in ("", login):
                root.remove(response)
                continue
            self._correct_props(response, login, member)
        corrected: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        return corrected

    def _correct_props(self, response: ET.Element, login: str, member: str) -> None:
        privileges = self.access.privileges(login, member) if member.endswith("/") else None
        for prop in response.iterfind("D:propstat/D:prop", NAMESPACES):
            granted = prop.find("D:current-user-privilege-set", NAMESPACES)
            if granted is not None and privileges is not None:
                for child in list(granted):
                    granted.remove(child)
                for name in privileges:
                    ET.SubElement(granted, _clark("D:privilege")).append(ET.Element(_clark(name)))
            size = prop.find("C:max-resource-size", NAMESPACES)
            if size is not None:
                size.text = str(self.body_limit())

    # -- refused writes ----------------------------------------------------------------

    def _need_privileges(
        self, environ: dict[str, Any], method: str, start_response: StartResponse
    ) -> list[bytes]:
        href = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "/")
        resource = ET.Element(_clark("D:resource"))
        ET.SubElement(resource, _clark("D:href")).text = href
        privilege = ET.SubElement(resource, _clark("D:privilege"))
        ET.SubElement(privilege, _clark(f"D:{NEEDED_PRIVILEGE[method]}"))
        path = environ.get("PATH_INFO", "/")
        text = READ_ONLY_TEXT
        if method == "PUT" and path.endswith("/"):
            text = WHOLE_CALENDAR_TEXT
        elif method in ("MKCALENDAR", "MKCOL") and path.rstrip("/").rsplit("/", 1)[-1].startswith(
            "hub-"
        ):
            text = VIEW_NAME_TEXT
        payload = error_xml(DAV_NS, "need-privileges", text, details=[resource])
        return xml_answer(start_response, "403 Forbidden", payload)
