"""One export, any format: what ``calhub export`` and ``GET /export`` both call.

No Flask here and no terminal: the faces pass the runtime, the request read from their
text (:func:`calhub.exchange.export_rows.read_request`), the account whose view it is
(None: the operator, everything) and, for ICS, Radicale's storage (the feed builder reads
the events whole from it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from calhub.errors import UserError
from calhub.exchange import export_csv, export_ics, export_pdf, export_xlsx
from calhub.exchange.export_rows import Export, ExportRequest, collect

if TYPE_CHECKING:
    from calhub.dav.storage import Storage
    from calhub.hub.accounts import Account
    from calhub.runtime import Runtime

FORMATS = ("xlsx", "pdf", "csv", "ics")
_WRITERS: dict[str, Callable[[Export], bytes]] = {
    "xlsx": export_xlsx.write_xlsx,
    "pdf": export_pdf.write_pdf,
    "csv": export_csv.write_csv,
}
MIMES = {
    "xlsx": export_xlsx.MIME,
    "pdf": export_pdf.MIME,
    "csv": export_csv.MIME,
    "ics": export_ics.MIME,
}


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
        body = _WRITERS[chosen](export)
    return ExportFile(body, MIMES[chosen], f"{request.file_stem()}.{chosen}", len(export.rows))
