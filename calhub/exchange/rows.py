"""A sheet's rows as events: each row's calendar, times, texts and stable UID, or the
reasons it is not one.

**How a row keeps its UID.** A row's UID is made from its calendar and its key: the
sheet's «Код»/ID column when it has one, else the row's date and title (and, for a second
row of the same date and title, its rank among them). The time is not part of the key, so
a row whose time is changed in the sheet updates its event; a row whose date, title or
partner changes becomes a new event, and the old one is reported as gone from the sheet
(removed with ``--prune``). An ID column keeps the UID through any change but the partner.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from calhub.dav.eventtext import EventFields
from calhub.exchange.columns import Mapping_, find_header, header_text
from calhub.exchange.partners import PartnerMatcher
from calhub.exchange.sheets import Cell, Sheet
from calhub.exchange.values import (
    BadValue,
    has_year,
    parse_all_day,
    parse_date,
    parse_duration,
    parse_time,
    parse_time_range,
    school_year_of,
    split_date_time,
)

if TYPE_CHECKING:
    from calhub.engine import AudienceParser
    from calhub.hub.settings import CalendarSettings

__all__ = ["RowError", "RowEvent", "SheetRows", "read_rows"]

_DEFAULT_MINUTES = 90  # a row with a start and no end or duration: one lesson pair


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    reason: str


@dataclass(frozen=True, slots=True)
class RowEvent:
    row: int
    calendar: CalendarSettings
    uid: str
    fields: EventFields
    contact: str


@dataclass
class SheetRows:
    events: list[RowEvent] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    unknown_partners: dict[str, list[int]] = field(default_factory=dict)
    read: int = 0
    empty: int = 0
    header_row: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # field → header as written
    # UIDs of rows that name an event even if the row has errors: never "gone".
    seen_uids: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _uid(calendar: str, key: str) -> str:
    digest = hashlib.sha256(f"{calendar}\x1f{key}".encode()).hexdigest()[:24]
    return f"import-{digest}@calhub"


def _school_year(rows: list[list[Cell]], index: int | None, today: dt.date) -> int:
    """The school year of the sheet's first date with a year, else the current one."""
    if index is not None:
        for row in rows:
            value = row[index] if index < len(row) else None
            if value not in (None, "") and has_year(value):
                try:
                    return school_year_of(parse_date(value, school_year_of(today)))
                except BadValue:
                    continue
    return school_year_of(today)


class _Reader:
    """One sheet's rows read against the hub's calendars and audience parser."""

    def __init__(
        self,
        names: dict[int, str],
        matcher: PartnerMatcher,
        parser: AudienceParser,
        zone: dt.tzinfo,
        default: CalendarSettings | None,
        school_year: int,
    ) -> None:
        self.index = {name: i for i, name in names.items()}
        self.matcher = matcher
        self.parser = parser
        self.zone = zone
        self.default = default
        self.school_year = school_year
        self.ranks: Counter[tuple[str, str]] = Counter()

    def cell(self, row: list[Cell], name: str) -> Cell:
        position = self.index.get(name)
        if position is None or position >= len(row):
            return None
        value = row[position]
        return None if isinstance(value, str) and not value.strip() else value

    def read(self, number: int, row: list[Cell], out: SheetRows) -> None:
        errors: list[RowError] = []

        def fail(column: str, reason: str) -> None:
            errors.append(RowError(number, out.columns.get(column, column), reason))

        title = _text(self.cell(row, "title"))
        if not title:
            fail("title", "нет названия / no title")
        calendar = self._calendar(number, row, out, fail)
        day: dt.date | None = None
        try:
            day = parse_date(split_date_time(self.cell(row, "date"))[0], self.school_year)
        except BadValue as exc:
            fail("date", str(exc))
        if calendar is not None and day is not None and title:
            key = _text(self.cell(row, "id"))
            if not key:
                base = (day.isoformat(), " ".join(title.lower().split()))
                self.ranks[(calendar.id, "\x1f".join(base))] += 1
                rank = self.ranks[(calendar.id, "\x1f".join(base))]
                key = "\x1f".join((*base, str(rank)))
            uid = _uid(calendar.id, key)
            out.seen_uids.add(uid)
        times = self._times(row, day, fail)
        audience = _text(self.cell(row, "audience"))
        if audience and self.parser.parse(audience) is None:
            fail("audience", f"не похоже на классы: «{audience}» / not classes: '{audience}'")
        if errors or calendar is None or times is None:
            out.errors.extend(errors)
            return
        notes = _text(self.cell(row, "notes"))
        contact = _text(self.cell(row, "contact"))
        description = "\n".join(
            part
            for part in (notes, f"Ответственный / Contact: {contact}" if contact else "")
            if part
        )
        fields = EventFields(
            summary=title,
            location=_text(self.cell(row, "venue")),
            description=description,
            audience=audience,
            start=times[0],
            end=times[1],
            all_day=times[2],
        )
        out.events.append(RowEvent(number, calendar, uid, fields, contact))

    def _calendar(
        self, number: int, row: list[Cell], out: SheetRows, report: Callable[[str, str], None]
    ) -> CalendarSettings | None:
        name = _text(self.cell(row, "partner"))
        if not name:
            if self.default is None:
                report(
                    "partner",
                    "не указан партнёр (или дайте --calendar) / no partner (or give --calendar)",
                )
            return self.default
        calendar = self.matcher.match(name)
        if calendar is None:
            out.unknown_partners.setdefault(name, []).append(number)
            report("partner", f"неизвестный партнёр «{name}» / unknown partner '{name}'")
        return calendar

    def _times(
        self, row: list[Cell], day: dt.date | None, report: Callable[[str, str], None]
    ) -> tuple[dt.datetime, dt.datetime, bool] | None:
        """The row's start and end, and whether it is an all-day event (its times are then
        the midnights that begin its first day and end its last)."""
        start: dt.time | None = None
        end: dt.time | None = None
        end_day: dt.date | None = None
        column = "start" if self.cell(row, "start") is not None else "time"
        written = self.cell(row, column)
        try:
            if written is None:
                date_cell = self.cell(row, "date")
                written = split_date_time(date_cell)[1]
                timed = isinstance(date_cell, dt.datetime) and date_cell.time() != dt.time(0)
                if written is None and timed:
                    assert isinstance(date_cell, dt.datetime)
                    start = date_cell.time().replace(second=0, microsecond=0)
            if written is not None and day is not None:
                last = parse_all_day(written, day)
                if last is not None:
                    first = dt.datetime.combine(day, dt.time(0), tzinfo=self.zone)
                    after = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), self.zone)
                    return first, after, True
            if written is not None:
                start, end, end_day = parse_time_range(written, day)
        except BadValue as exc:
            report(column if column in self.index else "time", str(exc))
            return None
        if start is None:
            report("time", "время не указано / no time given")
            return None
        length: dt.timedelta | None = None
        try:
            if self.cell(row, "end") is not None:
                end = parse_time(self.cell(row, "end"))
            elif self.cell(row, "duration") is not None:
                length = parse_duration(self.cell(row, "duration"))
        except BadValue as exc:
            report("end" if self.cell(row, "end") is not None else "duration", str(exc))
            return None
        if day is None:
            return None
        begin = dt.datetime.combine(day, start, tzinfo=self.zone)
        if length is not None:
            finish = begin + length
        elif end is not None:
            finish = dt.datetime.combine(end_day or day, end, tzinfo=self.zone)
        else:
            finish = begin + dt.timedelta(minutes=_DEFAULT_MINUTES)
        if finish <= begin:
            report("end", "окончание не позже начала / the end is not after the start")
            return None
        return begin, finish, False


def read_rows(
    sheet: Sheet,
    mapping: Mapping_,
    matcher: PartnerMatcher,
    parser: AudienceParser,
    zone: dt.tzinfo,
    default: CalendarSettings | None,
    today: dt.date,
) -> SheetRows:
    """The events of ``sheet``'s rows below its header, and the errors of the others."""
    out = SheetRows()
    position, names = find_header(sheet.rows, mapping, sheet.numbers)
    header = sheet.rows[position]
    out.header_row = sheet.numbers[position]
    out.columns = {name: header_text(header, i) for i, name in names.items()}
    if "title" not in names.values():
        out.notes.append("no title column")
    body = sheet.rows[position + 1 :]
    date_index = next((i for i, n in names.items() if n == "date"), None)
    reader = _Reader(names, matcher, parser, zone, default, _school_year(body, date_index, today))
    for number, row in zip(sheet.numbers[position + 1 :], body, strict=True):
        if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in row):
            out.empty += 1
            continue
        out.read += 1
        reader.read(number, row, out)
    return out
