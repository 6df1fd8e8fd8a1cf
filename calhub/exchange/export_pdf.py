"""The plan as a PDF for A4 (fpdf2): a list grouped by day, then the grade board by week.

The list pages are A4 portrait: one heading row per day, then its events (time, partner,
title, classes, venue, status); the board pages are A4 landscape, one table per week (a
longer range would make a column too narrow to read), grades × days, each cell listing
that grade's events, filled red (hard clash), amber (soft), green (approved) or grey
(closed period), with the word as well, since a wall copy is often printed in black and
white. Text is set in DejaVu Sans, bundled in ``calhub/exchange/fonts`` with its licence
(Bitstream Vera; the PDF core fonts have no Cyrillic), and embedded (subset) in the file.
"""

from __future__ import annotations

import datetime as dt
import logging
from importlib import resources
from typing import TYPE_CHECKING

from fpdf import FPDF
from fpdf.fonts import FontFace

from calhub.exchange.export_rows import STATUS_RU, WEEKDAYS_RU

if TYPE_CHECKING:
    from calhub.exchange.export_rows import Board, Export, ExportRow

logger = logging.getLogger(__name__)

MIME = "application/pdf"
FONT = "DejaVu"
STATE_COLOURS = {
    "hard": (244, 167, 167),
    "soft": (255, 217, 122),
    "approved": (185, 228, 194),
    "blackout": (217, 217, 217),
}
DAY_FILL = (221, 227, 234)
MONTHS_RU = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
WEEKDAY_NAMES_RU = (
    "понедельник",
    "вторник",
    "среда",
    "четверг",
    "пятница",
    "суббота",
    "воскресенье",
)


def day_heading(day: dt.date) -> str:
    """«понедельник, 1 февраля 2027»."""
    return f"{WEEKDAY_NAMES_RU[day.weekday()]}, {day.day} {MONTHS_RU[day.month - 1]} {day.year}"


class _PlanPDF(FPDF):
    """A4 pages with the title on top and «стр. N из M» at the foot."""

    def __init__(self, title: str, made: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.plan_title = title
        self.made = made
        fonts = resources.files("calhub.exchange") / "fonts"
        with resources.as_file(fonts / "DejaVuSans.ttf") as regular:
            self.add_font(FONT, "", str(regular))
        with resources.as_file(fonts / "DejaVuSans-Bold.ttf") as bold:
            self.add_font(FONT, "B", str(bold))
        self.set_auto_page_break(auto=True, margin=14)
        self.set_margins(10, 10, 10)
        self.alias_nb_pages()
        self.set_title(title)
        self.set_creator("calhub")

    def header(self) -> None:
        self.set_font(FONT, "B", 10)
        self.cell(0, 6, self.plan_title, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT, "", 7)
        self.cell(0, 5, f"{self.made} · стр. {self.page_no()} из {{nb}}", align="R")


def write_pdf(export: Export) -> bytes:
    """The document's bytes: the list, then the board."""
    pdf = _PlanPDF(export.title, f"calhub, {export.made_at:%d.%m.%Y %H:%M}")
    pdf.add_page(orientation="portrait")
    _list(pdf, export)
    _boards(pdf, export.board)
    logger.debug("PDF export: %s rows, %s pages", len(export.rows), pdf.page_no())
    return bytes(pdf.output())


def _list(pdf: _PlanPDF, export: Export) -> None:
    pdf.set_font(FONT, "B", 13)
    pdf.cell(0, 8, "План по дням", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 8)
    if not export.rows:
        pdf.cell(0, 6, "В этот период мероприятий нет.", new_x="LMARGIN", new_y="NEXT")
        return
    days: dict[dt.date, list[ExportRow]] = {}
    for row in export.rows:
        day = max(row.day, export.request.first)
        while day <= min(row.last_day, export.request.last):
            days.setdefault(day, []).append(row)
            day += dt.timedelta(days=1)
    with pdf.table(
        col_widths=(20, 30, 58, 18, 42, 22),
        text_align="LEFT",
        line_height=4,
        padding=1,
        repeat_headings=1,
        headings_style=FontFace(emphasis="BOLD", fill_color=DAY_FILL),
    ) as table:
        heading = table.row()
        for name in ("Время", "Партнёр", "Мероприятие", "Классы", "Место", "Статус"):
            heading.cell(name)
        for day, rows in sorted(days.items()):
            line = table.row()
            line.cell(day_heading(day), colspan=6, style=FontFace(emphasis="BOLD"))
            for row in rows:
                cells = table.row()
                for value in (row.time, row.partner, row.title, row.audience, row.venue):
                    cells.cell(value)
                colour = STATE_COLOURS.get(row.state)
                cells.cell(row.status, style=FontFace(fill_color=colour) if colour else None)


def _boards(pdf: _PlanPDF, board: Board) -> None:
    weeks: dict[dt.date, list[dt.date]] = {}
    for day in board.days:
        weeks.setdefault(day - dt.timedelta(days=day.weekday()), []).append(day)
    for days in weeks.values():
        pdf.add_page(orientation="landscape")
        pdf.set_font(FONT, "B", 13)
        title = f"Доска классов: {days[0]:%d.%m}–{days[-1]:%d.%m.%Y}"
        pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 6.5)
        day_width = (pdf.epw - 12) / len(days)
        with pdf.table(
            col_widths=(12, *([day_width] * len(days))),
            text_align="LEFT",
            v_align="TOP",
            line_height=3,
            padding=0.8,
            repeat_headings=1,
            headings_style=FontFace(emphasis="BOLD", fill_color=DAY_FILL),
        ) as table:
            heading = table.row()
            heading.cell("Класс")
            for day in days:
                heading.cell(f"{WEEKDAYS_RU[day.weekday()]} {day:%d.%m}")
            for grade in board.grades:
                cells = table.row()
                cells.cell(str(grade), style=FontFace(emphasis="BOLD"))
                for day in days:
                    cell = board.cell(grade, day)
                    lines = [
                        f"{r.time if not r.occurrence.all_day else ''} {r.title}".strip()
                        for r in cell.rows
                    ]
                    if cell.state and cell.state != "blackout" and lines:
                        lines.append(f"— {STATUS_RU[cell.state]}")
                    colour = STATE_COLOURS.get(cell.state)
                    cells.cell(
                        "\n".join(lines), style=FontFace(fill_color=colour) if colour else None
                    )
