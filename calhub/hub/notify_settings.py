"""``[notify]``, ``[notify.smtp]`` and ``[notify.webhook]`` of ``calhub.toml``: who the hub's
messages come from and how they leave (read by :mod:`calhub.notify`).

The SMTP password is never in the file: ``password_env`` names an environment variable of
the server process, ``password_cmd`` a command that prints it (a secret store); the same
holds for the webhook's signing key (``secret_env``). Without an
SMTP ``host`` nothing is sent: notices are kept and ``calhub outbox`` says why.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from calhub.engine.schedule import parse_clock
from calhub.errors import ConfigError

__all__ = [
    "NOTIFY_SCHEMA",
    "SMTP_SCHEMA",
    "WEBHOOK_SCHEMA",
    "NotifySettings",
    "SmtpSettings",
    "WebhookSettings",
    "read_notify",
]

SECURITIES = ("none", "starttls", "tls")
SOFT_MODES = ("digest", "immediate", "off")
HOST_PATTERN = re.compile(r"^[A-Za-z0-9.:-]{1,253}$")
ENV_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
SENDER_PATTERN = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")


@dataclass(frozen=True, slots=True)
class _Option:
    default: Any
    help: str
    allowed: str


def _choice(value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{value!r} is not one of {', '.join(choices)}")
    return str(value)


def _int(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"must be a whole number from {low} to {high}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a text in quotes")
    return value.strip()


def _sender(value: Any) -> str:
    text = _text(value)
    if text and not SENDER_PATTERN.match(text):
        raise ValueError(f"{value!r} is not an e-mail address such as calhub@school.example")
    return text


def _host(value: Any) -> str:
    text = _text(value)
    if text and not HOST_PATTERN.match(text):
        raise ValueError(f"{value!r} is not a host name or IP address")
    return text


def _env(value: Any) -> str:
    text = _text(value)
    if text and not ENV_PATTERN.match(text):
        raise ValueError(f"{value!r} is not an environment variable name")
    return text


def _command(value: Any) -> str:
    text = _text(value)
    if text:
        try:
            shlex.split(text)
        except ValueError as exc:
            raise ValueError(f"cannot be read as a command: {exc}") from exc
    return text


def _clock(value: Any) -> time:
    if not isinstance(value, str):
        raise ValueError('must be a time of day in quotes, such as "07:30"')
    return parse_clock(value)


NOTIFY_SCHEMA: dict[str, tuple[_Option, Any]] = {
    "sender": (
        _Option("", "The From address of the hub's e-mail.", "an address, calhub@school.example"),
        _sender,
    ),
    "soft": (
        _Option(
            "digest",
            "Soft clashes: in the daily digest only, at once like hard ones, or not at all.",
            ", ".join(SOFT_MODES),
        ),
        lambda v: _choice(v, SOFT_MODES),
    ),
    "digest_time": (
        _Option("07:30", "When the daily digest leaves (HH:MM, hub time).", "HH:MM"),
        _clock,
    ),
    "batch_seconds": (
        _Option(
            5,
            "Seconds the sender waits for a write's notices to settle, so a bulk write "
            "makes one message per person.",
            "0 to 600",
        ),
        lambda v: _int(v, 0, 600),
    ),
    "retry_seconds": (
        _Option(
            30,
            "Seconds before the first retry of a message that failed; doubled each time, "
            "at most an hour.",
            "1 to 3600",
        ),
        lambda v: _int(v, 1, 3600),
    ),
    "max_attempts": (
        _Option(12, "Attempts to send a message before it is marked failed.", "1 to 100"),
        lambda v: _int(v, 1, 100),
    ),
    "expire_days": (
        _Option(3, "Notices older than this are not sent any more.", "1 to 365"),
        lambda v: _int(v, 1, 365),
    ),
}

SMTP_SCHEMA: dict[str, tuple[_Option, Any]] = {
    "host": (_Option("", "SMTP server; empty: nothing is sent.", "a host name or IP"), _host),
    "port": (_Option(25, "SMTP port.", "1 to 65535"), lambda v: _int(v, 1, 65535)),
    "security": (
        _Option(
            "none", "none, starttls (port 587) or tls (SMTPS, port 465).", ", ".join(SECURITIES)
        ),
        lambda v: _choice(v, SECURITIES),
    ),
    "username": (_Option("", "Login at the SMTP server; empty: no login.", "a text"), _text),
    "password_env": (
        _Option("", "Environment variable holding the SMTP password.", "a variable name"),
        _env,
    ),
    "password_cmd": (
        _Option("", "Command that prints the SMTP password.", "a command line"),
        _command,
    ),
    "timeout": (
        _Option(30, "Seconds to wait for the SMTP server.", "1 to 600"),
        lambda v: _int(v, 1, 600),
    ),
}


URL_PATTERN = re.compile(r"^https?://[A-Za-z0-9.\[\]:-]+(/[A-Za-z0-9._~/%?&=+-]*)?$")


def _url(value: Any) -> str:
    text = _text(value)
    if text and (len(text) > 500 or not URL_PATTERN.match(text)):
        raise ValueError(f"{value!r} is not an http(s) address such as https://bridge.example/hook")
    return text


WEBHOOK_SCHEMA: dict[str, tuple[_Option, Any]] = {
    "url": (
        _Option("", "Where each batch of notices is POSTed as JSON; empty: no webhook.", "a URL"),
        _url,
    ),
    "secret_env": (
        _Option(
            "",
            "Environment variable holding the HMAC-SHA256 key the body is signed with.",
            "a variable name",
        ),
        _env,
    ),
    "secret_cmd": (
        _Option("", "Or a command that prints the key.", "a command line"),
        _command,
    ),
    "timeout": (
        _Option(10, "Seconds to wait for the webhook's answer.", "1 to 120"),
        lambda v: _int(v, 1, 120),
    ),
}


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    url: str = ""
    secret_env: str = ""
    secret_cmd: str = ""
    timeout: int = 10


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str = ""
    port: int = 25
    security: str = "none"
    username: str = ""
    password_env: str = ""
    password_cmd: str = ""
    timeout: int = 30


@dataclass(frozen=True, slots=True)
class NotifySettings:
    sender: str = ""
    soft: str = "digest"
    digest_time: time = time(7, 30)
    batch_seconds: int = 5
    retry_seconds: int = 30
    max_attempts: int = 12
    expire_days: int = 3
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    webhook: WebhookSettings = field(default_factory=WebhookSettings)

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp.host)

    @property
    def webhook_enabled(self) -> bool:
        return bool(self.webhook.url)

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels messages go out by: ``email``, ``webhook``."""
        found = ("email",) if self.email_enabled else ()
        return found + (("webhook",) if self.webhook_enabled else ())


def _read(
    path: Path, section: str, raw: Mapping[str, Any], schema: Mapping[str, tuple[_Option, Any]]
) -> dict[str, Any]:
    unknown = sorted(set(raw) - set(schema))
    if unknown:
        what = "is not a known key"
        if unknown[0] in ("password", "secret"):
            what = (
                "must not be in the file: name an environment variable "
                f"({unknown[0]}_env) or a command ({unknown[0]}_cmd)"
            )
        raise ConfigError(str(path), f"{section}.{unknown[0]}", what, ", ".join(schema))
    values: dict[str, Any] = {}
    for key, (option, check) in schema.items():
        value = raw.get(key, option.default)
        try:
            values[key] = check(value)
        except (ValueError, TypeError) as exc:
            raise ConfigError(str(path), f"{section}.{key}", str(exc), option.allowed) from exc
    return values


def read_notify(path: Path, raw: Any) -> NotifySettings:
    """The ``[notify]`` table (with ``[notify.smtp]``), checked; errors name file and key."""
    if not isinstance(raw, Mapping):
        raise ConfigError(str(path), "notify", "must be a table")
    top = {k: v for k, v in raw.items() if k not in ("smtp", "webhook")}
    tables = {}
    for name in ("smtp", "webhook"):
        table = raw.get(name, {})
        if not isinstance(table, Mapping):
            raise ConfigError(str(path), f"notify.{name}", "must be a table")
        tables[name] = table
    values = _read(path, "notify", top, NOTIFY_SCHEMA)
    smtp = SmtpSettings(**_read(path, "notify.smtp", tables["smtp"], SMTP_SCHEMA))
    webhook = WebhookSettings(**_read(path, "notify.webhook", tables["webhook"], WEBHOOK_SCHEMA))
    if webhook.url and not (webhook.secret_env or webhook.secret_cmd):
        raise ConfigError(
            str(path),
            "notify.webhook.secret_env",
            "(or secret_cmd) is required when [notify.webhook] url is set: every call is signed",
            WEBHOOK_SCHEMA["secret_env"][0].allowed,
        )
    if webhook.secret_env and webhook.secret_cmd:
        raise ConfigError(
            str(path), "notify.webhook.secret_cmd", "give secret_env or secret_cmd, not both"
        )
    if smtp.password_env and smtp.password_cmd:
        raise ConfigError(
            str(path), "notify.smtp.password_cmd", "give password_env or password_cmd, not both"
        )
    if smtp.host and not values["sender"]:
        raise ConfigError(
            str(path),
            "notify.sender",
            "is required when [notify.smtp] host is set",
            NOTIFY_SCHEMA["sender"][0].allowed,
        )
    return NotifySettings(smtp=smtp, webhook=webhook, **values)
