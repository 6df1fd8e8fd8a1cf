"""Makes the fixture sheets of tests/sheets/ (run: python tests/sheets/make_sheets.py).

Each file is named after what it covers; tests/test_exchange_fixtures.py holds each one's
expected report. The files are written from this script only, so they can be made again
byte for byte the same (openpyxl's timestamps are fixed below). Partners are the test
hub's: ``bfu`` («БФУ им. И. Канта») and ``kgtu`` («КГТУ»).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import openpyxl

HERE = Path(__file__).parent
FIXED = dt.datetime(2026, 12, 1, 12, 0)

RUSSIAN_HEADERS = [
    "Дата", "Начало", "Окончание", "Партнёр", "Мероприятие", "Классы", "Место",
    "Ответственный", "Примечание",
]  # fmt: skip


def _book() -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    book.properties.created = FIXED
    book.properties.modified = FIXED
    return book


def _bytes(book: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return _fixed_zip(buffer.getvalue())


def _fixed_zip(data: bytes, replace: Mapping[str, bytes] | None = None) -> bytes:
    """The archive again with fixed member times (and members replaced), so it is the
    same on every run."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = (replace or {}).get(info.filename, source.read(info.filename))
            if info.filename == "docProps/core.xml":
                # openpyxl stamps the time of saving; the fixtures keep a fixed one.
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-12-01T12:00:00Z", content
                )
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 12, 1, 12, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, content)
    return out.getvalue()


def russian_headers() -> bytes:
    book = _book()
    sheet = book.active
    sheet.title = "План"
    sheet.append(RUSSIAN_HEADERS)
    sheet.append([dt.date(2027, 2, 8), dt.time(15), dt.time(16, 30), "БФУ им. И. Канта",
                  "Лекция по робототехнике", "10А, 10Б", "Актовый зал", "Иванова А. П.",
                  "Взять сменную обувь"])  # fmt: skip
    sheet.append([dt.date(2027, 2, 9), dt.time(14, 30), dt.time(16), "КГТУ",
                  "Экскурсия в лабораторию", "9", "КГТУ, корпус 2", "Петров", ""])  # fmt: skip
    sheet.append([dt.date(2027, 2, 10), "15.00", "16.00", "бфу", "Мастер-класс по химии",
                  "11", "Кабинет 21", "", ""])  # fmt: skip
    return _bytes(book)


def merged_cells() -> bytes:
    book = _book()
    sheet = book.active
    sheet.title = "Февраль"
    sheet.append(["План мероприятий на февраль 2027"])
    sheet.merge_cells("A1:F1")
    sheet.append(["Дата", "Время", "Партнёр", "Мероприятие", "Классы", "Место"])
    day = dt.date(2027, 2, 15)
    sheet.append([day, "10:00–11:30", "КГТУ", "Олимпиада по физике", "10", "Кабинет 1"])
    sheet.append([None, "12:00–13:00", None, "Разбор задач", "10", "Кабинет 1"])
    sheet.append([None, "14:00–15:00", None, "Награждение", "10", "Актовый зал"])
    # The date and the partner are written once for the day's three rows.
    sheet.merge_cells("A3:A5")
    sheet.merge_cells("C3:C5")
    return _bytes(book)


def excel_serial_dates() -> bytes:
    book = _book()
    sheet = book.active
    sheet.append(["Date", "Start", "Duration", "Partner", "Title", "Grades"])
    # 46426 = 2027-02-08 (days since 1899-12-30), a number with no date format, as a
    # sheet pasted from another program keeps it; 0.625 of a day is 15:00.
    sheet.append([46426, 0.625, 90, "bfu", "Serial date lecture", "8"])
    sheet.append(["46427", "16:00", "1:30", "КГТУ", "Serial date as text", "8"])
    sheet.append([46428.0, 0.5, "1 ч 30 мин", "БФУ", "Serial date float", "8"])
    return _bytes(book)


def formulas() -> bytes:
    book = _book()
    sheet = book.active
    sheet.append(["Дата", "Время", "Партнёр", "Мероприятие", "Классы"])
    sheet.append([dt.date(2027, 2, 22), "15:00–16:00", "БФУ", "Первое занятие", "7"])
    sheet.append(["=A2+1", "15:00–16:00", "БФУ", '="Второе "&"занятие"', "7"])
    sheet.append(["=A3+1", "15:00–16:00", "БФУ", '=HYPERLINK("http://example.invalid","x")', "7"])
    data = _bytes(book)
    # openpyxl writes formulas without the value a spreadsheet program saves beside them;
    # give A3 and B3 theirs, as Excel would, and leave row 4's date without one (a file
    # saved by a program that does not compute).
    archive = zipfile.ZipFile(io.BytesIO(data))
    xml = archive.read("xl/worksheets/sheet1.xml").decode()
    xml = _cached(xml, "A3", "46441", text=False)  # 2027-02-23
    xml = _cached(xml, "D3", "Второе занятие", text=True)
    xml = _cached(xml, "D4", "Третье занятие", text=True)
    return _fixed_zip(data, {"xl/worksheets/sheet1.xml": xml.encode()})


def _cached(xml: str, ref: str, value: str, text: bool) -> str:
    pattern = re.compile(rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/?>(?:</v>)?')
    kind = ' t="str"' if text else ""
    replaced, count = pattern.subn(rf'<c r="{ref}"{kind}><f>\2</f><v>{value}</v>', xml)
    assert count == 1, ref
    return replaced


def empty_rows() -> bytes:
    lines = [
        "Дата,Время,Партнёр,Мероприятие,Классы,Место",
        ",,,,,",
        "01.03.2027,15:00,КГТУ,Встреча с выпускниками,11,Актовый зал",
        "",
        ",,,,,",
        "02.03.2027,15:00-16:00,БФУ,Лекция по истории,9,Кабинет 5",
        "   ,  ,,,,",
        "",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def windows1251() -> bytes:
    lines = [
        "Дата;Время;Партнёр;Мероприятие;Классы;Место;Ответственный",
        "03.03.2027;15:00–16:30;«БФУ им. И. Канта»;Лекция «Химия вокруг нас»;10;Актовый зал;"
        "Сидорова",
        "04.03.2027;14:00;КГТУ;Ярмарка профессий;8-9;Спортзал;Ёлкина",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


def semicolon() -> bytes:
    lines = [
        "Дата;Время;Длительность;Партнёр;Мероприятие;Классы",
        "5 марта;15:00;45 мин;БФУ;Семинар, часть 1;7А",
        '6 марта 2027;15.00;1:00;КГТУ;"Семинар; часть 2";7А',
        "07.03.2027;15:00;;Неизвестный вуз;Семинар 3;7А",
        "08.03.2027;двадцать пять;;БФУ;Семинар 4;7А",
    ]
    # UTF-8 with a BOM, as Excel's "CSV UTF-8" saves it.
    return b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode("utf-8")


FIXTURES = {
    "russian_headers.xlsx": russian_headers,
    "merged_cells.xlsx": merged_cells,
    "excel_serial_dates.xlsx": excel_serial_dates,
    "formulas.xlsx": formulas,
    "empty_rows.csv": empty_rows,
    "windows1251.csv": windows1251,
    "semicolon.csv": semicolon,
}


def big_sheet(rows: int, partners: Sequence[str] = ("БФУ", "КГТУ")) -> bytes:
    """A CSV of ``rows`` events over many days and classes (the slow test's 50,000)."""
    out = ["Дата;Время;Партнёр;Мероприятие;Классы;Место"]
    start = dt.date(2027, 1, 11)
    for n in range(rows):
        day = start + dt.timedelta(days=n // 200)
        hour = 8 + n % 10
        grade = 1 + (n // 10) % 11
        letter = "АБВГДЕЖИКЛ"[(n // 110) % 10]
        out.append(
            f"{day:%d.%m.%Y};{hour}:00–{hour}:45;{partners[n % len(partners)]};"
            f"Занятие {n};{grade}{letter};Кабинет {n % 97}-{n // 97 % 13}"
        )
    return ("\n".join(out) + "\n").encode("utf-8")


def main(argv: Sequence[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else HERE
    for name, make in FIXTURES.items():
        (target / name).write_bytes(make())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
