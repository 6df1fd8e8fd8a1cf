"""The audit log as CSV (for Excel on a Russian Windows, as the plan's CSV) and JSON lines.

CSV: UTF-8 with a BOM and ``;`` between fields (:mod:`calhub.exchange.export_csv` says
why); a cell that starts with ``=``, ``+``, ``-``, ``@`` is written as text
(:func:`~calhub.exchange.export_rows.safe_text`): a title is people's words, and a hostile
one must not become a formula in the coordinator's spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from calhub.audit.words import action_text, summary_text, via_text
from calhub.exchange.export_rows import safe_text
from calhub.store.audit import AuditEntry

HEADER = (
    "Время (UTC) / Time (UTC)",
    "Кто / Who",
    "Адрес / Address",
    "Откуда / Via",
    "Действие / Action",
    "Календарь / Calendar",
    "UID",
    "Накладка / Clash",
    "Что / Subject",
    "До / Before",
    "После / After",
    "Комментарий / Comment",
)


def _row(entry: AuditEntry) -> list[str]:
    values = (
        entry.at,
        entry.actor,
        entry.address,
        via_text(entry.via),
        action_text(entry.action),
        entry.calendar,
        entry.uid,
        entry.clash_id,
        entry.subject,
        summary_text(entry.before),
        summary_text(entry.after),
        entry.comment,
    )
    return [safe_text(value) for value in values]


def csv_chunks(entries: Iterable[AuditEntry], bom: bool = True) -> Iterator[str]:
    """The CSV text, a row at a time (a download streams it)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    yield ("\ufeff" if bom else "") + out.getvalue()
    for entry in entries:
        out.seek(0)
        out.truncate()
        writer.writerow(_row(entry))
        yield out.getvalue()


def json_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """One JSON object per entry and line."""
    for entry in entries:
        yield json.dumps(entry.as_json(), ensure_ascii=False) + "\n"
