"""Dates, times and durations as people type them into a plan's cells.

Every parser takes a cell as the sheet gave it (text, a number, a date or time from an
XLSX) and returns the value or raises :class:`BadValue` with the reason in Russian and
English. Excel keeps a date as the number of days since 1899-12-30 (a "serial date"),
and a time as a fraction of a day; a number in a date or time column is read so.

A date written without its year (``5 февраля``, ``05.02``) gets the year of the school
year it falls in: September to December belong to the school year's first calendar year,
January to August to the second. The school year is the one of the sheet's first date
that has a year, else the current one (from September on, the one starting this year).
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = [
    "BadValue",
    "parse_all_day",
    "parse_date",
    "parse_duration",
    "parse_time",
    "parse_time_range",
    "school_year_of",
    "split_date_time",
]

_EXCEL_EPOCH = dt.date(1899, 12, 30)
# Serial numbers of 1954..2118: a number in a date column outside them is no date.
_SERIAL_RANGE = (20_000, 80_000)

_MONTHS = {
    "январ": 1, "феврал": 2, "март": 3, "апрел": 4, "ма": 5, "июн": 6, "июл": 7,
    "август": 8, "сентябр": 9, "октябр": 10, "ноябр": 11, "декабр": 12,
    "янв": 1, "фев": 2, "мар": 3, "апр": 4, "авг": 8, "сен": 9, "сент": 9, "окт": 10,
    "ноя": 11, "нояб": 11, "дек": 12,
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip

_DOTTED = re.compile(r"^(\d{1,2})[./](\d{1,2})(?:[./](\d{2}|\d{4}))?(?:\s*г\.?)?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_WORDS = re.compile(r"^(\d{1,2})\s+([a-zа-яё]+)\.?(?:\s+(\d{4}))?(?:\s*(?:г\.?|года))?$")
_WORDS_EN = re.compile(r"^([a-z]+)\.?\s+(\d{1,2})(?:,?\s+(\d{4}))?$")
_WEEKDAY = re.compile(
    r"^\s*(?:пн|вт|ср|чт|пт|сб|вс|mon|tue|wed|thu|fri|sat|sun)[a-zа-я]*\.?,?\s+", re.IGNORECASE
)
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})(?::\d{2})?$")
# The end may name its day (an event past midnight, or over days: what the export writes).
_RANGE = re.compile(
    r"^(?:с\s+)?(\d{1,2}[:.]\d{2})\s*(?:[-–—]|до|to)\s*"
    r"(?:(\d{1,2}\.\d{1,2}(?:\.\d{2}|\.\d{4})?)\s+)?(\d{1,2}[:.]\d{2})$",
    re.IGNORECASE,
)
# «весь день», «весь день по 22.11» (the last day included), «all day to 22.11».
_ALL_DAY = re.compile(
    r"^(?:весь день|целый день|all day|all-day)"
    r"(?:,?\s*(?:по|до|to|until|through)\s+(\d{1,2}\.\d{1,2}(?:\.\d{2}|\.\d{4})?))?$",
    re.IGNORECASE,
)
_DURATION_PARTS = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(ч(?:ас(?:а|ов)?)?|h(?:ours?)?|м(?:ин(?:ут(?:ы|а)?)?)?|m(?:in(?:utes?)?)?)\.?",
    re.IGNORECASE,
)


_DATE_AND_TIME = re.compile(
    r"^(.*?\S),?\s+(?:в\s+)?(\d{1,2}[:.]\d{2}(?:\s*(?:[-–—]|до)\s*\d{1,2}[:.]\d{2})?)$"
)


class BadValue(ValueError):
    """A cell that is not what its column needs; ``str()`` is the bilingual reason."""


def school_year_of(day: dt.date) -> int:
    """The first calendar year of the school year that holds ``day`` (September–August)."""
    return day.year if day.month >= 9 else day.year - 1


def _with_school_year(day: int, month: int, school_year: int) -> dt.date:
    year = school_year if month >= 9 else school_year + 1
    return dt.date(year, month, day)


def _month(word: str) -> int | None:
    word = word.lower().replace("ё", "е")
    if word in _MONTHS:
        return _MONTHS[word]
    # Russian months decline (февраля, марта, мая): the longest stem that starts the word.
    stems = [stem for stem in _MONTHS if len(stem) >= 2 and word.startswith(stem)]
    return _MONTHS[max(stems, key=len)] if stems else None


def parse_date(value: object, school_year: int) -> dt.date:
    """The date in a cell; ``school_year`` gives the year of a date written without one."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if _SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1]:
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise BadValue(f"число {value:g} — не дата / the number {value:g} is not a date")
    text = _WEEKDAY.sub("", str(value or "").strip()).strip().lower()
    if not text:
        raise BadValue("дата не указана / no date given")
    try:
        if match := _DOTTED.match(text):
            day, month, year = int(match[1]), int(match[2]), match[3]
            if year is None:
                return _with_school_year(day, month, school_year)
            return dt.date(int(year) + (2000 if len(year) == 2 else 0), month, day)
        if match := _ISO.match(text):
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        if text.isdigit() and _SERIAL_RANGE[0] <= int(text) <= _SERIAL_RANGE[1]:
            return _EXCEL_EPOCH + dt.timedelta(days=int(text))
        if (match := _WORDS.match(text)) and (named := _month(match[2])):
            if match[3] is None:
                return _with_school_year(int(match[1]), named, school_year)
            return dt.date(int(match[3]), named, int(match[1]))
        if (match := _WORDS_EN.match(text)) and (named := _month(match[1])):
            if match[3] is None:
                return _with_school_year(int(match[2]), named, school_year)
            return dt.date(int(match[3]), named, int(match[2]))
    except ValueError:
        raise BadValue(f"нет такой даты: «{value}» / no such date: '{value}'") from None
    raise BadValue(
        f"не похоже на дату: «{value}» (пишите 05.02.2027, 5 февраля или 2027-02-05) / "
        f"not a date: '{value}' (write 05.02.2027, 5 февраля or 2027-02-05)"
    )


def split_date_time(value: object) -> tuple[object, str | None]:
    """A date cell that also holds the time (``08.02.2027 15:00``, ``5 февраля, 15:00–16:30``):
    the date part and the time part; any other cell as it is and None."""
    if isinstance(value, str):
        match = _DATE_AND_TIME.match(value.strip())
        if match and not _ISO.match(value.strip()):
            return match[1], match[2]
    return value, None


def has_year(value: object) -> bool:
    """Whether a date cell says its year (so it can set the sheet's school year)."""
    if isinstance(value, dt.date | int | float) and not isinstance(value, bool):
        return True
    text = str(value or "")
    return bool(re.search(r"\d{4}|\d{1,2}[./]\d{1,2}[./]\d{2}\b", text))


def parse_time(value: object) -> dt.time:
    """A time of day: ``15:00``, ``15.00``, ``9:05``, an XLSX time or a fraction of a day."""
    if isinstance(value, dt.datetime):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, float | int) and not isinstance(value, bool) and 0 <= value < 1:
        minutes = round(value * 24 * 60)
        return dt.time(minutes // 60 % 24, minutes % 60)
    text = str(value or "").strip()
    if not text:
        raise BadValue("время не указано / no time given")
    match = _TIME.match(text)
    if match is None and text.isdigit() and int(text) < 24:
        return dt.time(int(text))
    if match is not None:
        hour, minute = int(match[1]), int(match[2])
        if hour < 24 and minute < 60:
            return dt.time(hour, minute)
    raise BadValue(
        f"не похоже на время: «{text}» (пишите 15:00 или 15.00) / not a time: '{text}' "
        "(write 15:00 or 15.00)"
    )


def _day_after(text: str, first: dt.date) -> dt.date:
    """``22.11`` or ``22.11.2026``: the day a span that starts on ``first`` ends on; without
    a year, the first such day not before ``first`` (``28.12`` to ``10.01``: the next year)."""
    parts = [int(p) for p in text.split(".")]
    try:
        if len(parts) == 3:
            return dt.date(parts[2] + (2000 if parts[2] < 100 else 0), parts[1], parts[0])
        day = dt.date(first.year, parts[1], parts[0])
        return day if day >= first else dt.date(first.year + 1, parts[1], parts[0])
    except ValueError:
        raise BadValue(f"нет такой даты: «{text}» / no such date: '{text}'") from None


def parse_time_range(
    value: object, day: dt.date | None = None
) -> tuple[dt.time, dt.time | None, dt.date | None]:
    """A start and maybe an end in one cell: ``15:00–16:30``, ``с 15.00 до 16.30``, ``15:00``,
    or an end on a later day, ``15:00–03.02 16:00`` (as the export writes it; the day is
    read against ``day``, the row's date). The third value is that end's day, else None."""
    if not isinstance(value, str):
        return parse_time(value), None, None
    text = value.strip()
    match = _RANGE.match(text)
    if match:
        end_day = None
        if match[2]:
            if day is None:
                raise BadValue("нет даты начала / no start date")
            end_day = _day_after(match[2], day)
        return parse_time(match[1]), parse_time(match[3]), end_day
    return parse_time(text), None, None


def parse_all_day(value: object, day: dt.date) -> dt.date | None:
    """The last day (included) of an all-day cell: ``весь день`` (``day`` itself),
    ``весь день по 22.11`` (as the export writes an event over days); None for any other."""
    if not isinstance(value, str):
        return None
    match = _ALL_DAY.match(" ".join(value.split()))
    if match is None:
        return None
    if match[1] is None:
        return day
    last = _day_after(match[1], day)
    if (last - day).days > 366:
        raise BadValue(f"слишком длинный период: «{value}» / too long a span: '{value}'")
    return last


def parse_duration(value: object) -> dt.timedelta:
    """How long: ``90`` (minutes), ``90 мин``, ``1:30``, ``1 ч 30 мин``, ``1,5 ч``, ``2h``."""
    if isinstance(value, dt.timedelta):
        result = value
    elif isinstance(value, dt.time):
        result = dt.timedelta(hours=value.hour, minutes=value.minute)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        # An XLSX duration formatted as time is a fraction of a day; a plain number is minutes.
        result = dt.timedelta(days=value) if 0 < value < 1 else dt.timedelta(minutes=value)
    else:
        result = _duration_text(str(value or "").strip().lower())
    if result <= dt.timedelta(0) or result > dt.timedelta(days=14):
        raise BadValue(f"длительность вне пределов: «{value}» / duration out of range: '{value}'")
    return result


def _duration_text(text: str) -> dt.timedelta:
    if not text:
        raise BadValue("длительность не указана / no duration given")
    if text.isdigit():
        return dt.timedelta(minutes=int(text))
    if match := _TIME.match(text):
        return dt.timedelta(hours=int(match[1]), minutes=int(match[2]))
    total = dt.timedelta(0)
    rest = text
    for number, unit in _DURATION_PARTS.findall(text):
        amount = float(number.replace(",", "."))
        hours = unit[0] in "чh"
        total += dt.timedelta(hours=amount) if hours else dt.timedelta(minutes=amount)
        rest = rest.replace(number, "", 1).replace(unit, "", 1)
    if total and not rest.strip(" .,"):
        return total
    raise BadValue(
        f"не похоже на длительность: «{text}» (пишите 90 мин или 1:30) / not a duration: "
        f"'{text}' (write 90 min or 1:30)"
    )
