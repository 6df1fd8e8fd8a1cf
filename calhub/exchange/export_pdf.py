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
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING

from fpdf import FPDF

from calhub.exchange.export_rows import STATUS_RU, WEEKDAYS_RU

if TYPE_CHECKING:
    from calhub.exchange.export_rows import Board, Export, ExportRow

logger = logging.getLogger(__name__)

FONT = "DejaVu"
STATE_COLOURS = {
    "hard": (244, 167, 167),
    "soft": (255, 217, 122),
    "approved": (185, 228, 194),
    "blackout": (217, 217, 217),
}
DAY_FILL = (221, 227, 234)
# A table row must fit on one page (fpdf2 refuses a taller one): a board cell lists at most
# this many events and says how many more, and long texts are cut.
MAX_CELL_EVENTS = 6
MAX_BOARD_LINE = 70
MAX_TEXT = {"title": 300, "partner": 120, "venue": 160, "audience": 60}
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


def cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
    _feedback_codes(pdf, export.feedback_links)
    logger.debug("PDF export: %s rows, %s pages", len(export.rows), pdf.page_no())
    return bytes(pdf.output())


class _Grid:
    """A table drawn line by line, fast: fpdf2's own table breaks every cell's text twice
    through its general line breaker (10 ms a row: a 5,000-event term took 48 s). Here
    words are measured once each (cached), wrapped greedily, and drawn with ``text``; a
    row that does not fit the page goes on the next, under the heading repeated."""

    def __init__(
        self,
        pdf: _PlanPDF,
        widths: Sequence[float],
        heading: Sequence[str],
        size: float,
        orientation: str,
    ) -> None:
        self.pdf = pdf
        self.widths = list(widths)
        self.heading = list(heading)
        self.size = size
        self.orientation = orientation
        self.line = size * 0.45  # mm per line: 1.27 × the font size in points
        self.padding = 0.9
        self._widths: dict[tuple[str, str], float] = {}
        self.row(self.heading, bold=True, fills=[DAY_FILL] * len(self.heading), new_page=False)

    def _width(self, word: str, style: str) -> float:
        key = (word, style)
        found = self._widths.get(key)
        if found is None:
            found = self._widths[key] = self.pdf.get_string_width(word)
        return found

    def wrap(self, text: str, width: float, style: str) -> list[str]:
        room = width - 2 * self.padding
        space = self._width(" ", style)
        lines: list[str] = []
        for paragraph in text.split("\n"):
            current, used = "", 0.0
            for word in paragraph.split():
                size = self._width(word, style)
                while size > room and len(word) > 1:  # a word wider than the cell: cut it
                    cut_at = max(1, int(len(word) * room / size))
                    if current:
                        lines.append(current)
                        current, used = "", 0.0
                    lines.append(word[:cut_at])
                    word = word[cut_at:]
                    size = self._width(word, style)
                if current and used + space + size > room:
                    lines.append(current)
                    current, used = "", 0.0
                current, used = (
                    (f"{current} {word}", used + space + size) if current else (word, size)
                )
            lines.append(current)
        return lines or [""]

    def row(
        self,
        cells: Sequence[str],
        fills: Sequence[tuple[int, int, int] | None] = (),
        bold: bool = False,
        span: bool = False,
        new_page: bool = True,
    ) -> None:
        """One row; ``span``: a single cell across the whole width (a day's heading)."""
        pdf = self.pdf
        style = "B" if bold else ""
        pdf.set_font(FONT, style, self.size)
        widths = [sum(self.widths)] if span else self.widths
        wrapped = [self.wrap(text, w, style) for text, w in zip(cells, widths, strict=True)]
        room = pdf.h - pdf.b_margin - pdf.t_margin - 20
        most = max(1, int((room - 2 * self.padding) / self.line))
        wrapped = [lines[:most] for lines in wrapped]
        height = max(len(lines) for lines in wrapped) * self.line + 2 * self.padding
        if new_page and pdf.get_y() + height > pdf.h - pdf.b_margin:
            pdf.add_page(orientation=self.orientation)
            self.row(self.heading, bold=True, fills=[DAY_FILL] * len(self.heading), new_page=False)
            pdf.set_font(FONT, style, self.size)
        x, y = pdf.l_margin, pdf.get_y()
        colours = list(fills) + [None] * (len(widths) - len(fills))
        for lines, width, colour in zip(wrapped, widths, colours, strict=False):
            if colour is not None:
                pdf.set_fill_color(*colour)
                pdf.rect(x, y, width, height, style="DF")
            else:
                pdf.rect(x, y, width, height)
            for number, text in enumerate(lines):
                if text:
                    baseline = y + self.padding + number * self.line + self.line * 0.78
                    pdf.text(x + self.padding, baseline, text)
            x += width
        pdf.set_xy(pdf.l_margin, y + height)


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
    heading = ("Время", "Партнёр", "Мероприятие", "Классы", "Место", "Статус")
    grid = _Grid(pdf, (21, 31, 58, 17, 42, 21), heading, 8, "portrait")
    for day, rows in sorted(days.items()):
        grid.row([day_heading(day)], bold=True, span=True)
        for row in rows:
            values = (
                row.time,
                cut(row.partner, MAX_TEXT["partner"]),
                cut(row.title, MAX_TEXT["title"]),
                cut(row.audience, MAX_TEXT["audience"]),
                cut(row.venue, MAX_TEXT["venue"]),
                row.status,
            )
            grid.row(values, fills=[None] * 5 + [STATE_COLOURS.get(row.state)])


def _boards(pdf: _PlanPDF, board: Board) -> None:
    weeks: dict[dt.date, list[dt.date]] = {}
    for day in board.days:
        weeks.setdefault(day - dt.timedelta(days=day.weekday()), []).append(day)
    for days in weeks.values():
        pdf.add_page(orientation="landscape")
        pdf.set_font(FONT, "B", 13)
        title = f"Доска классов: {days[0]:%d.%m}–{days[-1]:%d.%m.%Y}"
        pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        day_width = (pdf.epw - 12) / len(days)
        heading = ["Класс", *(f"{WEEKDAYS_RU[d.weekday()]} {d:%d.%m}" for d in days)]
        grid = _Grid(pdf, (12, *([day_width] * len(days))), heading, 6.5, "landscape")
        for grade in board.grades:
            texts = [str(grade)]
            fills: list[tuple[int, int, int] | None] = [None]
            for day in days:
                cell = board.cell(grade, day)
                lines = [
                    cut(f"{r.time if not r.occurrence.all_day else ''} {r.title}", MAX_BOARD_LINE)
                    for r in cell.rows[:MAX_CELL_EVENTS]
                ]
                if len(cell.rows) > MAX_CELL_EVENTS:
                    lines.append(f"… и ещё {len(cell.rows) - MAX_CELL_EVENTS}")
                if cell.state and cell.state != "blackout" and lines:
                    lines.append(f"— {STATUS_RU[cell.state]}")
                texts.append("\n".join(lines))
                fills.append(STATE_COLOURS.get(cell.state))
            grid.row(texts, fills=fills)


QR_SIZE = 38  # mm: a phone reads it from a metre away on a printed wall plan
QR_COLUMNS = 4
QR_ROW = QR_SIZE + 14


def _feedback_codes(pdf: _PlanPDF, links: Sequence[tuple[str, str]]) -> None:
    """A page (or more) of QR codes, one per event: each opens the event's feedback form
    (calhub.feedback), from its start until the window closes."""
    if not links:
        return
    from io import BytesIO

    from calhub.feeds.qr import qr_png

    pdf.add_page(orientation="portrait")
    pdf.set_font(FONT, "B", 13)
    pdf.cell(0, 8, "Отзывы о мероприятиях / Feedback", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 8)
    pdf.multi_cell(
        0,
        4,
        "Наведите камеру телефона на код мероприятия после его начала: оценка, "
        "«порекомендую ли» и комментарий, анонимно. / Scan an event's code after it starts.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    gap = (pdf.w - pdf.l_margin - pdf.r_margin - QR_COLUMNS * QR_SIZE) / (QR_COLUMNS - 1)
    top = pdf.get_y() + 3
    for number, (title, url) in enumerate(links):
        column = number % QR_COLUMNS
        if column == 0 and number:
            top += QR_ROW
        if top + QR_ROW > pdf.h - pdf.b_margin:
            pdf.add_page(orientation="portrait")
            top = pdf.get_y() + 3
        x = pdf.l_margin + column * (QR_SIZE + gap)
        pdf.image(BytesIO(qr_png(url, scale=4)), x=x, y=top, w=QR_SIZE, h=QR_SIZE)
        pdf.set_xy(x, top + QR_SIZE)
        pdf.multi_cell(QR_SIZE, 3.2, cut(title, 90), align="C", max_line_height=3.2)
    pdf.set_xy(pdf.l_margin, top + QR_ROW)
