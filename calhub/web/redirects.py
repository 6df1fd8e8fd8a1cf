"""Where the hub may send a browser after signing in or choosing a language: its own pages.

Browsers read a ``Location`` the WHATWG way: every ASCII tab and newline is dropped
anywhere in it, leading and trailing controls and spaces are trimmed, and a backslash
counts as a slash. So ``/\\t/evil.example`` passes a check that only looks for ``//`` at the
start, and the browser then goes to ``//evil.example``, another site. A target is accepted
only when no such normalisation can change it: no control, format or whitespace character
at all, no backslash, one leading slash, and nothing a URL parser reads as a scheme or host.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit


def _is_unsafe(character: str) -> bool:
    # C*: controls, format characters (zero-width, bidi), surrogates, unassigned;
    # Z*: every space and line or paragraph separator.
    return character == "\\" or character.isspace() or unicodedata.category(character)[0] in "CZ"


def same_site_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site however a browser reads it, else None."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(_is_unsafe(character) for character in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
