"""The import's readers of cells, headers and partner names (calhub.exchange, pure parts)."""

from __future__ import annotations

import datetime as dt

import pytest

from calhub.errors import UserError
from calhub.exchange.columns import Mapping_, column_names, find_header, read_mapping
from calhub.exchange.partners import PartnerMatcher
from calhub.exchange.values import (
    BadValue,
    parse_all_day,
    parse_date,
    parse_duration,
    parse_time,
    parse_time_range,
    school_year_of,
    split_date_time,
)
from calhub.hub.settings import CalendarSettings

SY = 2026  # the school year 2026/27


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("05.02.2027", dt.date(2027, 2, 5)),
        ("5.2.27", dt.date(2027, 2, 5)),
        ("2027-02-05", dt.date(2027, 2, 5)),
        ("5 февраля", dt.date(2027, 2, 5)),
        ("5 февраля 2028", dt.date(2028, 2, 5)),
        ("12 сентября", dt.date(2026, 9, 12)),  # autumn: the school year's first year
        ("1 мая", dt.date(2027, 5, 1)),
        ("3 марта", dt.date(2027, 3, 3)),
        ("05.02", dt.date(2027, 2, 5)),
        ("пт, 05.02.2027", dt.date(2027, 2, 5)),
        ("February 5, 2027", dt.date(2027, 2, 5)),
        (46423, dt.date(2027, 2, 5)),  # an Excel serial date
        ("46423", dt.date(2027, 2, 5)),
        (dt.datetime(2027, 2, 5, 15), dt.date(2027, 2, 5)),
    ],
)
def test_dates_as_people_type_them(cell: object, expected: dt.date) -> None:
    assert parse_date(cell, SY) == expected


@pytest.mark.parametrize("cell", ["", None, "завтра", "31.02.2027", "32 марта", 12, "2027-13-01"])
def test_not_dates(cell: object) -> None:
    with pytest.raises(BadValue):
        parse_date(cell, SY)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("08.02.2027 15:00", ("08.02.2027", "15:00")),
        ("5 февраля, 15:00–16:30", ("5 февраля", "15:00–16:30")),
        ("5 февраля в 15.00", ("5 февраля", "15.00")),
        ("05.02.2027", ("05.02.2027", None)),
        (46423, (46423, None)),
    ],
)
def test_a_date_with_its_time(cell: object, expected: tuple[object, str | None]) -> None:
    assert split_date_time(cell) == expected


def test_school_year() -> None:
    assert school_year_of(dt.date(2026, 9, 1)) == 2026
    assert school_year_of(dt.date(2027, 8, 31)) == 2026


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("15:00", (dt.time(15), None)),
        ("15.00", (dt.time(15), None)),
        ("9:05", (dt.time(9, 5), None)),
        ("15:00–16:30", (dt.time(15), dt.time(16, 30))),
        ("15.00 - 16.30", (dt.time(15), dt.time(16, 30))),
        ("с 15:00 до 16:30", (dt.time(15), dt.time(16, 30))),
        (0.625, (dt.time(15), None)),
        (dt.time(15, 30), (dt.time(15, 30), None)),
    ],
)
def test_times(cell: object, expected: tuple[dt.time, dt.time | None]) -> None:
    assert parse_time_range(cell) == (*expected, None)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("18:00–22.11 12:00", (dt.time(18), dt.time(12), dt.date(2026, 11, 22))),
        ("22:00 - 01.01 02:00", (dt.time(22), dt.time(2), dt.date(2027, 1, 1))),
        ("15:00–03.02.2027 16:00", (dt.time(15), dt.time(16), dt.date(2027, 2, 3))),
    ],
)
def test_times_ending_on_a_later_day(cell: str, expected: tuple[dt.time, dt.time, dt.date]) -> None:
    """As the export writes an event past midnight; a day without a year follows the row's."""
    day = dt.date(2026, 11, 21) if "22.11" in cell else dt.date(2026, 12, 31)
    if "2027 " in cell:
        day = dt.date(2027, 2, 1)
    assert parse_time_range(cell, day) == expected


@pytest.mark.parametrize(
    ("cell", "last"),
    [
        ("весь день", dt.date(2026, 12, 28)),
        ("Весь день", dt.date(2026, 12, 28)),
        ("весь день по 10.01", dt.date(2027, 1, 10)),  # over the new year
        ("весь день, до 30.12", dt.date(2026, 12, 30)),
        ("all day to 29.12.2026", dt.date(2026, 12, 29)),
        ("15:00", None),
        (0.5, None),
    ],
)
def test_all_day_cells(cell: object, last: dt.date | None) -> None:
    assert parse_all_day(cell, dt.date(2026, 12, 28)) == last


@pytest.mark.parametrize("cell", ["весь день по 31.02", "весь день по 01.01.2030"])
def test_bad_all_day_cells(cell: str) -> None:
    with pytest.raises(BadValue):
        parse_all_day(cell, dt.date(2026, 12, 28))


@pytest.mark.parametrize("cell", ["25:00", "15:75", "днём", ""])
def test_not_times(cell: str) -> None:
    with pytest.raises(BadValue):
        parse_time(cell)


@pytest.mark.parametrize(
    ("cell", "minutes"),
    [("90", 90), (90, 90), ("90 мин", 90), ("1:30", 90), ("1 ч 30 мин", 90), ("1,5 ч", 90),
     ("2 часа", 120), ("1h30m", 90), (0.0625, 90), (dt.time(1, 30), 90)],
)  # fmt: skip
def test_durations(cell: object, minutes: int) -> None:
    assert parse_duration(cell) == dt.timedelta(minutes=minutes)


@pytest.mark.parametrize("cell", ["долго", "0", "-5", "30 дней"])
def test_not_durations(cell: str) -> None:
    with pytest.raises(BadValue):
        parse_duration(cell)


CALENDARS = [
    CalendarSettings("bfu", "БФУ им. И. Канта"),
    CalendarSettings("kgtu", "КГТУ"),
    CalendarSettings("kspk", "Калининградский социально-педагогический колледж"),
    CalendarSettings("old", "Старый партнёр", archived=True),
]


@pytest.mark.parametrize(
    ("name", "calendar"),
    [
        ("БФУ им. И. Канта", "bfu"),
        ("бфу", "bfu"),
        ("«БФУ им. И. Канта»", "bfu"),
        ('"БФУ имени И. Канта"', "bfu"),
        ("Балтийский федеральный университет им. И. Канта", "bfu"),
        ("Балтийский федеральный университет", "bfu"),
        ("bfu", "bfu"),
        ("КГТУ", "kgtu"),
        ("кгту", "kgtu"),
        ("КСПК", "kspk"),
        ("Калининградский социально педагогический колледж", "kspk"),
        ("Старый партнёр", None),  # archived
        ("МГУ", None),
        ("", None),
    ],
)
def test_partner_names(name: str, calendar: str | None) -> None:
    found = PartnerMatcher(CALENDARS).match(name)
    assert (found.id if found else None) == calendar


def test_partner_aliases_come_first() -> None:
    matcher = PartnerMatcher(CALENDARS, {"Политех": "kgtu", "БФУ": "kspk"})
    assert matcher.match("политех").id == "kgtu"  # type: ignore[union-attr]
    assert matcher.match("БФУ").id == "kspk"  # type: ignore[union-attr]


def test_headers_russian_and_english() -> None:
    row = ["Дата", "Время (начало)", "Окончание", "Партнёр", "Мероприятие", "Классы", "Место",
           "Ответственный", "Примечание", "Длительность", "что-то ещё"]  # fmt: skip
    assert column_names(row, Mapping_()) == {
        0: "date", 1: "time", 2: "end", 3: "partner", 4: "title", 5: "audience", 6: "venue",
        7: "contact", 8: "notes", 9: "duration",
    }  # fmt: skip
    english = ["Date", "Start", "End", "Partner", "Title", "Grades", "Venue", "Notes"]
    assert set(column_names(english, Mapping_()).values()) == {
        "date", "start", "end", "partner", "title", "audience", "venue", "notes",
    }  # fmt: skip


def test_the_exports_own_columns_are_ignored() -> None:
    """«День недели» and «Статус», which the export writes, name nothing to import: the
    weekday is not taken for the date, even before the date column."""
    row = ["День недели", "Дата", "Время", "Партнёр", "Мероприятие", "Статус", "Status"]
    assert column_names(row, Mapping_()) == {1: "date", 2: "time", 3: "partner", 4: "title"}


def test_header_found_below_a_title_row() -> None:
    rows: list[list[object]] = [["План на февраль"], [], ["Дата", "Название"], ["05.02", "x"]]
    position, names = find_header(rows, Mapping_(), [1, 2, 3, 4])  # type: ignore[arg-type]
    assert position == 2 and names == {0: "date", 1: "title"}


def test_mapping_overrides_headers() -> None:
    mapping = read_mapping(
        'sheet = "План"\nheader_row = 3\n[columns]\n"Когда" = "date"\n"C" = "title"\n'
        '"Место" = "skip"\n[partners]\n"Политех" = "kgtu"\n'
    )
    assert mapping.sheet == "План" and mapping.header_row == 3
    names = column_names(["Когда", "Место", "Что угодно"], mapping)
    assert names == {0: "date", 2: "title"}
    assert mapping.partners == {"Политех": "kgtu"}


@pytest.mark.parametrize(
    "text",
    ["sheet = [", 'colour = "red"', '[columns]\n"A" = "nonsense"', "header_row = 0",
     '[partners]\n"x" = 1'],
)  # fmt: skip
def test_bad_mappings_are_user_errors(text: str) -> None:
    with pytest.raises(UserError):
        read_mapping(text)


def test_no_header_row() -> None:
    with pytest.raises(UserError, match="header"):
        find_header([["a", "b"], ["c", "d"]], Mapping_(), [1, 2])
