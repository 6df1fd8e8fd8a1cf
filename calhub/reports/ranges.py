"""The days a report covers: any range typed in, or a preset (a half of the school year).

Days are the hub's (its time zone), both included, as in the exports. The hub keeps no term
dates, so the presets are the halves of the Russian school year: 1 September – 31 December
and 1 January – 31 May, of this school year and the one before.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from calhub.errors import UserError

__all__ = ["MAX_DAYS", "Preset", "day_bounds", "default_range", "presets", "read_range"]

# A school year and a little: more is a typo in a year.
MAX_DAYS = 400


@dataclass(frozen=True, slots=True)
class Preset:
    key: str  # "2026-1": first half of 2026/27
    label_ru: str
    label_en: str
    first: dt.date
    last: dt.date


def _school_year(today: dt.date) -> int:
    """The year the school year containing ``today`` started in (June–August: the one
    just ended, whose report people ask for then)."""
    return today.year if today.month >= 9 else today.year - 1


def presets(today: dt.date) -> list[Preset]:
    """The halves of this school year and the last, latest first."""
    found = []
    for year in (_school_year(today), _school_year(today) - 1):
        span = f"{year}/{(year + 1) % 100:02d}"
        second = Preset(
            f"{year}-2",
            f"2-е полугодие {span}",
            f"Second half of {span}",
            dt.date(year + 1, 1, 1),
            dt.date(year + 1, 5, 31),
        )
        first = Preset(
            f"{year}-1",
            f"1-е полугодие {span}",
            f"First half of {span}",
            dt.date(year, 9, 1),
            dt.date(year, 12, 31),
        )
        found.extend([second, first])
    return [p for p in found if p.first <= today] or found


def default_range(today: dt.date) -> tuple[dt.date, dt.date]:
    """The half of the school year today is in (in summer: the spring just over)."""
    preset = presets(today)[0]
    return preset.first, preset.last


def _day(text: str, which: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise UserError(
            f"Дата «{text}» ({which}) не понята. / Date {text!r} ({which}) is not understood.",
            "Пишите ГГГГ-ММ-ДД, например 2027-01-31. / Use YYYY-MM-DD, e.g. 2027-01-31.",
        ) from exc


def read_range(
    start: str | None, end: str | None, today: dt.date, preset: str | None = None
) -> tuple[dt.date, dt.date]:
    """The range asked for: ``from`` and ``to`` (both needed), else a preset by key, else
    the default; a bad date, a reversed or an over-long range is a UserError."""
    start, end = (start or "").strip() or None, (end or "").strip() or None
    if start is None and end is None:
        if preset:
            for known in presets(today):
                if known.key == preset:
                    return known.first, known.last
            raise UserError(
                f"Нет периода «{preset}». / There is no preset {preset!r}.",
                "Выберите период из списка. / Choose one from the list.",
            )
        return default_range(today)
    if start is None or end is None:
        raise UserError(
            "Нужны обе даты: «с» и «по». / Both dates are needed: from and to.",
            "Например --from 2026-09-01 --to 2026-12-31. / E.g. --from 2026-09-01 --to 2026-12-31.",
        )
    first, last = _day(start, "from"), _day(end, "to")
    if last < first:
        raise UserError(
            f"Период кончается раньше, чем начинается: {first} – {last}. / The range ends "
            f"before it starts: {first} – {last}.",
            "Поменяйте даты местами. / Swap the dates.",
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise UserError(
            f"Период длиннее {MAX_DAYS} дней. / The range is longer than {MAX_DAYS} days.",
            "Сделайте отчёт за учебный год или короче. / Report on a school year or less.",
        )
    return first, last


def day_bounds(first: dt.date, last: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """The range as UTC instants: midnight before ``first`` to midnight after ``last``."""
    zone = zoneinfo.ZoneInfo(timezone)
    start = dt.datetime.combine(first, dt.time(), zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)
