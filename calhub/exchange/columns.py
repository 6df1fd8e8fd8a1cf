"""Which column holds what: the headers a plan has, in Russian or English, and the mapping
file that overrides them.

A mapping (TOML) names the sheet, the header row, columns by header text (or by letter,
``"C"``) and partner aliases::

    sheet = "План"            # XLSX: the sheet to read (default: the first)
    header_row = 2            # the header's row number (default: found)
    source = "plan-2026"      # what the import's events are marked with (default: file name)

    [columns]
    "Дата проведения" = "date"
    "E" = "venue"

    [partners]
    "Балтийский университет" = "bfu"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field

from calhub.errors import UserError
from calhub.exchange.sheets import Cell, SheetError

__all__ = [
    "FIELDS",
    "MAPPING_MAX_BYTES",
    "Mapping_",
    "find_header",
    "mapping_from_bytes",
    "normalise_header",
    "read_mapping",
]

# A mapping names a few dozen headers and partners; more is no mapping file.
MAPPING_MAX_BYTES = 64 * 1024

# field → the headers that name it, normalised (see normalise_header).
FIELDS: dict[str, tuple[str, ...]] = {
    "date": ("дата", "день", "date", "day", "дата проведения", "число"),
    "time": ("время", "time", "часы", "время проведения"),
    "start": ("начало", "start", "с", "время начала", "start time", "begins"),
    "end": ("окончание", "конец", "end", "до", "время окончания", "end time", "ends"),
    "duration": ("длительность", "продолжительность", "duration", "length", "мин"),
    "partner": (
        "партнер", "партнеры", "организация", "организатор", "partner", "organisation",
        "organization", "organiser", "organizer", "календарь", "calendar", "вуз",
    ),
    "title": (
        "мероприятие", "название", "событие", "тема", "title", "event", "name", "summary",
        "название мероприятия",
    ),
    "audience": (
        "классы", "класс", "параллель", "аудитория", "участники", "для кого", "classes",
        "class", "grades", "grade", "audience",
    ),
    "venue": ("место", "место проведения", "аудитория место", "venue", "place", "location"),
    "contact": ("ответственный", "ответственные", "контакт", "contact", "responsible"),
    "notes": ("примечание", "примечания", "комментарий", "notes", "note", "comment"),
    "id": ("id", "код", "номер", "№", "uid", "key"),
}  # fmt: skip

# Columns the export writes that an import does not read (the weekday follows from the
# date, the status from the clash check): ignored, so "День недели" is not taken for a date.
IGNORED = ("день недели", "weekday", "day of week", "статус", "status")

_HEADER_OF = {header: name for name, headers in FIELDS.items() for header in headers}
_HEADER_OF.update(dict.fromkeys(IGNORED, "skip"))


def normalise_header(text: object) -> str:
    """Lower case, ё as е, without punctuation, brackets and spaces at the ends."""
    value = str(text or "").lower().replace("ё", "е")
    value = re.sub(r"\(.*?\)", " ", value)
    value = re.sub(r"[^\w№ ]+", " ", value)
    return " ".join(value.split())


@dataclass(frozen=True)
class Mapping_:  # "Mapping" is the ABC's name
    """A mapping file's content (all optional)."""

    sheet: str | None = None
    header_row: int | None = None
    source: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # header or letter → field
    partners: dict[str, str] = field(default_factory=dict)  # name → calendar id


def _mapping_error(reason: str) -> UserError:
    return UserError(
        f"Файл сопоставления: {reason}. / The mapping file: {reason}.",
        hint="See docs/exchange.md for its keys: sheet, header_row, source, [columns], [partners].",
    )


def read_mapping(text: str) -> Mapping_:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _mapping_error(f"не TOML ({exc})") from exc
    unknown = set(data) - {"sheet", "header_row", "source", "columns", "partners"}
    if unknown:
        raise _mapping_error(f"неизвестные ключи {', '.join(sorted(unknown))}")
    columns = data.get("columns", {})
    partners = data.get("partners", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise _mapping_error("[columns] maps a header to a field name")
    bad = sorted(set(columns.values()) - set(FIELDS) - {"skip"})
    if bad:
        raise _mapping_error(f"неизвестные поля {', '.join(bad)} (known: {', '.join(FIELDS)})")
    if not isinstance(partners, dict) or not all(isinstance(v, str) for v in partners.values()):
        raise _mapping_error("[partners] maps a name to a calendar id")
    header_row = data.get("header_row")
    if header_row is not None and (not isinstance(header_row, int) or header_row < 1):
        raise _mapping_error("header_row is a row number, 1 or more")
    sheet, source = data.get("sheet"), data.get("source")
    if sheet is not None and not isinstance(sheet, str):
        raise _mapping_error("sheet is a sheet's name")
    if source is not None and not isinstance(source, str):
        raise _mapping_error("source is a short name")
    return Mapping_(
        sheet=sheet,
        header_row=header_row,
        source=source,
        columns={normalise_header(k) if len(k) > 2 else k.upper(): v for k, v in columns.items()},
        partners=dict(partners),
    )


def mapping_from_bytes(data: bytes) -> Mapping_:
    """A mapping file's bytes as the command line and the import page take them: UTF-8
    TOML of at most :data:`MAPPING_MAX_BYTES`; a :class:`UserError` saying what is wrong."""
    if len(data) > MAPPING_MAX_BYTES:
        raise _mapping_error(f"больше {MAPPING_MAX_BYTES // 1024} KB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _mapping_error(f"не UTF-8 (byte {exc.start})") from exc
    return read_mapping(text)


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def column_names(row: Sequence[Cell], mapping: Mapping_) -> dict[int, str]:
    """Column index → field for a header row (the mapping first, then the known headers)."""
    found: dict[int, str] = {}
    for index, cell in enumerate(row):
        header = normalise_header(cell)
        name = mapping.columns.get(_letter(index)) or mapping.columns.get(header)
        if name is None:
            name = _HEADER_OF.get(header)
        if name is None and header:
            # "Дата мероприятия", "Время (начало)": the first word that names a field.
            name = next((_HEADER_OF[w] for w in header.split() if w in _HEADER_OF), None)
        if name and name != "skip" and name not in found.values():
            found[index] = name
    return found


def find_header(
    rows: Sequence[Sequence[Cell]], mapping: Mapping_, numbers: Sequence[int]
) -> tuple[int, dict[int, str]]:
    """The header's position among ``rows`` and its columns: the mapping's row, else the
    first of the first 20 rows that names a date and a title or two other fields."""
    if mapping.header_row is not None:
        for position, number in enumerate(numbers):
            if number == mapping.header_row:
                return position, column_names(rows[position], mapping)
        raise _mapping_error(f"нет строки {mapping.header_row}")
    for position, row in enumerate(rows[:20]):
        names = column_names(row, mapping)
        if "date" in names.values() and len(names) >= 2:
            return position, names
    raise SheetError(
        "Не найдена строка заголовков: нужны столбцы хотя бы «Дата» и «Мероприятие». / "
        "No header row found: the sheet needs at least a 'Date' and a 'Title' column.",
        hint="Name the columns (Дата, Время, Партнёр, Мероприятие, Классы, Место) or give a "
        "mapping file with --mapping (docs/exchange.md).",
    )


def letter(index: int) -> str:
    """The column's letter as a spreadsheet shows it (0 → A)."""
    return _letter(index)


def header_text(row: Sequence[Cell], index: int) -> str:
    value = row[index] if index < len(row) else None
    return str(value).strip() if value not in (None, "") else _letter(index)
