"""The partner report (:mod:`calhub.reports`) as a PDF for A4 landscape (fpdf2): the
school-wide figures, then the table per partner and the table per grade.

Set in DejaVu Sans with Cyrillic, as the plan's PDF (:mod:`calhub.exchange.export_pdf`),
whose page frame and fast table it uses.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from calhub.exchange.export_pdf import FONT, _Grid, _PlanPDF, cut
from calhub.reports.table import (
    GRADE_HEADER,
    PARTNER_HEADER,
    Cell,
    grade_cells,
    partner_cells,
    school_lines,
)

if TYPE_CHECKING:
    from calhub.reports.model import Report

logger = logging.getLogger(__name__)

MAX_NAME = 80


def _text(value: Cell) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return cut(str(value), MAX_NAME) if isinstance(value, str) else str(value)


def _table(
    pdf: _PlanPDF, title: str, header: Sequence[str], rows: Sequence[Sequence[Cell]]
) -> None:
    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    first = 40.0
    rest = (pdf.epw - first) / (len(header) - 1)
    grid = _Grid(pdf, (first, *([rest] * (len(header) - 1))), header, 6.5, "landscape")
    for cells in rows:
        grid.row([_text(value) for value in cells])
    pdf.ln(4)


def write_report_pdf(report: Report) -> bytes:
    """The document's bytes."""
    pdf = _PlanPDF(report.title, f"calhub, {report.made_local:%d.%m.%Y %H:%M}")
    pdf.add_page(orientation="landscape")
    pdf.set_font(FONT, "B", 13)
    pdf.cell(0, 8, report.school, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 8, "Итоги по школе", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    for what, value in school_lines(report):
        pdf.cell(120, 5.5, what)
        pdf.cell(0, 5.5, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    _table(pdf, "По партнёрам", PARTNER_HEADER, [partner_cells(r) for r in report.partners])
    _table(pdf, "По параллелям", GRADE_HEADER, [grade_cells(r) for r in report.grades])
    logger.debug("Report PDF: %s pages", pdf.page_no())
    return bytes(pdf.output())
