"""Adding and removing sources: what the CLI and the dashboard share.

A source mirrors one way into one partner's calendar. Its address must be http(s) without
a password in it (a password goes in an environment variable or a command, never in the
hub's data); the username may be given on its own.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from calhub.errors import UserError
from calhub.runtime import Runtime
from calhub.sources.sync import remove_mirrored
from calhub.store.audit import Origin, decision
from calhub.store.sources import KINDS, Source

__all__ = ["MIN_EVERY", "NewSource", "add_source", "parse_every", "remove_source"]

logger = logging.getLogger(__name__)

MIN_EVERY = 60  # seconds: more often would only load the partner's server
MAX_EVERY = 7 * 86_400
_EVERY = re.compile(r"^\s*(\d{1,6})\s*([smhd]?)\s*$")
_UNITS = {"": 60, "s": 1, "m": 60, "h": 3600, "d": 86_400}
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def parse_every(text: str) -> int:
    """``15m``, ``1h``, ``30`` (minutes) or ``90s`` → seconds."""
    match = _EVERY.match(text or "")
    seconds = int(match[1]) * _UNITS[match[2]] if match else 0
    if not MIN_EVERY <= seconds <= MAX_EVERY:
        raise UserError(
            f"{text!r} — не промежуток синхронизации / is not a sync interval.",
            hint="Use minutes, hours or days from 1m to 7d, e.g. 15m, 1h, 1d.",
        )
    return seconds


@dataclass(frozen=True, slots=True)
class NewSource:
    partner: str
    url: str
    kind: str = "ics"
    username: str = ""
    password_env: str = ""
    password_cmd: str = ""
    every_seconds: int = 900


def _check_url(url: str) -> str:
    url = url.strip()
    if url.startswith("webcal://"):
        url = "https://" + url[len("webcal://") :]  # a subscription link names the same feed
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise UserError(
            f"{url[:80]!r} — не адрес календаря / is not a calendar address.",
            hint="Give an http:// or https:// (or webcal://) address.",
        )
    if parts.password is not None:
        raise UserError(
            "В адресе есть пароль; хаб не хранит пароли. / The address holds a password; the "
            "hub never stores passwords.",
            hint="Leave it out of the address and give --username and --password-env VAR "
            "(or --password-cmd CMD).",
        )
    return url


def add_source(runtime: Runtime, new: NewSource, by: str, origin: Origin | None = None) -> Source:
    """A new source, due at once; a UserError says what to change."""
    calendar = runtime.settings.calendar(new.partner)
    if calendar is None or calendar.role != "partner" or calendar.archived:
        partners = ", ".join(c.id for c in runtime.settings.partners if not c.archived)
        raise UserError(
            f"Нет партнёра {new.partner}. / There is no partner {new.partner}.",
            hint=f"A source mirrors into a partner's calendar: {partners or 'calhub partner add'}.",
        )
    if new.kind not in KINDS:
        raise UserError(
            f"Вид источника {new.kind!r} неизвестен. / Unknown source kind {new.kind!r}.",
            hint=f"Use one of: {', '.join(KINDS)}.",
        )
    if new.password_env and new.password_cmd:
        raise UserError(
            "Укажите --password-env или --password-cmd, не оба. / Give --password-env or "
            "--password-cmd, not both.",
            hint="--password-env names a variable of the server's environment.",
        )
    if new.password_env and not ENV_NAME.match(new.password_env):
        raise UserError(
            f"{new.password_env!r} — не имя переменной окружения / is not a variable name.",
            hint="Name the variable, e.g. --password-env BFU_CALDAV_PASSWORD, not its value.",
        )
    if (new.password_env or new.password_cmd) and not new.username:
        raise UserError(
            "У пароля нет имени пользователя. / A password needs a username.",
            hint="Add --username.",
        )
    if not MIN_EVERY <= new.every_seconds <= MAX_EVERY:
        raise UserError("The interval is out of range.", hint="Use 1m to 7d, e.g. 15m.")
    source = runtime.sources.add(
        calendar=calendar.id,
        url=_check_url(new.url),
        kind=new.kind,
        interval_seconds=new.every_seconds,
        by=by,
        username=new.username.strip(),
        password_env=new.password_env,
        password_cmd=new.password_cmd,
    )
    _audit(runtime, by, "source-added", source, origin)
    return source


def _audit(runtime: Runtime, by: str, action: str, source: Source, origin: Origin | None) -> None:
    """The entry of a source added or removed: its number, partner and address without the
    query (a secret address carries its key there), never a credential."""
    parts = urlsplit(source.url)
    # No user name or password of the address either, should one have been typed into it.
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    shown = parts._replace(netloc=netloc, query="", fragment="").geturl()
    subject = f"source {source.id}: {source.calendar} ← {shown}"
    runtime.audit.record([decision(by, action, origin, calendar=source.calendar, subject=subject)])


def remove_source(
    runtime: Runtime, source_id: int, by: str = "cli", origin: Origin | None = None
) -> tuple[Source, int]:
    """Remove a source and every event mirrored from it; returns it and how many went."""
    source = runtime.sources.get(source_id)
    if source is None:
        raise UserError(
            f"Источника {source_id} нет / There is no source {source_id}.",
            hint="Номера источников / Source numbers: calhub source list",
        )
    removed = remove_mirrored(runtime, source)
    runtime.sources.remove(source_id)
    _audit(runtime, by, "source-removed", source, origin)
    logger.info("Source %d removed with its %d mirrored events", source_id, removed)
    return source, removed
