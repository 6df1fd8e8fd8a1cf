"""When an event was written (LAST-MODIFIED, CREATED, DTSTAMP) and its cancelled and
transparent parts made ordinary for counting: calhub.engine.stamps on the small report
term's fixtures (tests/reports/small_term)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

from calhub.engine.stamps import WriteStamps, object_stamps, with_all_parts

TERM = Path(__file__).resolve().parents[1] / "reports" / "small_term"
ZONE = zoneinfo.ZoneInfo("Europe/Kaliningrad")


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def test_the_series_and_its_override_have_their_own_times() -> None:
    text = (TERM / "bfu--weekly-lecture-one-date-cancelled.ics").read_text(encoding="utf-8")
    found = object_stamps(text, ZONE)
    master = found[("report-lecture@test", "")]
    override = found[("report-lecture@test", "20270316T130000Z")]
    assert (master.changed, master.published) == (utc(2027, 1, 15, 9), utc(2027, 1, 15, 9))
    # The override has no CREATED: published is the earliest time it names.
    assert (override.changed, override.published) == (utc(2027, 3, 12, 9), utc(2027, 3, 12, 9))


def test_dtstamp_stands_for_both_when_alone() -> None:
    text = (TERM / "bfu--olympiad-dtstamp-only.ics").read_text(encoding="utf-8")
    stamps = object_stamps(text, ZONE)[("report-olympiad@test", "")]
    assert stamps == WriteStamps(None, None, utc(2027, 2, 15, 12))
    assert stamps.changed == stamps.published == utc(2027, 2, 15, 12)
    assert WriteStamps(None, None, None).published is None


def test_created_is_the_publication_even_after_later_changes() -> None:
    text = (TERM / "kgtu--robotics-changed-late-clashes-with-olympiad.ics").read_text(
        encoding="utf-8"
    )
    stamps = object_stamps(text, ZONE)[("report-robotics@test", "")]
    assert (stamps.published, stamps.changed) == (utc(2027, 2, 20, 8), utc(2027, 3, 15, 8))


def test_cancelled_parts_are_made_ordinary_and_remembered() -> None:
    text = (TERM / "bfu--weekly-lecture-one-date-cancelled.ics").read_text(encoding="utf-8")
    found = with_all_parts(text, ZONE)
    assert found is not None
    assert "CANCELLED" not in found.text
    assert found.is_cancelled("report-lecture@test", "20270316T130000Z")
    assert not found.is_cancelled("report-lecture@test", "20270309T130000Z")
    whole = with_all_parts(
        (TERM / "kgtu--excursion-cancelled-whole.ics").read_text(encoding="utf-8"), ZONE
    )
    assert whole is not None and whole.is_cancelled("report-excursion@test", "")
    # Any date of a cancelled series without an override of its own is cancelled too.
    assert whole.is_cancelled("report-excursion@test", "20270326T080000Z")


def test_transparent_parts_are_made_ordinary_but_not_cancelled() -> None:
    text = (TERM / "school--parents-meeting.ics").read_text(encoding="utf-8")
    assert with_all_parts(text, ZONE) is None
    transparent = text.replace("END:VEVENT", "TRANSP:TRANSPARENT\r\nEND:VEVENT")
    found = with_all_parts(transparent, ZONE)
    assert found is not None and "TRANSPARENT" not in found.text
    assert not found.is_cancelled("report-parents@test", "")


def test_the_quick_scan_reads_what_the_parser_reads() -> None:
    from calhub.demo.term import demo_events
    from calhub.engine.stamps import scan_stamps

    texts = [path.read_text(encoding="utf-8") for path in sorted(TERM.glob("*.ics"))]
    texts += [t for found in demo_events(dt.date(2027, 2, 1)).values() for t in found]
    # Folded lines, a quoted parameter with ':' and ';', a UTC and a floating stamp, an
    # all-day override, a VALARM's own DTSTAMP-like lines that are not the event's.
    texts.append(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:fold\r\n"
        " ed@test\r\nDTSTAMP:20270101T100000Z\r\nLAST-MODIFIED:20270102T110000\r\n"
        'ATTENDEE;CN="Иванов: каб. 7; 2 этаж":mailto:a@example.org\r\n'
        "DTSTART;VALUE=DATE:20270301\r\nRRULE:FREQ=DAILY;COUNT=3\r\n"
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDTSTAMP:20990101T000000Z\r\n"
        "END:VALARM\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:folded@test\r\n"
        "RECURRENCE-ID;VALUE=DATE:20270302\r\nDTSTAMP:20270103T000000Z\r\n"
        "DTSTART;VALUE=DATE:20270302\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    for text in texts:
        assert scan_stamps(text, ZONE) == object_stamps(text, ZONE), text[:200]
    folded = scan_stamps(texts[-1], ZONE)
    assert folded[("folded@test", "")].last_modified == utc(2027, 1, 2, 9)
    assert folded[("folded@test", "20270302")].dtstamp == utc(2027, 1, 3)


def test_the_quick_scan_leaves_odd_objects_to_the_parser() -> None:
    from calhub.engine.stamps import scan_stamps

    # A zone only its VTIMEZONE names, and an escaped UID: the parser's answer either way.
    custom = (TERM / "bfu--weekly-lecture-one-date-cancelled.ics").read_text(encoding="utf-8")
    custom = custom.replace("RECURRENCE-ID;TZID=Europe/Kaliningrad", "RECURRENCE-ID;TZID=Школа")
    escaped = (TERM / "bfu--olympiad-dtstamp-only.ics").read_text(encoding="utf-8")
    escaped = escaped.replace("UID:report-olympiad@test", "UID:report\\,olympiad@test")
    for text in (custom, escaped):
        assert scan_stamps(text, ZONE) == object_stamps(text, ZONE)
    assert ("report,olympiad@test", "") in scan_stamps(escaped, ZONE)
    assert ("report-lecture@test", "20270316T130000Z") in scan_stamps(custom, ZONE)
