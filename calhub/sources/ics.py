"""Fetching an ICS source over HTTP: conditional, bounded in size, time and redirects.

The ETag and Last-Modified of the last fetch go out as ``If-None-Match`` and
``If-Modified-Since``, so a calendar that has not changed costs a 304 and nothing more.
The body may come gzip-compressed (niquests undoes it); what counts against
``[sources] max_bytes`` is the calendar after that, read a piece at a time, so a huge or a
decompression-bomb feed is refused before it fills memory. ``[sources] timeout_seconds``
bounds each wait and the whole download.

niquests is the HTTP client the ``caldav`` library already brings (a maintained fork of
requests): no other client is added for this.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from calhub.hub.settings import SourceSettings
from calhub.sources.errors import SourceFailed

if TYPE_CHECKING:
    import niquests

logger = logging.getLogger(__name__)

USER_AGENT = "calhub (school calendar hub; +https://calendar.school.example)"
PIECE = 64 * 1024


@dataclass(frozen=True, slots=True)
class Fetch:
    """What a fetch brought: the calendar text, or None when it had not changed (304)."""

    text: str | None
    etag: str = ""
    last_modified: str = ""
    sync_token: str = ""  # a CalDAV source's


def where(url: str) -> str:
    """The part of a source's address that may be shown in an error or a log: a secret
    address (Google's, Outlook's) carries its key in the path or the query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"


def fetch_ics(
    url: str,
    limits: SourceSettings,
    *,
    etag: str = "",
    last_modified: str = "",
    auth: tuple[str, str] | None = None,
) -> Fetch:
    """GET the calendar at ``url``; :class:`SourceFailed` says why it could not be read."""
    # Loaded on the first fetch: the HTTP client costs a server about 9 MB it needs only
    # when a source is synced.
    import niquests

    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    host = where(url)
    started = time.monotonic()
    with niquests.Session() as session:
        session.max_redirects = limits.max_redirects
        session.trust_env = False  # a proxy or netrc of the server's account is not asked
        try:
            response = session.get(
                url,
                headers=headers,
                auth=auth,
                timeout=limits.timeout_seconds,
                stream=True,
                allow_redirects=True,
            )
        except niquests.exceptions.TooManyRedirects:
            raise SourceFailed(
                f"{host}: больше {limits.max_redirects} перенаправлений",
                f"{host}: more than {limits.max_redirects} redirects",
            ) from None
        except niquests.exceptions.Timeout:
            raise SourceFailed.timeout(host, limits.timeout_seconds) from None
        except niquests.exceptions.RequestException as exc:
            raise SourceFailed(
                f"{host} недоступен ({type(exc).__name__})",
                f"{host} cannot be reached ({type(exc).__name__})",
            ) from None
        with response:
            return _read(response, host, limits, started, etag, last_modified)


def _read(
    response: niquests.Response,
    host: str,
    limits: SourceSettings,
    started: float,
    etag: str,
    last_modified: str,
) -> Fetch:
    import niquests  # loaded already by fetch_ics

    status = response.status_code or 0
    if status == 304:
        return Fetch(None, etag, last_modified)
    if status in (401, 403):
        raise SourceFailed(
            f"{host} отказал в доступе ({status}): проверьте имя и пароль источника",
            f"{host} refused access ({status}): check the source's username and password",
        )
    if status == 404:
        raise SourceFailed(
            f"{host}: календаря по этому адресу нет (404)",
            f"{host}: there is no calendar at this address (404)",
        )
    if not 200 <= status < 300:
        raise SourceFailed(
            f"{host} ответил ошибкой {status}", f"{host} answered with an error {status}"
        )
    too_big = SourceFailed(
        f"календарь {host} больше предела {limits.max_bytes} байт ([sources] max_bytes)",
        f"the calendar of {host} is larger than the limit of {limits.max_bytes} bytes "
        "([sources] max_bytes)",
    )
    declared = response.headers.get("Content-Length", "")
    encoding = response.headers.get("Content-Encoding", "")
    if declared.isdigit() and not encoding and int(declared) > limits.max_bytes:
        raise too_big
    body = bytearray()
    try:
        for piece in response.iter_content(PIECE):
            body.extend(piece)
            if len(body) > limits.max_bytes:
                raise too_big
            if time.monotonic() - started > limits.timeout_seconds:
                raise SourceFailed(
                    f"{host} не прислал календарь за {limits.timeout_seconds} с",
                    f"{host} did not send its calendar within {limits.timeout_seconds} s",
                )
    except niquests.exceptions.RequestException as exc:
        raise SourceFailed(
            f"{host} оборвал передачу ({type(exc).__name__})",
            f"{host} broke off the download ({type(exc).__name__})",
        ) from None
    return Fetch(
        _text(bytes(body), host, response.encoding),
        response.headers.get("ETag", "") or "",
        response.headers.get("Last-Modified", "") or "",
    )


def _text(body: bytes, host: str, declared: str | None) -> str:
    """The calendar as text: UTF-8 (RFC 5545), else the charset the server declared."""
    for encoding in ("utf-8-sig", declared):
        if not encoding:
            continue
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise SourceFailed(
        f"{host} прислал не текст в UTF-8", f"{host} sent something that is not UTF-8 text"
    )
