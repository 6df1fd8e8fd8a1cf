"""One export, any format: what ``calhub export`` and ``GET /export`` both call.

No Flask here and no terminal: the faces pass the runtime, the request read from their
text (:func:`calhub.exchange.export_rows.read_request`), the account whose view it is
(None: the operator, everything) and, for ICS, Radicale's storage (the feed builder reads
the events whole from it).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from calhub.errors import UserError
from calhub.exchange import export_ics
from calhub.exchange.export_rows import Export, ExportRequest, collect

if TYPE_CHECKING:
    from calhub.dav.storage import Storage
    from calhub.hub.accounts import Account
    from calhub.runtime import Runtime

FORMATS = ("xlsx", "pdf", "csv", "ics")
# The writer of each format, imported on its first use: openpyxl and fpdf2 (with Pillow and
# fontTools) cost a server some 35 MB it would carry from the start for an export a week.
_WRITERS = {
    "xlsx": ("calhub.exchange.export_xlsx", "write_xlsx"),
    "pdf": ("calhub.exchange.export_pdf", "write_pdf"),
    "csv": ("calhub.exchange.export_csv", "write_csv"),
}
# Each format's media type (here, so knowing it loads no writer).
MIMES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "csv": "text/csv",  # Flask adds "; charset=utf-8"
    "ics": export_ics.MIME,
}


def _writer(file_format: str) -> Callable[[Export], bytes]:
    module, name = _WRITERS[file_format]
    return cast("Callable[[Export], bytes]", getattr(importlib.import_module(module), name))


@dataclass(frozen=True, slots=True)
class ExportFile:
    body: bytes
    mime: str
    filename: str
    rows: int


def check_format(value: str | None) -> str:
    text = (value or "").strip().lower()
    if text not in FORMATS:
        raise UserError(
            f"Неизвестный формат «{value or ''}». / Unknown format {value or ''!r}.",
            f"Форматы: {', '.join(FORMATS)}. / Formats: {', '.join(FORMATS)}.",
        )
    return text


def export_file(
    runtime: Runtime,
    file_format: str,
    request: ExportRequest,
    account: Account | None = None,
    storage: Callable[[], Storage] | None = None,
) -> ExportFile:
    """The file's bytes, type and name (``plan_2027-02-01_2027-02-28.xlsx``).
    ``storage`` gives Radicale's storage when the format needs it (ICS)."""
    chosen = check_format(file_format)
    export = collect(runtime, request, account)
    if chosen == "ics":
        if storage is None:
            raise ValueError("an ICS export needs the storage")
        body = export_ics.write_ics(runtime, storage(), export)
    else:
        body = _writer(chosen)(export)
    return ExportFile(body, MIMES[chosen], f"{request.file_stem()}.{chosen}", len(export.rows))
