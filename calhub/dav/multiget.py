"""A phone's calendar-multiget of a hub calendar, answered with the bytes Radicale would send.

After a sync names what changed, a phone asks for those objects in a ``calendar-multiget``
REPORT (RFC 4791 §7.9): their ``getetag`` and ``calendar-data``, 10 to 100 at a time.
Radicale's own REPORT is generic (filters, expansion, shares, address books): most of its
time for this one common form goes to that generality, to normalising each href twice and
to building and serialising an element tree. :class:`MultigetApplication` answers exactly
that form itself, and hands every other REPORT to Radicale unchanged:

- the request: a ``calendar-multiget`` of a hub calendar's own collection (no share, no
  view), whose ``prop`` names ``getetag`` and/or ``calendar-data`` (no ``comp``, no
  ``expand``, nothing else), and whose hrefs are objects of that collection, written the
  way Radicale would write them back;
- the objects: from the storage plugin's ``get_multi`` (the index's rows and one read of
  each file, or Radicale's own reads when the index cannot vouch for a file), under
  Radicale's read lock, with the same rights checks;
- the answer: the same multistatus, byte for byte (the 404s of objects not stored first,
  then the others; Radicale keeps the hrefs in a set, so its order is its process's hash
  order, and the hub's is the order asked), through Radicale's own response path (status,
  headers, compression, its access log line).

Anything outside that form, or any doubt (an object over Radicale's occurrence limit, a
body that does not parse), goes to Radicale, which answers it as it always did.
"""

from __future__ import annotations

import io
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from http import client
from typing import Any, NamedTuple
from urllib.parse import quote, unquote, urlparse

from radicale import pathutils, xmlutils
from radicale.app import Application
from radicale.app.base import Access
from radicale.storage import BaseCollection

logger = logging.getLogger(__name__)

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
MULTIGET = f"{{{CALDAV}}}calendar-multiget"
PROP = f"{{{DAV}}}prop"
HREF = f"{{{DAV}}}href"
GETETAG = f"{{{DAV}}}getetag"
CALENDAR_DATA = f"{{{CALDAV}}}calendar-data"
# How ElementTree writes each (Radicale registers DAV: as the default namespace, C: for
# CalDAV), and the statuses as Radicale's xmlutils.make_response words them.
TAGS = {GETETAG: "getetag", CALENDAR_DATA: "C:calendar-data"}
DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"
OK = "<status>HTTP/1.1 200 OK</status>"
NOT_FOUND = "<status>HTTP/1.1 404 Not Found</status>"


class Multiget(NamedTuple):
    """What a multiget of the answered form asks for: the properties in the order named,
    and the objects' names, each once, in the order asked."""

    props: tuple[str, ...]
    names: list[str]


def parse_multiget(root: ET.Element, base_prefix: str, collection_path: str) -> Multiget | None:
    """The request, if it is of the form answered here; None for anything else."""
    if root.tag != MULTIGET:
        return None
    props: list[str] | None = None
    hrefs: list[str] = []
    for child in root:
        if child.tag == HREF:
            hrefs.append(child.text or "")
        elif child.tag == PROP and props is None:
            props = []
            for prop in child:
                if prop.tag not in TAGS or len(prop) or prop.attrib or (prop.text or "").strip():
                    return None
                props.append(prop.tag)
        else:
            return None
    if not props or len(set(props)) != len(props):
        return None
    prefix = f"{base_prefix}/{collection_path}/"
    names: list[str] = []
    seen: set[str] = set()
    for href in hrefs:
        # urlparse, as Radicale: a ``;params`` tail is not part of the path.
        path = unquote(urlparse(href).path)
        name = path[len(prefix) :] if path.startswith(prefix) else ""
        # A name Radicale would not store (or an href it would first normalise): its own path.
        if not pathutils.is_safe_filesystem_path_component(name):
            return None
        if name not in seen:
            seen.add(name)
            names.append(name)
    return Multiget(tuple(props), names)


def _escaped(text: str) -> str:
    # ElementTree's character data escapes: &, < and > (quotes stay as they are).
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def vevent_lines(text: str) -> int:
    """Radicale's count of a served object's events (lines reading ``BEGIN:VEVENT``)."""
    return sum(1 for line in text.splitlines() if line.upper() == "BEGIN:VEVENT")


def over_limit(texts: Iterable[str], limit: int) -> bool:
    """Whether Radicale would refuse to serve these texts, ``limit`` events in all being
    its most (each line it counts holds the words, so their count bounds it from above:
    the exact count is needed only past the limit)."""
    texts = list(texts)
    if sum(text.upper().count("BEGIN:VEVENT") for text in texts) <= limit:
        return False
    return sum(vevent_lines(text) for text in texts) > limit


def multistatus(
    base_prefix: str,
    collection_path: str,
    props: tuple[str, ...],
    missing: Iterable[str],
    found: Iterable[tuple[str, str, str]],
) -> str:
    """The multistatus Radicale's REPORT writes: a 404 for each name not stored, then each
    stored object's (name, etag, text) with the properties asked for."""

    # Radicale's href of an object, quote(base_prefix + "/" + path + "/" + name): quote
    # encodes character by character, so the collection's part is encoded once.
    folder = quote(base_prefix + pathutils.unstrip_path(collection_path, True))

    def href(name: str) -> str:
        return f"<href>{folder}{quote(name)}</href>"

    parts = [f"<response>{href(name)}{NOT_FOUND}</response>" for name in missing]
    data = False
    for name, etag, text in found:
        values = []
        for prop in props:
            value = _escaped(etag if prop == GETETAG else text)
            data = data or prop == CALENDAR_DATA
            values.append(f"<{TAGS[prop]}>{value}</{TAGS[prop]}>")
        parts.append(
            f"<response>{href(name)}<propstat><prop>{''.join(values)}</prop>{OK}</propstat>"
            "</response>"
        )
    if not parts:
        return f'{DECLARATION}<multistatus xmlns="{DAV}" />'
    spaces = f' xmlns="{DAV}"' + (f' xmlns:C="{CALDAV}"' if data else "")
    return f"{DECLARATION}<multistatus{spaces}>{''.join(parts)}</multistatus>"


class MultigetApplication(Application):
    """Radicale's application, with the common calendar-multiget answered as above."""

    def do_REPORT(
        self,
        environ: Mapping[str, Any],
        base_prefix: str,
        path: str,
        user: str,
        user_groups: set[str],
        request_info: dict[str, Any],
    ) -> Any:
        stream = environ.get("wsgi.input")
        # Answered here only when calhub.dav.mapper has read the body already (it reads
        # every signed-in request's): so Radicale can be given it again, unread.
        if isinstance(environ, dict) and isinstance(stream, io.BytesIO) and self._utf8():
            raw = stream.getvalue()
            try:
                answer = self._multiget(environ, base_prefix, path, user, user_groups, request_info)
            finally:
                environ["wsgi.input"] = io.BytesIO(raw)
            if answer is not None:
                return answer
        return super().do_REPORT(environ, base_prefix, path, user, user_groups, request_info)

    def _utf8(self) -> bool:
        return bool(self._encoding == "utf-8")

    def _multiget(
        self,
        environ: Mapping[str, Any],
        base_prefix: str,
        path: str,
        user: str,
        user_groups: set[str],
        request_info: dict[str, Any],
    ) -> Any:
        if self._sharing._enabled and self._sharing.sharing_collection_resolver(
            path, user, user_groups
        ):
            return None
        access = Access(self._rights, user, user_groups, path, None)
        if not access.check("r"):
            return None
        try:
            root = self._read_xml_request_body(environ, request_info)
        except (RuntimeError, OSError):
            return None
        if root is None or root.tag != MULTIGET:
            return None
        with self._storage.acquire_lock("r", user):
            collection = next(iter(self._storage.discover(path)), None)
            if not self._answerable(collection, path) or not access.check("r", collection):
                return None
            assert isinstance(collection, BaseCollection)
            asked = parse_multiget(root, base_prefix, collection.path)
            if asked is None:
                return None
            missing: list[str] = []
            found: list[tuple[str, str, str]] = []
            for name, item in collection.get_multi(asked.names):
                if item is None:
                    missing.append(name)
                else:
                    found.append((name, item.etag, item.serialize()))
        limit = self.configuration.get("reporting", "max_expand_occurrence")
        texts = (text for _, _, text in found)
        if CALENDAR_DATA in asked.props and limit and over_limit(texts, limit):
            return None  # Radicale refuses it, with its own words
        body = multistatus(base_prefix, collection.path, asked.props, missing, found)
        request_info["status"] = client.MULTI_STATUS
        headers = {"Content-Type": f"text/xml; charset={self._encoding}"}
        return client.MULTI_STATUS, headers, body.encode(self._encoding), xmlutils.pretty_xml(root)

    @staticmethod
    def _answerable(collection: object, path: str) -> bool:
        """A calendar collection of the hub's storage, asked for by its own path (its
        objects come from the storage plugin: a hub calendar's through the index)."""
        from calhub.dav.plugins.storage import Collection

        return (
            isinstance(collection, Collection)
            and collection.tag == "VCALENDAR"
            and pathutils.strip_path(path) == collection.path
        )
