"""Checks of a CalDAV request's address and headers before Radicale sees them.

Radicale answers each of these with a 500 or a 502 of its own: a name longer than a file
name may be (``OSError: File name too long`` when storage makes or looks up the file), a
Destination that is not UTF-8 (502 Bad Gateway, as if it named another server), and a
charset in Content-Type that Python does not know or that does not read ASCII as ASCII
(Radicale decodes the login and password with it: ``LookupError``, or a password split
wrongly). Each is refused here with a reason in Russian and English.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import urllib.parse
from email.message import Message
from typing import Any

# The longest file name the storage can hold (NAME_MAX of Linux file systems).
MAX_NAME_BYTES = 255
LONG_NAME_TEXT = (
    f"Имя в адресе длиннее {MAX_NAME_BYTES} байт; выберите имя покороче.\n"
    f"A name in the address is longer than {MAX_NAME_BYTES} bytes; choose a shorter name.\n"
)
DESTINATION_TEXT = (
    "Адрес назначения (Destination) не в кодировке UTF-8.\n"
    "The Destination address is not UTF-8 text.\n"
)
CHARSET_TEXT = (
    "Кодировка {charset!r} в Content-Type не поддерживается; отправляйте UTF-8.\n"
    "The charset {charset!r} in Content-Type is not supported; send UTF-8.\n"
)
_ASCII_PROBE = b"Basic login:password-1"


def has_long_name(path: str) -> bool:
    """Whether a segment of a (decoded) path is longer than a file name may be."""
    return any(len(part.encode()) > MAX_NAME_BYTES for part in path.split("/"))


def destination_path(environ: dict[str, Any]) -> str | None:
    """The path of a MOVE or COPY Destination as text ("" if none), None if not UTF-8."""
    target = urllib.parse.urlsplit(environ.get("HTTP_DESTINATION", "")).path
    try:
        return urllib.parse.unquote_to_bytes(target).decode("utf-8")
    except UnicodeDecodeError:
        return None


def _charset(environ: dict[str, Any]) -> str:
    message = Message()
    message["Content-Type"] = environ.get("CONTENT_TYPE", "")
    found = message.get_param("charset")
    return found if isinstance(found, str) else ""


def _readable_charset(charset: str) -> bool:
    try:
        codecs.lookup(charset)
        return _ASCII_PROBE.decode(charset) == _ASCII_PROBE.decode("ascii")
    except (LookupError, UnicodeDecodeError, ValueError):
        return False


def request_problem(environ: dict[str, Any], dav_path: str) -> tuple[str, str] | None:
    """(status, text) refusing this request, or None if Radicale may have it."""
    destination = destination_path(environ)
    if destination is None:
        return "400 Bad Request", DESTINATION_TEXT
    if has_long_name(dav_path) or has_long_name(destination):
        return "400 Bad Request", LONG_NAME_TEXT
    charset = _charset(environ)
    if charset and not _readable_charset(charset):
        return "415 Unsupported Media Type", CHARSET_TEXT.format(charset=charset[:40])
    return None


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
