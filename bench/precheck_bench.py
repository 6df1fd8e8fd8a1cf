"""What the PUT pre-check costs on a typical object, and how soon it refuses a heavy one.

    python -m bench.precheck_bench            # run it on two checkouts to compare them

The typical object is what calendar apps send for a school series: a weekly event with a
Europe/Berlin VTIMEZONE, two alarms and three EXDATEs (1.3 KB). The raw scan
(``calhub.engine.rawscan.scan_body``) and the whole pre-check (``check_body``: the scan,
icalendar's parse and the rule probes) are timed separately, best of five runs. The heavy
bodies are the cases of issue 11: each is refused by the scan before any parser runs.
"""

from __future__ import annotations

import datetime as dt
import time
import timeit
from collections.abc import Callable

from calhub.engine import InvalidCalendarData
from calhub.engine.precheck import check_body
from calhub.engine.rawscan import scan_body

ZONE = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
)
ALARM = (
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:Напоминание\r\nEND:VALARM\r\n"
)
HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calhub//bench//RU\r\n"


def typical() -> str:
    return (
        HEAD + ZONE + "BEGIN:VEVENT\r\nUID:typical@bench\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20270105T100000\r\nDTEND;TZID=Europe/Berlin:20270105T110000\r\n"
        "RRULE:FREQ=WEEKLY;COUNT=30\r\n"
        "EXDATE;TZID=Europe/Berlin:20270112T100000,20270119T100000\r\n"
        "EXDATE;TZID=Europe/Berlin:20270126T100000\r\n"
        "SUMMARY:Кружок робототехники [10-11]\r\nLOCATION:Гимназия, ауд. 12\r\n"
        "DESCRIPTION:" + "Описание " * 20 + "\r\n" + ALARM * 2 + "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def series(inside: str = "", after: str = "") -> str:
    return (
        HEAD + "BEGIN:VEVENT\r\nUID:heavy@bench\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART:20270105T100000Z\r\nDTEND:20270105T110000Z\r\nRRULE:FREQ=DAILY;COUNT=600\r\n"
        f"SUMMARY:Курс [10]\r\n{inside}END:VEVENT\r\n{after}END:VCALENDAR\r\n"
    )


def overrides(count: int) -> str:
    start = dt.datetime(2027, 1, 5, 10)
    return "".join(
        "BEGIN:VEVENT\r\nUID:heavy@bench\r\nDTSTAMP:20260101T000000Z\r\n"
        f"RECURRENCE-ID:{stamp(start + dt.timedelta(days=n))}\r\n"
        f"DTSTART:{stamp(start + dt.timedelta(days=n, hours=2))}\r\n"
        f"DTEND:{stamp(start + dt.timedelta(days=n, hours=3))}\r\nEND:VEVENT\r\n"
        for n in range(count)
    )


def dates(name: str, count: int) -> str:
    start = dt.datetime(2027, 1, 5, 10, 30)
    return f"{name}:" + ",".join(stamp(start + dt.timedelta(days=n)) for n in range(count)) + "\r\n"


HEAVY: dict[str, Callable[[], str]] = {
    "9,000 changed instances": lambda: series(after=overrides(9000)),
    "150,000 RDATEs": lambda: series(inside=dates("RDATE", 150_000)),
    "150,000 EXDATEs": lambda: series(inside=dates("EXDATE", 150_000)),
    "9,000 X-wrapped alarms": lambda: series(inside=f"BEGIN:X-W\r\n{ALARM}END:X-W\r\n" * 9000),
}


def best_ms(run: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(run, number=number, repeat=5)) / number * 1000


def main() -> None:
    text = typical()
    body = text.encode()
    check_body(body, False)
    print(f"typical object, {len(body)} bytes:")
    print(f"  raw scan   {best_ms(lambda: scan_body(text), 2000):.3f} ms")
    print(f"  pre-check  {best_ms(lambda: check_body(body, False), 200):.3f} ms")
    for name, make in HEAVY.items():
        heavy = make().encode()
        started = time.perf_counter()
        try:
            check_body(heavy, False)
            outcome = "taken"
        except InvalidCalendarData as error:
            outcome = f"refused: {str(error)[:70]}"
        seconds = time.perf_counter() - started
        print(f"{name} ({len(heavy) / 1e6:.2f} MB): {seconds * 1000:.0f} ms, {outcome}")


if __name__ == "__main__":
    main()
