"""The partner report (:mod:`calhub.reports`) as an XLSX workbook: «Партнёры» (one row
per partner), «Классы» (one per grade) and «Школа» (the school-wide figures).

Cells are written as the plan's export writes them (:func:`calhub.exchange.export_xlsx.
text_cell`): a text starting with ``=``, ``+``, ``-`` or ``@`` stays text; figures are
numbers, so the school can sum and chart them in Excel.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from calhub.exchange.export_xlsx import _header, _print_setup, text_cell
from calhub.reports.table import (
    GRADE_HEADER,
    PARTNER_HEADER,
    Cell,
    grade_cells,
    partner_cells,
    school_lines,
)

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from calhub.reports.model import Report

logger = logging.getLogger(__name__)


def _rows(sheet: Worksheet, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    widths = [28] + [12] * (len(header) - 1)
    _header(sheet, header, widths)
    wrap = Alignment(vertical="top", wrap_text=True)
    for number, cells in enumerate(rows, start=2):
        for column, value in enumerate(cells, start=1):
            if isinstance(value, str) or value is None:
                text_cell(sheet, number, column, value or "").alignment = wrap
            else:
                sheet.cell(row=number, column=column, value=value)
    _print_setup(sheet, len(rows) + 1, len(header), freeze="B2")


def write_report_xlsx(report: Report) -> bytes:
    """The workbook's bytes."""
    book = Workbook()
    partners = book.active
    assert partners is not None
    partners.title = "Партнёры"
    _rows(partners, PARTNER_HEADER, [partner_cells(row) for row in report.partners])
    _rows(book.create_sheet("Классы"), GRADE_HEADER, [grade_cells(row) for row in report.grades])
    school = book.create_sheet("Школа")
    text_cell(school, 1, 1, report.title).font = Font(bold=True)
    text_cell(school, 2, 1, report.school)
    text_cell(school, 3, 1, f"Составлен {report.made_local:%d.%m.%Y %H:%M} (calhub)")
    for number, (what, value) in enumerate(school_lines(report), start=5):
        text_cell(school, number, 1, what)
        text_cell(school, number, 2, value)
    school.column_dimensions["A"].width = 60
    school.column_dimensions["B"].width = 30
    book.properties.title = report.title
    book.properties.creator = "calhub"
    out = io.BytesIO()
    book.save(out)
    logger.debug("Report XLSX: %s partners", len(report.partners))
    return out.getvalue()
