"""The plan as an XLSX workbook (openpyxl), laid out like the school's old shared sheet.

Sheet «План»: one row per occurrence, the partner's cell filled with its calendar colour and
the status cell red (hard clash), amber (soft) or green (approved) as the old sheet marked
overlaps; «Конфликты»: the clashes; «Доска»: the grade board, grades × days. Every sheet has
a frozen header row, an autofilter, column widths and A4 landscape print setup that repeats
the header on each page.

Text is written as text: a value that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return would be a formula to Excel, so every string cell is typed a string and
marked with the quote prefix (formula injection; see :func:`text_cell`).
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

from calhub.exchange.export_rows import PLAN_HEADER, STATUS_RU, WEEKDAYS_RU

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from calhub.exchange.export_rows import Export

logger = logging.getLogger(__name__)

# The old sheet's marks, and the dashboard's meaning of them: red, amber, green, grey.
STATE_FILLS = {
    "hard": "F4A7A7",
    "soft": "FFD97A",
    "approved": "B9E4C2",
    "blackout": "D9D9D9",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER_FILL = "DDE3EA"
PLAN_COLUMNS = tuple(zip(PLAN_HEADER, (11, 7, 13, 24, 44, 12, 30, 16), strict=True))
CONFLICT_COLUMNS = (
    ("Вид", 10),
    ("Статус", 12),
    ("Когда", 17),
    ("Правило", 12),
    ("Что", 60),
    ("Участники", 70),
)


@functools.cache
def fill(colour: str) -> PatternFill:
    return PatternFill(fill_type="solid", start_color=colour, end_color=colour)


def text_cell(sheet: Worksheet, row: int, column: int, value: str) -> Cell:
    """A string cell that stays a string: typed ``s`` (openpyxl would make ``=…`` a
    formula) and quote-prefixed, which is how Excel itself keeps typed text."""
    cell = sheet.cell(row=row, column=column)
    assert isinstance(cell, Cell)  # no merged cells in these sheets
    if not value:
        return cell  # an empty cell, not an empty string (filters and Excel's blanks)
    cell.value = value
    cell.data_type = "s"
    if value.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell


@functools.cache
def contrast_font(colour: str) -> Font:
    """Black or white text, whichever reads on the fill (WCAG's relative luminance)."""
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4))

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    return Font(color="000000" if luminance > 0.179 else "FFFFFF")


def _calendar_colour(value: str) -> str:
    text = value.lstrip("#")[:6].upper()
    return text if len(text) == 6 and all(c in "0123456789ABCDEF" for c in text) else "3A87AD"


def _header(sheet: Worksheet, names: Sequence[str], widths: Sequence[float]) -> None:
    for column, (name, width) in enumerate(zip(names, widths, strict=True), start=1):
        cell = text_cell(sheet, 1, column, name)
        cell.font = Font(bold=True)
        cell.fill = fill(HEADER_FILL)
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(column)].width = width


def _print_setup(sheet: Worksheet, last_row: int, columns: int, freeze: str = "A2") -> None:
    sheet.freeze_panes = freeze
    sheet.auto_filter.ref = f"A1:{get_column_letter(columns)}{max(last_row, 1)}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_title_rows = "1:1"
    sheet.print_options.gridLines = True


def _plan_sheet(sheet: Worksheet, export: Export) -> None:
    sheet.title = "План"
    _header(sheet, [n for n, _ in PLAN_COLUMNS], [w for _, w in PLAN_COLUMNS])
    wrap = Alignment(vertical="top", wrap_text=True)
    for number, row in enumerate(export.rows, start=2):
        date_cell = sheet.cell(row=number, column=1, value=row.day)
        date_cell.number_format = "DD.MM.YYYY"
        values = (row.weekday, row.time, row.partner, row.title, row.audience, row.venue)
        for column, value in enumerate(values, start=2):
            text_cell(sheet, number, column, value).alignment = wrap
        colour = _calendar_colour(row.calendar.color)
        partner = sheet.cell(row=number, column=4)
        partner.fill = fill(colour)
        partner.font = contrast_font(colour)
        status = text_cell(sheet, number, 8, row.status)
        if row.state in STATE_FILLS:
            status.fill = fill(STATE_FILLS[row.state])
            sheet.cell(row=number, column=5).fill = fill(STATE_FILLS[row.state])
    _print_setup(sheet, len(export.rows) + 1, len(PLAN_COLUMNS))


def _conflicts_sheet(sheet: Worksheet, export: Export) -> None:
    _header(sheet, [n for n, _ in CONFLICT_COLUMNS], [w for _, w in CONFLICT_COLUMNS])
    wrap = Alignment(vertical="top", wrap_text=True)
    for number, conflict in enumerate(export.conflicts, start=2):
        record = conflict.record
        values = (
            conflict.severity,
            conflict.status,
            f"{conflict.start:%d.%m.%Y %H:%M}",
            record.rule,
            record.message.ru,
            "\n".join(conflict.sides),
        )
        for column, value in enumerate(values, start=1):
            text_cell(sheet, number, column, value).alignment = wrap
        state = "approved" if record.status == "approved" else record.severity
        if state in STATE_FILLS:
            sheet.cell(row=number, column=1).fill = fill(STATE_FILLS[state])
            sheet.cell(row=number, column=2).fill = fill(STATE_FILLS[state])
    _print_setup(sheet, len(export.conflicts) + 1, len(CONFLICT_COLUMNS))


def _board_sheet(sheet: Worksheet, export: Export) -> None:
    board = export.board
    names = ["Класс"] + [f"{WEEKDAYS_RU[d.weekday()]} {d:%d.%m}" for d in board.days]
    _header(sheet, names, [8] + [22] * len(board.days))
    wrap = Alignment(vertical="top", wrap_text=True)
    for number, grade in enumerate(board.grades, start=2):
        text_cell(sheet, number, 1, f"{grade}").font = Font(bold=True)
        for column, day in enumerate(board.days, start=2):
            cell = board.cell(grade, day)
            lines = [f"{r.time} {r.title} ({r.partner})" for r in cell.rows]
            if cell.state and cell.state != "blackout" and lines:
                lines.append(STATUS_RU[cell.state])
            target = text_cell(sheet, number, column, "\n".join(lines))
            target.alignment = wrap
            if cell.state in STATE_FILLS:
                target.fill = fill(STATE_FILLS[cell.state])
    _print_setup(sheet, len(board.grades) + 1, len(names), freeze="B2")


def write_xlsx(export: Export) -> bytes:
    """The workbook's bytes."""
    book = Workbook()
    plan = book.active
    assert plan is not None
    _plan_sheet(plan, export)
    _conflicts_sheet(book.create_sheet("Конфликты"), export)
    _board_sheet(book.create_sheet("Доска"), export)
    book.properties.title = export.title
    book.properties.creator = "calhub"
    out = io.BytesIO()
    book.save(out)
    logger.debug("XLSX export: %s rows, %s clashes", len(export.rows), len(export.conflicts))
    return out.getvalue()
