"""Reading a CSV or XLSX file into rows of cell values, within bounds.

Whatever arrives (a 100 MB file, a zip bomb, a binary file called ``.csv``, a row of a
million columns) is refused with a :class:`SheetError` before it costs much time or
memory: the size is checked first, an XLSX archive's declared uncompressed sizes are
checked before openpyxl reads a byte of it (and :mod:`zipfile` never inflates a member
beyond its declared size), and rows and columns are counted while they are read.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import zipfile
from dataclasses import dataclass, field

from calhub.errors import UserError

__all__ = ["Cell", "Limits", "Sheet", "SheetError", "check_size", "read_sheet"]

logger = logging.getLogger(__name__)

Cell = str | int | float | bool | dt.datetime | dt.date | dt.time | dt.timedelta | None

# Encodings a Russian school's CSV comes in; the detector chooses among these only, so a
# short file is not taken for some far-off code page.
_CANDIDATES = ["cp1251", "koi8_r", "cp866", "mac_cyrillic"]
_DELIMITERS = ";,\t"


class SheetError(UserError):
    """The file cannot be read as a sheet (too big, not a sheet, a wrong encoding)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How much one import may read: the file, the XLSX archive inflated, rows, columns."""

    max_bytes: int = 20 * 1024 * 1024
    max_unpacked: int = 200 * 1024 * 1024
    max_members: int = 500
    max_rows: int = 60_000
    max_columns: int = 100


@dataclass
class Sheet:
    """The cells of one sheet, row by row; ``numbers[i]`` is row i's number in the file."""

    kind: str  # "csv" or "xlsx"
    rows: list[list[Cell]]
    numbers: list[int]
    encoding: str = ""
    delimiter: str = ""
    sheet_name: str = ""
    notes: list[str] = field(default_factory=list)


def read_sheet(
    data: bytes, filename: str, sheet_name: str | None = None, limits: Limits | None = None
) -> Sheet:
    """The sheet in ``data``: XLSX when it is a zip archive (whatever its name), else CSV."""
    limits = limits or Limits()
    check_size(len(data), limits)
    if not data.strip():
        raise SheetError("Файл пуст. / The file is empty.", hint="Choose the plan's file.")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, sheet_name, limits)
    if filename.lower().endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        raise SheetError(
            "Файл не похож на книгу Excel (XLSX). / The file is not an Excel workbook (XLSX).",
            hint="Save it as .xlsx (Excel, LibreOffice, Yandex Tables: File → Download → XLSX) "
            "or as CSV.",
        )
    return _read_csv(data, limits)


def check_size(size: int, limits: Limits) -> None:
    """Refuse a file of ``size`` bytes over the limit (before it is read, where possible)."""
    if size > limits.max_bytes:
        raise SheetError(
            f"Файл слишком большой: {size // 1024} КБ, можно до "
            f"{limits.max_bytes // 1024 // 1024} МБ. / The file is too big: "
            f"{size // 1024} KB, the limit is {limits.max_bytes // 1024 // 1024} MB.",
            hint="Split the plan into several files, e.g. one per term.",
        )


# -- CSV -----------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str]:
    """The text and the name of its encoding: UTF-8 (with or without a BOM) when it is
    valid UTF-8, else the Cyrillic code page the detector finds readable."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if b"\x00" not in data:
        import charset_normalizer  # only here: reading a CSV of unknown encoding

        best = charset_normalizer.from_bytes(data, cp_isolation=_CANDIDATES).best()
        if best is not None and best.chaos < 0.3:
            return str(best), str(best.encoding)
    raise SheetError(
        "Не удалось понять кодировку файла: это не текст в UTF-8 или Windows-1251. / "
        "The file's encoding could not be recognised: it is not text in UTF-8 or "
        "Windows-1251.",
        hint="Save the sheet as 'CSV UTF-8' or as XLSX and try again.",
    )


def _delimiter(text: str) -> str:
    """The delimiter of the first lines: the candidate that splits them most evenly."""
    # A few kilobytes of each of the first lines tell the delimiter; a line of a million
    # columns is counted when it is read, not here.
    lines = [line[:4096] for line in text[: 1 << 20].splitlines()[:20] if line.strip()]
    best, best_score = ",", -1.0
    for candidate in _DELIMITERS:
        try:
            counts = [len(next(csv.reader([line], delimiter=candidate), [])) for line in lines]
        except csv.Error:
            continue
        if not counts or max(counts) < 2:
            continue
        # Most columns on the most lines: a comma inside "15,5" splits a few lines only.
        common = max(set(counts), key=counts.count)
        score = counts.count(common) * common
        if score > best_score:
            best, best_score = candidate, score
    return best


def _read_csv(data: bytes, limits: Limits) -> Sheet:
    text, encoding = _decode(data)
    if "\x00" in text:
        raise SheetError(
            "Файл содержит двоичные данные, а не текст таблицы. / The file holds binary "
            "data, not the text of a sheet.",
            hint="Save the sheet as CSV or XLSX.",
        )
    delimiter = _delimiter(text)
    rows: list[list[Cell]] = []
    numbers: list[int] = []
    csv.field_size_limit(64 * 1024)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            if len(row) > limits.max_columns:
                _too_many_columns(len(row), limits)
            if len(rows) >= limits.max_rows:
                _too_many_rows(limits)
            rows.append(list(row))
            numbers.append(reader.line_num)
    except csv.Error as exc:
        raise SheetError(
            f"CSV не читается (строка {reader.line_num}): {exc}. / The CSV cannot be read "
            f"(line {reader.line_num}): {exc}.",
            hint="Save it again from the spreadsheet program.",
        ) from exc
    logger.info("Read CSV: %s, delimiter %r, %d lines", encoding, delimiter, len(rows))
    return Sheet("csv", rows, numbers, encoding=encoding, delimiter=delimiter)


def _too_many_columns(count: int, limits: Limits) -> None:
    raise SheetError(
        f"Слишком много столбцов: {count}, можно до {limits.max_columns}. / Too many "
        f"columns: {count}, the limit is {limits.max_columns}.",
        hint="Keep only the plan's columns (date, time, partner, title, classes, venue…).",
    )


def _too_many_rows(limits: Limits) -> None:
    raise SheetError(
        f"Слишком много строк: больше {limits.max_rows}. / Too many rows: more than "
        f"{limits.max_rows}.",
        hint="Split the plan into several files, e.g. one per term.",
    )


# -- XLSX ----------------------------------------------------------------------------------


def _check_archive(data: bytes, limits: Limits) -> None:
    """Refuse an archive that would inflate beyond the limits, before anything reads it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise SheetError(
            "Книга Excel повреждена. / The Excel workbook is damaged.",
            hint="Open it in the spreadsheet program and save it again as .xlsx.",
        ) from exc
    unpacked = sum(member.file_size for member in members)
    if len(members) > limits.max_members or unpacked > limits.max_unpacked:
        raise SheetError(
            f"Книга Excel распаковывается в {unpacked // 1024 // 1024} МБ "
            f"({len(members)} частей) — больше допустимого. / The Excel workbook unpacks to "
            f"{unpacked // 1024 // 1024} MB ({len(members)} parts), more than allowed "
            f"({limits.max_unpacked // 1024 // 1024} MB).",
            hint="This is not a plan as a spreadsheet program saves it; save the plan again.",
        )


def _read_xlsx(data: bytes, sheet_name: str | None, limits: Limits) -> Sheet:
    _check_archive(data, limits)
    import openpyxl  # only here: a CSV import never loads it

    try:
        # data_only: a formula cell gives the value the program saved with it, and
        # openpyxl never evaluates anything.
        book = openpyxl.load_workbook(io.BytesIO(data), data_only=True, read_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise SheetError(
            f"Книга Excel не читается: {exc}. / The Excel workbook cannot be read: {exc}.",
            hint="Open it in the spreadsheet program and save it again as .xlsx.",
        ) from exc
    try:
        sheet: object
        if sheet_name is not None:
            if sheet_name not in book.sheetnames:
                raise SheetError(
                    f"В книге нет листа «{sheet_name}». / The workbook has no sheet "
                    f"'{sheet_name}'.",
                    hint=f"Its sheets: {', '.join(book.sheetnames)}.",
                )
            sheet = book[sheet_name]
        else:
            sheet = book.worksheets[0]
        return _sheet_cells(sheet, limits)
    finally:
        book.close()


def _sheet_cells(sheet: object, limits: Limits) -> Sheet:
    from typing import Any

    ws: Any = sheet
    if ws.max_row > limits.max_rows + 1:
        _too_many_rows(limits)
    width = min(ws.max_column, limits.max_columns + 1)
    rows: list[list[Cell]] = [
        list(values) for values in ws.iter_rows(max_col=width, values_only=True)
    ]
    if width > limits.max_columns and any(
        len(row) > limits.max_columns and row[limits.max_columns] is not None for row in rows
    ):
        _too_many_columns(ws.max_column, limits)
    rows = [row[: limits.max_columns] for row in rows]
    # A merged range shows its first cell's value everywhere in it (a date written once
    # for a day's rows); its other cells are empty in the file.
    for merged in ws.merged_cells.ranges:
        value = ws.cell(merged.min_row, merged.min_col).value
        for r in range(merged.min_row, min(merged.max_row, len(rows)) + 1):
            row = rows[r - 1]
            for c in range(merged.min_col, min(merged.max_col, len(row)) + 1):
                row[c - 1] = value
    numbers = list(range(1, len(rows) + 1))
    logger.info("Read XLSX sheet %s: %d rows", ws.title, len(rows))
    return Sheet("xlsx", rows, numbers, sheet_name=str(ws.title))
