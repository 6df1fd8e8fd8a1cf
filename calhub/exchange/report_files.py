"""One partner report, any format: what ``calhub report`` and ``GET /reports/export`` call.

JSON is the report's ``as_json()`` (docs/reports.md lists its keys); XLSX and PDF are
written by :mod:`calhub.exchange.report_xlsx` and :mod:`calhub.exchange.report_pdf`,
imported on first use as the plan's writers are (openpyxl and fpdf2 are heavy).
"""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING, cast

from calhub.errors import UserError
from calhub.exchange.exporting import MIMES, ExportFile

if TYPE_CHECKING:
    from collections.abc import Callable

    from calhub.reports.model import Report

REPORT_FORMATS = ("json", "xlsx", "pdf")
_WRITERS = {
    "xlsx": ("calhub.exchange.report_xlsx", "write_report_xlsx"),
    "pdf": ("calhub.exchange.report_pdf", "write_report_pdf"),
}


def check_report_format(value: str | None) -> str:
    text = (value or "").strip().lower()
    if text not in REPORT_FORMATS:
        formats = ", ".join(REPORT_FORMATS)
        raise UserError(
            f"Неизвестный формат отчёта «{value or ''}». / Unknown report format {value or ''!r}.",
            f"Форматы: {formats}. / Formats: {formats}.",
        )
    return text


def report_file(report: Report, file_format: str) -> ExportFile:
    """The file's bytes, type and name (``report_2026-09-01_2026-12-31.xlsx``)."""
    chosen = check_report_format(file_format)
    scope = f"_{report.scope}" if report.scope else ""
    name = f"report{scope}_{report.first.isoformat()}_{report.last.isoformat()}.{chosen}"
    if chosen == "json":
        text = json.dumps(report.as_json(), ensure_ascii=False, indent=2) + "\n"
        return ExportFile(text.encode("utf-8"), "application/json", name, len(report.partners))
    module, function = _WRITERS[chosen]
    writer = cast("Callable[[Report], bytes]", getattr(importlib.import_module(module), function))
    return ExportFile(writer(report), MIMES[chosen], name, len(report.partners))
