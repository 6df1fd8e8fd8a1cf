"""How ``calhub serve`` writes its logs: text lines (``2026-12-03 10:00:00,123 INFO name:
message``) or JSON lines (``[server] log_format = "json"`` or ``--log-format json``).

In JSON every record, the application's and the access log's, is one object on one line:
``time`` (ISO 8601 with the zone), ``level``, ``logger``, ``message``, ``process``, and for an
exception ``exception`` (the traceback as text); an access line (``calhub.access``) adds
``method``, ``path``, ``status``, ``bytes``, ``duration_ms``, ``remote`` and ``login``, which
:class:`calhub.server.stack.AccessLog` hands over as the record's ``access`` attribute.
journald keeps each line as one entry, and log shippers (Vector, Fluent Bit, Loki's
promtail) parse it without a pattern.

The standard library's ``logging.Formatter`` is enough: a subclass, no dependency. What is
logged is the same in both formats: the access log never has a query string and never a
feed's token (:func:`calhub.server.stack.logged_path`), nobody logs a password.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# With several workers a text line names its process; a JSON line always has "process".
TEXT_FORMAT_WITH_PROCESS = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        moment = dt.datetime.fromtimestamp(record.created, dt.UTC).astimezone()
        data: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            data.update(access)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exception"] = record.exc_text
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii=False keeps Russian readable in journalctl; json.dumps escapes the
        # line breaks inside strings, so a record is always one line.
        return json.dumps(data, ensure_ascii=False, default=str)


def formatter(log_format: str, with_process: bool = False) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter(TEXT_FORMAT_WITH_PROCESS if with_process else TEXT_FORMAT)


def use_format(log_format: str, with_process: bool = False) -> None:
    """Give every handler of the root logger the formatter of ``log_format``."""
    chosen = formatter(log_format, with_process)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(chosen)
