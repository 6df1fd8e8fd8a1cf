"""Radicale's parser (vobject) reads a single-valued TEXT property whole.

vobject 0.9.9 decodes SUMMARY, LOCATION, DESCRIPTION, COMMENT, CONTACT, UID and every
property it has no behaviour for (X-CALHUB-AUDIENCE and other X- names) as a list split at
unescaped commas and keeps the first item. RFC 5545 asks senders to escape a comma in
TEXT, but some apps and hand-made or generated files do not: ``SUMMARY:Олимпиада [5, 7А]``
was stored as ``SUMMARY:Олимпиада [5``, so the audience tag was lost for the hub and for
every app that synced the event afterwards. icalendar, which the clash engine reads with,
and calendar apps read such a value whole; with :func:`install` Radicale does too, and
stores it escaped (``Олимпиада [5\\, 7А]``), which every reader takes the same way.

Only TEXT properties change: RFC 5545's single-valued ones and X- names (TEXT unless a
VALUE parameter says otherwise). CATEGORIES and RESOURCES are comma-separated lists and
vobject reads them with another behaviour; a property vobject does not know that is no
TEXT (RDATE inside a VTIMEZONE's STANDARD) keeps vobject's reading, which its time-zone
code relies on. A value whose VALUE parameter names another type
(``X-APPLE-STRUCTURED-LOCATION;VALUE=URI:geo:54.71,20.51``) is kept exactly as sent:
it is not TEXT, so it has no escapes to read, and escaping its commas on the way out
would change it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from vobject import icalendar as vobject_icalendar

__all__ = ["TEXT_PROPERTIES", "install", "read_text"]

logger = logging.getLogger(__name__)

# The escapes vobject reads in TEXT (RFC 5545's four and its own \"), so a value with no
# bare comma reads exactly as before; any other backslash is kept, as vobject keeps it.
_ESCAPE = re.compile(r'\\([\\;,nN"])')
_BASE64 = "BASE64"
_TEXT = "TEXT"
# RFC 5545's properties of one TEXT value (section 3.8), whichever behaviour vobject gives.
TEXT_PROPERTIES = frozenset(
    {
        "CALSCALE",
        "METHOD",
        "PRODID",
        "CLASS",
        "COMMENT",
        "DESCRIPTION",
        "LOCATION",
        "STATUS",
        "SUMMARY",
        "TRANSP",
        "TZNAME",
        "CONTACT",
        "RELATED-TO",
        "UID",
        "ACTION",
    }
)

_text_behavior: Any = vobject_icalendar.TextBehavior
# vobject's own decode, still used for what is not TEXT and for BASE64 content.
_vobject_decode = _text_behavior.decode


def read_text(value: str) -> str:
    """An escaped TEXT value as text: escapes resolved, commas and all kept."""
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _first_param(line: Any, name: str) -> str:
    values = line.params.get(name) or [""]
    return str(values[0]).upper()


def _decode_whole(cls: Any, line: Any) -> None:
    """TextBehavior.decode without the split at commas (vobject calls it on every read)."""
    if not line.encoded:
        return
    name = str(line.name).upper()
    is_text = name in TEXT_PROPERTIES or name.startswith("X-")
    if not is_text or _first_param(line, "ENCODING") == _BASE64:
        _vobject_decode(line)
        return
    kind = _first_param(line, "VALUE")
    if kind and kind != _TEXT:
        # Not TEXT: left encoded, so vobject writes it back unchanged as well.
        return
    line.value = read_text(line.value)
    line.encoded = False


def install() -> None:
    """Make vobject read single-valued TEXT whole, for the whole process; idempotent.

    Called when the hub's Radicale storage is built: Radicale builds its storage before it
    reads any request, and the hub's own writers (import) open a storage first.
    """
    if getattr(_text_behavior.decode, "__func__", None) is _decode_whole:
        return
    _text_behavior.decode = classmethod(_decode_whole)
    logger.debug("vobject reads single-valued TEXT properties whole")
