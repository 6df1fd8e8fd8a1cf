"""Fetching a CalDAV source (Yandex, Nextcloud, another Radicale) with the ``caldav`` library.

The last sync's token goes out in a ``sync-collection`` REPORT (RFC 6578): when nothing was
added, changed or deleted since, the source has not changed and nothing more is asked.
Otherwise the whole calendar is read again (its objects' data) and mirrored as a whole, as
an ICS feed is: the mirror compares by digest, so only what changed is written. A server
without ``sync-collection`` gets the library's own fallback, a token made of the objects'
ETags (the ctag/etag way), with the same result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from calhub.hub.settings import SourceSettings
from calhub.sources.errors import SourceFailed
from calhub.sources.ics import where

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Remote:
    """The calendar's objects (None: not changed since ``sync_token``) and its new token."""

    texts: list[str] | None
    sync_token: str


def fetch_caldav(
    url: str,
    limits: SourceSettings,
    *,
    sync_token: str = "",
    auth: tuple[str, str] | None = None,
) -> Remote:
    # Loaded on the first CalDAV sync: caldav with lxml and niquests cost a server about
    # 16 MB it needs only then.
    import niquests
    from caldav.davclient import DAVClient
    from caldav.lib import error as caldav_error

    host = where(url)
    username, secret = auth if auth is not None else (None, None)
    try:
        with DAVClient(
            url=url, username=username, password=secret, timeout=limits.timeout_seconds
        ) as client:
            calendar = client.calendar(url=url)  # type: ignore[no-untyped-call]
            if sync_token:
                changes = calendar.get_objects_by_sync_token(
                    sync_token=sync_token, load_objects=False
                )
                if len(changes) == 0 and not changes.deleted_urls:
                    return Remote(None, str(changes.sync_token or sync_token))
            whole = calendar.get_objects_by_sync_token(load_objects=True)
            texts: list[str] = []
            size = 0
            for item in whole:
                data = item.data
                if not data:
                    continue
                size += len(data.encode("utf-8"))
                if size > limits.max_bytes:
                    raise SourceFailed(
                        f"календарь {host} больше предела {limits.max_bytes} байт "
                        "([sources] max_bytes)",
                        f"the calendar of {host} is larger than the limit of "
                        f"{limits.max_bytes} bytes ([sources] max_bytes)",
                    )
                texts.append(data)
            return Remote(texts, str(whole.sync_token or ""))
    except caldav_error.AuthorizationError:
        raise SourceFailed(
            f"{host} отказал в доступе: проверьте имя и пароль источника",
            f"{host} refused access: check the source's username and password",
        ) from None
    except caldav_error.NotFoundError:
        raise SourceFailed(
            f"{host}: календаря по этому адресу нет",
            f"{host}: there is no calendar at this address",
        ) from None
    except niquests.exceptions.Timeout:
        raise SourceFailed.timeout(host, limits.timeout_seconds) from None
    except (caldav_error.DAVError, niquests.exceptions.RequestException) as exc:
        raise SourceFailed(
            f"{host}: ошибка CalDAV ({type(exc).__name__})",
            f"{host}: CalDAV error ({type(exc).__name__})",
        ) from None
