"""The index narrows time-range REPORTs without changing their answer.

For many windows, the objects Radicale's own filter accepts are the same whether its
candidates come from every file (plain Radicale) or from calhub's index. The events cover
what could make the two disagree: time zones, floating and all-day times, multi-day,
recurring with EXDATE/RDATE/overrides, cancelled and transparent parts, instants, and the
ics fixtures of the engine tests.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from radicale.app.report import test_filter as radicale_matches
from radicale.storage import multifilesystem

from calhub.dav.importer import import_objects
from calhub.dav.indexing import has_local_times
from calhub.dav.known import reading_files
from calhub.dav.maintenance import open_runtime
from calhub.dav.storage import open_storage
from calhub.hub import Hub

ICS = Path(__file__).parent / "ics"
C = "urn:ietf:params:xml:ns:caldav"


def event(uid: str, lines: list[str], tz: bool = True) -> str:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calhub tests//EN"]
    body = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", *lines, "END:VEVENT"]
    text = "\r\n".join(head) + "\r\n"
    if tz:
        import icalendar

        for zone in ("Europe/Kaliningrad", "Europe/Moscow"):
            text += icalendar.Timezone.from_tzid(zone).to_ical().decode()
    return text + "\r\n".join([*body, "END:VCALENDAR"]) + "\r\n"


def stamp(day: dt.date, hour: int = 0, minute: int = 0) -> str:
    return f"{day:%Y%m%d}T{hour:02d}{minute:02d}00"


def generated_events(base: dt.date) -> list[str]:
    d = [base + dt.timedelta(days=n) for n in range(30)]
    kgd = "TZID=Europe/Kaliningrad"
    single = [
        event("timed", [f"DTSTART;{kgd}:{stamp(d[0], 15)}", f"DTEND;{kgd}:{stamp(d[0], 16)}"]),
        event(
            "late", [f"DTSTART;{kgd}:{stamp(d[1], 23, 30)}", f"DTEND;{kgd}:{stamp(d[2], 0, 30)}"]
        ),
        event("moscow", [f"DTSTART;TZID=Europe/Moscow:{stamp(d[2], 0, 30)}", "DURATION:PT1H"]),
        event("utc", [f"DTSTART:{stamp(d[3], 22)}Z", f"DTEND:{stamp(d[3], 23)}Z"]),
        event("floating", [f"DTSTART:{stamp(d[4], 23)}", f"DTEND:{stamp(d[5], 1)}"], tz=False),
        event("allday", [f"DTSTART;VALUE=DATE:{d[6]:%Y%m%d}"], tz=False),
        event(
            "multiday",
            [f"DTSTART;VALUE=DATE:{d[7]:%Y%m%d}", f"DTEND;VALUE=DATE:{d[10]:%Y%m%d}"],
            tz=False,
        ),
        event("instant", [f"DTSTART;{kgd}:{stamp(d[11], 12)}"]),
        event(
            "weekly",
            [
                f"DTSTART;{kgd}:{stamp(d[0], 10)}",
                f"DTEND;{kgd}:{stamp(d[0], 11)}",
                "RRULE:FREQ=WEEKLY;COUNT=4",
                f"EXDATE;{kgd}:{stamp(d[7], 10)}",
                f"RDATE;{kgd}:{stamp(d[12], 18)}",
            ],
        ),
        event(
            "cancelled", [f"DTSTART;{kgd}:{stamp(d[13], 9)}", "DURATION:PT2H", "STATUS:CANCELLED"]
        ),
        event("free", [f"DTSTART;{kgd}:{stamp(d[14], 9)}", "DURATION:PT2H", "TRANSP:TRANSPARENT"]),
        event(
            "daily-until",
            [
                f"DTSTART;{kgd}:{stamp(d[15], 8)}",
                "DURATION:PT30M",
                f"RRULE:FREQ=DAILY;UNTIL={stamp(d[20], 8)}Z",
            ],
        ),
    ]
    # A moved occurrence: the override is a second VEVENT with the same UID.
    moved = [
        event(
            "moved",
            [
                f"DTSTART;{kgd}:{stamp(d[21], 14)}",
                "DURATION:PT1H",
                "RRULE:FREQ=DAILY;COUNT=3",
                "END:VEVENT",
                "BEGIN:VEVENT",
                "UID:moved",
                "DTSTAMP:20260101T000000Z",
                f"RECURRENCE-ID;{kgd}:{stamp(d[22], 14)}",
                f"DTSTART;{kgd}:{stamp(d[25], 17)}",
                "DURATION:PT1H",
            ],
        )
    ]
    return single + moved


def fixture_events() -> list[str]:
    """The engine's readable fixtures, one object per UID as a CalDAV client sends them."""
    import icalendar

    texts = []
    for path in sorted(ICS.glob("*.ics")):
        # Unreadable or refused on purpose, or refused by Radicale itself (RDATE periods,
        # a repeated DTSTART).
        refused = ("malformed", "rrule_bomb", "rrule_never", "repeated_", "unknown_tzid")
        if path.name.startswith((*refused, "rdate_with_period")):
            continue
        source = icalendar.Calendar.from_ical(path.read_text(encoding="utf-8"))
        zones = [c for c in source.subcomponents if c.name == "VTIMEZONE"]
        by_uid: dict[str, list[Any]] = {}
        for component in source.subcomponents:
            if component.name == "VEVENT":
                by_uid.setdefault(str(component["UID"]), []).append(component)
        for components in by_uid.values():
            calendar = icalendar.Calendar()
            calendar.add("prodid", "-//calhub tests//EN")
            calendar.add("version", "2.0")
            for component in [*zones, *components]:
                calendar.add_component(component)
            texts.append(calendar.to_ical().decode())
    return texts


def time_range_filter(start: dt.datetime, end: dt.datetime) -> list[ET.Element]:
    query = ET.Element(f"{{{C}}}filter")
    calendar = ET.SubElement(query, f"{{{C}}}comp-filter", name="VCALENDAR")
    vevent = ET.SubElement(calendar, f"{{{C}}}comp-filter", name="VEVENT")
    ET.SubElement(
        vevent,
        f"{{{C}}}time-range",
        start=start.strftime("%Y%m%dT%H%M%SZ"),
        end=end.strftime("%Y%m%dT%H%M%SZ"),
    )
    return [query]


def matching(collection: Any, candidates: Any, filters: list[ET.Element]) -> set[str]:
    return {
        item.href
        for item, simple in candidates
        if simple or all(radicale_matches(collection.tag, item, f) for f in filters)
    }


@pytest.fixture(scope="module")
def calendar(module_hubs: Any) -> Any:
    hub = Hub(module_hubs.create())
    runtime = open_runtime(hub)
    bfu = hub.settings.calendar("bfu")
    assert bfu is not None
    base = dt.date.today() + dt.timedelta(days=3)
    texts = generated_events(base) + fixture_events()
    assert import_objects(runtime, bfu, texts) == len(texts)
    storage = open_storage(runtime)
    with storage.acquire_lock("r"):
        collection = next(iter(storage.discover(bfu.path)))
    return collection, base


def windows(base: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    found = []
    first = dt.datetime.combine(base - dt.timedelta(days=2), dt.time(), dt.UTC)
    for day in range(34):
        start = first + dt.timedelta(days=day)
        found.append((start, start + dt.timedelta(days=1)))
        for hour in (0, 7, 13, 21, 22, 23):
            moment = start + dt.timedelta(hours=hour)
            found.append((moment, moment + dt.timedelta(hours=1)))
    found.append((first, first + dt.timedelta(days=40)))
    # Far from today, where the fixture files of past years live.
    for year in range(2024, 2028):
        start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
        found += [
            (start + dt.timedelta(days=n), start + dt.timedelta(days=n + 7))
            for n in range(0, 365, 7)
        ]
    return found


def test_index_narrowed_report_equals_plain_radicale(calendar: Any) -> None:
    collection, base = calendar
    checked = disagreements = 0
    narrowed = vouched = 0
    for start, end in windows(base):
        filters = time_range_filter(start, end)
        with reading_files():  # Radicale's own prefilter over every file, not the index
            plain_candidates = list(multifilesystem.Collection.get_filtered(collection, filters))
        hub_candidates = list(collection.get_filtered(filters))
        assert len(hub_candidates) <= len(plain_candidates)
        narrowed += len(plain_candidates) - len(hub_candidates)
        # Where the index vouches for a match that Radicale would have to check itself.
        vouched += sum(1 for _, sure in hub_candidates if sure) - sum(
            1 for _, sure in plain_candidates if sure
        )
        plain = matching(collection, plain_candidates, filters)
        hub = matching(collection, hub_candidates, filters)
        checked += 1
        if plain != hub:
            disagreements += 1
            pytest.fail(f"window {start}–{end}: plain {sorted(plain)} hub {sorted(hub)}")
    assert checked > 400 and disagreements == 0
    assert narrowed > 0, "the index should leave out candidates Radicale would read"
    assert vouched > 0, "the index should spare Radicale the filter where it knows the answer"


@pytest.mark.parametrize(
    ("lines", "local"),
    [
        (["DTSTART;TZID=Europe/Kaliningrad:20261130T100000"], False),
        (["DTSTART:20261130T080000Z", "EXDATE:20261207T080000Z,20261214T080000Z"], False),
        (["DTSTART:20261130T100000"], True),
        (["DTSTART;VALUE=DATE:20261130"], True),
        (["DTSTART:20261130T080000Z", "EXDATE:20261207T100000"], True),
        (["DTSTART:20261130T080000Z", "RDATE;VALUE=PERIOD:20261207T100000Z/PT1H"], True),
    ],
)
def test_times_radicale_may_place_elsewhere_make_an_item_inexact(
    lines: list[str], local: bool
) -> None:
    """Floating and all-day times are UTC to Radicale and the hub's zone to the hub; a
    VTIMEZONE's own local times do not count."""
    zone = "BEGIN:VTIMEZONE\r\nTZID:X\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
    text = f"BEGIN:VCALENDAR\r\n{zone}END:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\n"
    text += "".join(f"{line}\r\n" for line in lines) + "END:VEVENT\r\nEND:VCALENDAR\r\n"
    assert has_local_times(text) is local
