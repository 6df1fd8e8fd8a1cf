"""Building feeds (calhub.feeds.build, cache, qr) on real hubs: the demo term, and small
hubs whose events go through the same storage plugin and write hooks as a CalDAV PUT.

Every document is read back with icalendar and with a second, stricter reader: Debian's
php-sabre-vobject (2.1.7). Its ``validate()`` in that version checks properties only (the
VCALENDAR checks are commented out there), so :data:`SABRE_CHECK` also checks, on sabre's
own object model, what a subscribing app relies on: VERSION/PRODID/METHOD once, UID,
DTSTAMP and DTSTART once per VEVENT, no instance twice, a VTIMEZONE for every TZID, dates
that parse, RRULEs that expand. Outside CI a missing php skips those checks; with ``CI``
set it fails them (.ci/run installs the package).
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from helpers import cli_ok, make_event

from calhub.dav.importer import import_objects
from calhub.dav.maintenance import open_runtime
from calhub.dav.storage import open_storage
from calhub.engine import Audience
from calhub.feeds.build import (
    BUSY_SUMMARY,
    TENTATIVE_MARK,
    ObjectPieces,
    build_feed,
    feed_version,
)
from calhub.feeds.cache import FeedCache
from calhub.feeds.qr import qr_svg
from calhub.feeds.scopes import parse_scope, scope_title
from calhub.hub import Hub
from calhub.runtime import Runtime
from calhub.store.records_pages import Filters

ICS = Path(__file__).resolve().parent / "ics"
SABRE = Path("/usr/share/php/Sabre/VObject/includes.php")
ZONE = "Europe/Kaliningrad"

# What sabre 2.1.7's validate() leaves out, checked on its object model (see the docstring).
SABRE_CHECK = r"""<?php
require "/usr/share/php/Sabre/VObject/includes.php";
use Sabre\VObject;
$problems = array();
try {
    $cal = VObject\Reader::read(file_get_contents($argv[1]));
} catch (Exception $e) {
    echo "does not parse: ", $e->getMessage(), "\n";
    exit(2);
}
foreach ($cal->validate() as $w) {
    $problems[] = "validate (level " . $w["level"] . "): " . $w["message"];
}
if ($cal->name !== "VCALENDAR") $problems[] = "not a VCALENDAR";
foreach (array("VERSION", "PRODID", "METHOD") as $name) {
    if (count($cal->select($name)) !== 1) $problems[] = "VCALENDAR: $name must appear once";
}
if ((string)$cal->VERSION !== "2.0") $problems[] = "VERSION is not 2.0";
$zones = array();
foreach ($cal->select("VTIMEZONE") as $tz) {
    $tzid = (string)$tz->TZID;
    if (isset($zones[$tzid])) $problems[] = "VTIMEZONE $tzid twice";
    $zones[$tzid] = true;
    if (count($tz->select("STANDARD")) + count($tz->select("DAYLIGHT")) === 0) {
        $problems[] = "VTIMEZONE $tzid has no STANDARD or DAYLIGHT";
    }
}
$seen = array();
$masters = array();
foreach ($cal->select("VEVENT") as $event) {
    foreach (array("UID", "DTSTAMP", "DTSTART") as $name) {
        if (count($event->select($name)) !== 1) $problems[] = "VEVENT: $name must appear once";
    }
    if (count($event->select("DTEND")) && count($event->select("DURATION"))) {
        $problems[] = "VEVENT " . $event->UID . ": both DTEND and DURATION";
    }
    $rid = isset($event->{'RECURRENCE-ID'}) ? (string)$event->{'RECURRENCE-ID'} : "";
    $key = (string)$event->UID . "|" . $rid;
    if (isset($seen[$key])) $problems[] = "VEVENT $key twice";
    $seen[$key] = true;
    if (isset($event->RRULE)) $masters[] = (string)$event->UID;
    foreach ($event->children as $prop) {
        if (!($prop instanceof VObject\Property)) continue;
        if (isset($prop["TZID"]) && !isset($zones[(string)$prop["TZID"]])) {
            $problems[] = "VEVENT " . $event->UID . ": no VTIMEZONE for TZID " . $prop["TZID"];
        }
        try {
            if ($prop instanceof VObject\Property\DateTime) $prop->getDateTime();
            if ($prop instanceof VObject\Property\MultiDateTime) $prop->getDateTimes();
        } catch (Exception $e) {
            $problems[] = "VEVENT " . $event->UID . ": " . $prop->name . ": " . $e->getMessage();
        }
    }
    if (isset($event->DTEND) && $event->DTEND->getDateTime() < $event->DTSTART->getDateTime()) {
        $problems[] = "VEVENT " . $event->UID . ": DTEND before DTSTART";
    }
}
foreach (array_unique($masters) as $uid) {
    try {
        $it = new VObject\RecurrenceIterator($cal, $uid);
        for ($i = 0; $i < 500 && $it->valid(); $i++) $it->next();
    } catch (Exception $e) {
        $problems[] = "RRULE of $uid: " . $e->getMessage();
    }
}
foreach ($problems as $p) echo $p, "\n";
exit(count($problems) ? 1 : 0);
"""


# -- reading feeds back ---------------------------------------------------------------------


def sabre_problems(body: bytes, tmp_path: Path) -> list[str]:
    """What sabre/vobject finds wrong with ``body`` (see :data:`SABRE_CHECK`)."""
    php = shutil.which("php")
    if php is None or not SABRE.exists():
        reason = "php or Debian's php-sabre-vobject is not installed"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the sabre checks: .ci/run installs it)")
        pytest.skip(reason)
    script, feed = tmp_path / "sabre_check.php", tmp_path / "feed.ics"
    script.write_text(SABRE_CHECK, encoding="utf-8")
    feed.write_bytes(body)
    done = subprocess.run(
        [php, str(script), str(feed)], capture_output=True, text=True, timeout=120, check=False
    )
    problems = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode and not problems:
        problems = [f"php exited {done.returncode}: {done.stderr.strip()}"]
    return problems


def events_of(body: bytes) -> list[Any]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


def source_key(feed_uid: str) -> tuple[str, str]:
    """(calendar, uid) of a copied event's feed UID ``<uid>@<calendar>``."""
    uid, _, calendar = str(feed_uid).rpartition("@")
    return calendar, uid


def unfolded(body: bytes) -> str:
    """The document's text with folded lines joined and text escapes undone."""
    text = body.decode("utf-8").replace("\r\n ", "").replace("\r\n\t", "")
    return text.replace("\\,", ",").replace("\\;", ";").replace("\\n", "\n").replace("\\\\", "\\")


def build(runtime: Runtime, scope_text: str, pieces: ObjectPieces | None = None) -> bytes:
    return build_feed(runtime, open_storage(runtime), parse_scope(scope_text, runtime), pieces)


# -- hubs -------------------------------------------------------------------------------------


def demo_start(today: dt.date) -> dt.date:
    """Where ``create_demo`` lays out the term (calhub/cli/serve.py)."""
    return today - dt.timedelta(days=today.weekday() + 14)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, dt.date]]:
    """The demo hub (``calhub demo``'s), never changed by the tests; and its term's start."""
    from calhub.cli.serve import create_demo

    today = dt.date.today()
    hub = create_demo(tmp_path_factory.mktemp("feeds-demo") / "data", today)
    runtime = open_runtime(hub)
    try:
        yield runtime, demo_start(today)
    finally:
        runtime.close()


@pytest.fixture
def small(tmp_path: Path, hub_template: Path) -> Iterator[Runtime]:
    """A private copy of the template hub (school, blackout, bfu, kgtu), no events."""
    root = tmp_path / "hub"
    shutil.copytree(hub_template, root)
    runtime = open_runtime(Hub(root))
    try:
        yield runtime
    finally:
        runtime.close()


def put(runtime: Runtime, calendar_id: str, *texts: str) -> None:
    calendar = runtime.settings.calendar(calendar_id)
    assert calendar is not None, calendar_id
    assert import_objects(runtime, calendar, texts) == len(texts)


def soon(days: int, hour: int = 15, minutes: int = 90) -> tuple[dt.datetime, dt.datetime]:
    """A local (naive) slot ``days`` from today: inside the index's horizon whatever the date."""
    start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=days), dt.time(hour))
    return start, start + dt.timedelta(minutes=minutes)


def local(moment: dt.datetime) -> dt.datetime:
    """A naive local time of the hub as an aware one."""
    return moment.replace(tzinfo=ZoneInfo(ZONE))


def with_lines(text: str, *lines: str) -> str:
    """``text`` (one VEVENT) with ``lines`` added to the event."""
    return text.replace("END:VEVENT", "\r\n".join((*lines, "END:VEVENT")), 1)


# -- the audience feed is the engine's audience intersection ---------------------------------


def engine_events(runtime: Runtime, start: dt.date, spec: str) -> set[tuple[str, str]]:
    """(calendar, uid) of every demo event the engine, expanding the demo term itself (not
    the index), finds with an occurrence for ``spec``."""
    from calhub.demo.term import demo_events

    wanted = runtime.parts.parser.parse(spec)
    assert wanted is not None
    found = set()
    for calendar_id, texts in demo_events(start, ZONE).items():
        calendar = runtime.settings.calendar(calendar_id)
        assert calendar is not None
        for text in texts:
            for occurrence in runtime.parts.expand(calendar, text):
                if occurrence.audience.intersects(wanted):
                    found.add(occurrence.event_key)
    return found


@pytest.mark.parametrize("spec", ["10", "10А", "8-9", "5", "инженерный профиль"])
def test_audience_feed_holds_exactly_the_events_the_engine_puts_before_that_audience(
    demo: tuple[Runtime, dt.date], spec: str
) -> None:
    runtime, start = demo
    expected = engine_events(runtime, start, spec)
    body = build(runtime, f"audience:{spec}")
    found = {source_key(e["UID"]) for e in events_of(body)}
    assert expected, f"the demo term has events for {spec}"
    assert found == expected


def test_audience_feeds_of_disjoint_audiences_share_no_class_only_event(
    demo: tuple[Runtime, dt.date],
) -> None:
    runtime, _ = demo
    fives = {source_key(e["UID"]) for e in events_of(build(runtime, "audience:5"))}
    elevens = {source_key(e["UID"]) for e in events_of(build(runtime, "audience:11"))}
    for calendar, uid in fives & elevens:
        audiences = {o.audience for o in runtime.index.occurrences_of(calendar, uid)}
        assert any(a.intersects(Audience(frozenset({5}))) for a in audiences)
        assert any(a.intersects(Audience(frozenset({11}))) for a in audiences)


# -- every feed is a valid document ---------------------------------------------------------


DEMO_SCOPES = ["all", "calendar:bfu", "calendar:blackout", "audience:10А", "busy:10", "conflicts"]


@pytest.mark.parametrize("scope", DEMO_SCOPES)
def test_every_demo_feed_parses_with_icalendar_and_sabre_without_problems(
    demo: tuple[Runtime, dt.date], scope: str, tmp_path: Path
) -> None:
    runtime, _ = demo
    body = build(runtime, scope)
    calendar = icalendar.Calendar.from_ical(body)
    assert calendar.walk("VEVENT"), f"{scope}: the demo gives it events"
    assert sabre_problems(body, tmp_path) == []


def test_the_sabre_check_finds_what_is_wrong(tmp_path: Path) -> None:
    """The second validator is worth running: it refuses a document without VERSION, a
    VEVENT without DTSTART or DTSTAMP, a TZID with no VTIMEZONE, and a broken line."""
    missing = (
        b"BEGIN:VCALENDAR\r\nPRODID:x\r\nMETHOD:PUBLISH\r\nBEGIN:VEVENT\r\nUID:1\r\n"
        b"DTSTART;TZID=Europe/Moscow:20270101T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    problems = "\n".join(sabre_problems(missing, tmp_path))
    assert "VERSION" in problems and "DTSTAMP" in problems and "no VTIMEZONE" in problems
    broken = missing.replace(b"UID:1\r\n", b"UID:1\r\nnot a content line\r\n")
    assert sabre_problems(broken, tmp_path)[0].startswith("does not parse")


@pytest.mark.parametrize("scope", ["all", "busy:10", "conflicts"])
def test_feed_documents_carry_what_subscribing_apps_read(
    demo: tuple[Runtime, dt.date], scope: str
) -> None:
    runtime, _ = demo
    body = build(runtime, scope)
    text = body.decode("utf-8")  # UTF-8, or this raises
    lines = text.split("\r\n")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert max(len(line.encode()) for line in lines) <= 75, "lines are folded"
    calendar = icalendar.Calendar.from_ical(body)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == scope_title(parse_scope(scope, runtime), runtime)
    assert str(calendar["X-WR-TIMEZONE"]) == ZONE
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in lines
    assert "X-PUBLISHED-TTL:PT1H" in lines


def test_every_tzid_used_has_one_vtimezone_built_when_the_source_has_none(
    small: Runtime, tmp_path: Path
) -> None:
    put(small, "bfu", (ICS / "feed_weekly_exdate_rdate_override.ics").read_text())
    put(small, "kgtu", (ICS / "feed_moscow_without_vtimezone.ics").read_text())
    start, end = soon(3)
    put(small, "school", make_event("feed-tz-school", "Совет [10]", start, end))
    body = build(small, "all")
    zones = [str(tz["TZID"]) for tz in icalendar.Calendar.from_ical(body).walk("VTIMEZONE")]
    assert sorted(zones) == ["Europe/Kaliningrad", "Europe/Moscow"]
    moscow = next(
        tz
        for tz in icalendar.Calendar.from_ical(body).walk("VTIMEZONE")
        if tz["TZID"] == "Europe/Moscow"
    )
    assert moscow.walk("STANDARD"), "built from the zone database"
    webinar = next(e for e in events_of(body) if "moscow" in str(e["UID"]))
    assert webinar.decoded("DTSTART") == dt.datetime(2027, 1, 15, 14, 0, tzinfo=dt.UTC).astimezone(
        webinar.decoded("DTSTART").tzinfo
    )
    assert sabre_problems(body, tmp_path) == []


# -- busy: times only -------------------------------------------------------------------------


def test_busy_feed_leaks_no_text_of_any_event(demo: tuple[Runtime, dt.date]) -> None:
    from calhub.demo.term import demo_events

    runtime, start = demo
    body = build(runtime, "busy:10")
    text = unfolded(body)
    secrets: set[str] = set()
    for texts in demo_events(start, ZONE).values():
        for source in texts:
            for event in icalendar.Calendar.from_ical(source).walk("VEVENT"):
                for name in ("SUMMARY", "LOCATION", "DESCRIPTION", "UID", "URL", "ORGANIZER"):
                    value = event.get(name)
                    if value is not None and str(value).strip():
                        secrets.add(str(value))
    assert len(secrets) > 100
    leaked = sorted(secret for secret in secrets if secret in text)
    assert leaked == []
    # Nor which calendar or partner an event is of.
    lines = [line for line in text.split("\r\n") if not line.startswith("UID:")]
    for calendar in runtime.settings.calendars:
        if calendar.role == "partner":
            assert all(calendar.name not in line for line in lines), calendar.name
            assert all(calendar.id not in line.lower() for line in lines), calendar.id
    for event in events_of(body):
        assert set(event) == {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "TRANSP"}
        assert str(event["SUMMARY"]) == BUSY_SUMMARY and str(event["TRANSP"]) == "OPAQUE"


def test_busy_feed_has_one_block_per_occurrence_for_the_audience(
    demo: tuple[Runtime, dt.date],
) -> None:
    runtime, _ = demo
    grade = Audience(frozenset({10}))
    expected = sorted(
        (o.start, o.end)
        for o in runtime.index.all_occurrences()
        if o.audience.intersects(grade) and not o.all_day
    )
    blocks = events_of(build(runtime, "busy:10"))
    timed = sorted(
        (e.decoded("DTSTART"), e.decoded("DTEND"))
        for e in blocks
        if isinstance(e.decoded("DTSTART"), dt.datetime)
    )
    assert timed == expected
    uids = [str(e["UID"]) for e in blocks]
    assert len(set(uids)) == len(uids)
    assert uids == [str(e["UID"]) for e in events_of(build(runtime, "busy:10"))]


# -- UIDs ---------------------------------------------------------------------------------------


def test_one_uid_in_two_calendars_gives_two_distinct_stable_uids(small: Runtime) -> None:
    first_start, first_end = soon(5)
    second_start, second_end = soon(6)
    put(small, "bfu", make_event("shared-uid-1", "Лекция БФУ [11]", first_start, first_end))
    put(small, "kgtu", make_event("shared-uid-1", "Лекция КГТУ [11]", second_start, second_end))
    first = build(small, "all")
    found = {str(e["UID"]): str(e["SUMMARY"]) for e in events_of(first)}
    assert found == {
        "shared-uid-1@bfu": "Лекция БФУ [11]",
        "shared-uid-1@kgtu": "Лекция КГТУ [11]",
    }
    again = build(small, "all")
    assert again == first, "the same data gives the same document, byte for byte"
    # The same event has the same UID in its calendar's feed as in the merged one.
    assert [str(e["UID"]) for e in events_of(build(small, "calendar:kgtu"))] == [
        "shared-uid-1@kgtu"
    ]
    busy = [str(e["UID"]) for e in events_of(build(small, "busy:11"))]
    assert len(busy) == len(set(busy)) == 2
    assert not any("shared-uid-1" in uid for uid in busy)


# -- recurrences and overrides ----------------------------------------------------------------


def test_recurrences_exdates_rdates_and_overrides_are_kept_whole(
    small: Runtime, tmp_path: Path
) -> None:
    source_text = (ICS / "feed_weekly_exdate_rdate_override.ics").read_text()
    put(small, "bfu", source_text)
    body = build(small, "calendar:bfu")
    source = icalendar.Calendar.from_ical(source_text).walk("VEVENT")
    copied = events_of(body)
    assert len(copied) == len(source) == 2
    assert {str(e["UID"]) for e in copied} == {"feed-physics@bfu@bfu"}, "overrides keep the UID"
    for before, after in zip(source, copied, strict=True):
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID", "SUMMARY", "LOCATION", "SEQUENCE"):
            assert (name in before) == (name in after), name
            if name in before:
                assert after.decoded(name) == before.decoded(name), name
    master = next(e for e in copied if "RECURRENCE-ID" not in e)
    assert master["RRULE"] == source[0]["RRULE"]
    assert master["EXDATE"].to_ical() == source[0]["EXDATE"].to_ical()
    assert master["RDATE"].to_ical() == source[0]["RDATE"].to_ical()
    assert str(master["DESCRIPTION"]) == str(source[0]["DESCRIPTION"])
    # Alarms and attendees stay home: a feed rings no one and names no one.
    assert not master.walk("VALARM") and "ATTENDEE" not in master
    assert "ivan@example.org" not in unfolded(body)
    assert sabre_problems(body, tmp_path) == []


# -- private events ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "klass",
    [("PRIVATE",), ("CONFIDENTIAL",), ("private",)],
    ids=["private", "confidential", "lower-case"],
)
def test_a_private_partner_event_is_busy_time_only_in_every_feed(
    small: Runtime, klass: tuple[str, ...], tmp_path: Path
) -> None:
    start, end = soon(8)
    secret = make_event(
        "secret-meeting-7",
        "Переговоры о стипендиях [10]",
        start,
        end,
        location="Ректорат, каб. 12",
        description="Список кандидатов",
    )
    put(small, "bfu", with_lines(secret, *(f"CLASS:{one}" for one in klass)))
    other_start, other_end = soon(9)
    put(small, "bfu", make_event("open-lecture-7", "Открытая лекция [10]", other_start, other_end))
    for scope in ("all", "calendar:bfu", "audience:10", "busy:10"):
        body = build(small, scope)
        text = unfolded(body)
        for leak in ("Переговоры", "Ректорат", "кандидатов", "secret-meeting-7", "CLASS"):
            assert leak not in text, (scope, leak)
        events = events_of(body)
        busy = [e for e in events if str(e["SUMMARY"]) == BUSY_SUMMARY]
        times = [(e.decoded("DTSTART"), e.decoded("DTEND")) for e in busy]
        assert (local(start), local(end)) in times, scope
        assert len(busy) == (2 if scope == "busy:10" else 1), scope
        if scope != "busy:10":
            assert "open-lecture-7@bfu" in {str(e["UID"]) for e in events}, scope
        assert sabre_problems(body, tmp_path) == []


# -- unsettled time: TENTATIVE with an open hard clash -----------------------------------------


def clashing_pair(runtime: Runtime) -> str:
    """A school event and a partner event for 10А at one time: an open hard clash."""
    start, end = soon(10)
    put(runtime, "school", make_event("feed-clash-school", "Контрольная [10А]", start, end))
    put(runtime, "bfu", make_event("feed-clash-bfu", "Экскурсия в БФУ [10А]", start, end))
    calm_start, calm_end = soon(11)
    put(runtime, "kgtu", make_event("feed-calm-kgtu", "Лаборатория [10А]", calm_start, calm_end))
    records = runtime.records.page(Filters(status="open", severity="hard")).records
    assert len(records) == 1, records
    return records[0].id


def marks(body: bytes) -> dict[str, tuple[str, str]]:
    return {str(e["UID"]): (str(e.get("STATUS", "")), str(e["SUMMARY"])) for e in events_of(body)}


def test_tentative_appears_with_an_open_hard_clash_and_goes_when_it_is_approved(
    small: Runtime,
) -> None:
    clash_id = clashing_pair(small)
    for scope in ("all", "audience:10А"):
        found = marks(build(small, scope))
        assert found["feed-clash-school@school"] == (
            "TENTATIVE",
            TENTATIVE_MARK + "Контрольная [10А]",
        )
        assert found["feed-clash-bfu@bfu"] == (
            "TENTATIVE",
            TENTATIVE_MARK + "Экскурсия в БФУ [10А]",
        )
        assert found["feed-calm-kgtu@kgtu"] == ("", "Лаборатория [10А]")
    scope = parse_scope("all", small)
    before = feed_version(small, scope)
    small.records.approve(clash_id, "coordinator", "Разные группы класса")
    assert feed_version(small, scope) != before, "the records changed, so the version does"
    found = marks(build(small, "all"))
    assert found["feed-clash-school@school"] == ("", "Контрольная [10А]")
    assert found["feed-clash-bfu@bfu"] == ("", "Экскурсия в БФУ [10А]")


def replace_object(runtime: Runtime, calendar_id: str, text: str) -> None:
    """Store ``text`` over the object of its UID: a write through the same storage plugin
    and hooks as a CalDAV PUT."""
    from radicale import item as radicale_item

    calendar = runtime.settings.calendar(calendar_id)
    assert calendar is not None
    storage = open_storage(runtime)
    with storage.acquire_lock("w", "test"):
        collection: Any = next(iter(storage.discover(calendar.path)))
        vobject_item = radicale_item.read_components(text)[0]
        item = radicale_item.Item(
            collection_path=calendar.path.strip("/"), vobject_item=vobject_item
        )
        item.prepare()
        collection.upload(f"{item.uid}.ics", item)


def test_tentative_goes_when_the_clash_is_resolved(small: Runtime) -> None:
    clashing_pair(small)
    start, end = soon(12)
    # The partner moves its event.
    replace_object(small, "bfu", make_event("feed-clash-bfu", "Экскурсия в БФУ [10А]", start, end))
    assert small.records.page(Filters(status="open", severity="hard")).records == []
    found = marks(build(small, "all"))
    assert found["feed-clash-bfu@bfu"] == ("", "Экскурсия в БФУ [10А]")
    assert found["feed-clash-school@school"] == ("", "Контрольная [10А]")


def test_kept_object_pieces_give_the_same_documents_and_follow_every_change(
    small: Runtime,
) -> None:
    clash_id = clashing_pair(small)
    pieces = ObjectPieces()
    for scope in ("all", "audience:10А"):
        assert build(small, scope, pieces) == build(small, scope)
    assert len(pieces) == 3
    assert len(FeedCache().pieces) == 0, "a feed cache brings the pieces its builds share"
    assert build(small, "all", pieces) == build(small, "all")
    small.records.approve(clash_id, "coordinator", "Разные группы")
    assert build(small, "all", pieces) == build(small, "all")
    assert TENTATIVE_MARK.encode() not in build(small, "all", pieces)
    start, end = soon(11)
    replace_object(
        small, "kgtu", make_event("feed-calm-kgtu", "Лаборатория: новое [10А]", start, end)
    )
    titles = {str(e["SUMMARY"]) for e in events_of(build(small, "all", pieces))}
    assert "Лаборатория: новое [10А]" in titles and "Лаборатория [10А]" not in titles


# -- the conflicts feed -------------------------------------------------------------------------


def test_conflicts_feed_has_one_event_per_open_clash_with_both_sides(
    small: Runtime, tmp_path: Path
) -> None:
    clash_id = clashing_pair(small)
    body = build(small, "conflicts")
    events = events_of(body)
    assert [str(e["UID"]) for e in events] == [f"clash-{clash_id}@calhub"]
    event = events[0]
    summary, description = str(event["SUMMARY"]), str(event["DESCRIPTION"])
    assert "Контрольная [10А]" in summary and "Экскурсия в БФУ [10А]" in summary
    assert "Одни классы" in summary
    bfu = small.settings.calendar("bfu")
    assert bfu is not None and bfu.name in description
    record = small.records.get(clash_id)
    assert record is not None
    assert record.message.ru in description and record.message.en in description
    start, end = soon(10)
    assert (event.decoded("DTSTART"), event.decoded("DTEND")) == (local(start), local(end))
    assert sabre_problems(body, tmp_path) == []
    small.records.approve(clash_id, "coordinator", "Согласовано")
    assert events_of(build(small, "conflicts")) == []


# -- versions -----------------------------------------------------------------------------------


def test_the_version_changes_with_the_data_and_the_settings_and_only_then(small: Runtime) -> None:
    scope = parse_scope("calendar:bfu", small)
    first = feed_version(small, scope)
    assert feed_version(small, scope) == first
    assert feed_version(small, parse_scope("calendar:kgtu", small)) != first
    start, end = soon(14)
    put(small, "bfu", make_event("feed-version-1", "Лекция [9]", start, end))
    second = feed_version(small, scope)
    assert second != first
    cli_ok(
        [
            "partner",
            "add",
            "newuni",
            "--name",
            "Новый вуз",
            "--password-stdin",
            "--data",
            str(small.hub.paths.root),
        ],
        stdin="newuni-password-1\n",
    )
    assert feed_version(small, scope) != second, "a calendar added changes the settings used"


def test_an_archived_calendar_leaves_the_merged_feed(small: Runtime) -> None:
    start, end = soon(15)
    put(small, "kgtu", make_event("feed-archived-1", "Лекция КГТУ [9]", start, end))
    assert "feed-archived-1@kgtu" in marks(build(small, "all"))
    cli_ok(["partner", "remove", "kgtu", "--data", str(small.hub.paths.root)])
    assert "feed-archived-1@kgtu" not in marks(build(small, "all"))


# -- the cache ------------------------------------------------------------------------------------


class Counting:
    def __init__(self, body: bytes = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n") -> None:
        self.calls = 0
        self.body = body
        self.lock = threading.Lock()

    def __call__(self) -> bytes:
        with self.lock:
            self.calls += 1
        return self.body


def test_the_cache_builds_once_per_version_and_again_for_a_new_one() -> None:
    cache, build_it = FeedCache(), Counting()
    first = cache.get("all", "v1", build_it)
    assert cache.get("all", "v1", build_it) is first
    assert build_it.calls == 1
    second = cache.get("all", "v2", build_it)
    assert build_it.calls == 2 and second.etag != first.etag
    assert gzip.decompress(second.gzipped) == second.body == build_it.body
    assert first.etag.startswith('"') and first.etag.endswith('"') and len(first.etag) > 10
    assert not first.etag.startswith("W/")
    assert FeedCache().get("all", "v1", Counting()).etag == first.etag, "from the version only"
    assert first.last_modified.tzinfo is dt.UTC and first.last_modified.microsecond == 0


def test_the_cache_keeps_a_bounded_number_of_scopes_least_recently_used_out_first() -> None:
    cache, build_it = FeedCache(max_entries=2), Counting()
    cache.get("a", "1", build_it)
    cache.get("b", "1", build_it)
    cache.get("a", "1", build_it)  # a is now the most recent
    cache.get("c", "1", build_it)  # b goes
    assert len(cache) == 2 and build_it.calls == 3
    cache.get("a", "1", build_it)
    assert build_it.calls == 3
    cache.get("b", "1", build_it)
    assert build_it.calls == 4
    with pytest.raises(ValueError):
        FeedCache(max_entries=0)


def test_many_threads_asking_for_a_changed_feed_make_one_build() -> None:
    cache = FeedCache()
    started = threading.Event()

    class Slow(Counting):
        def __call__(self) -> bytes:
            started.wait(5)
            return super().__call__()

    build_it = Slow()
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("all", "v", build_it)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    started.set()
    for thread in threads:
        thread.join(10)
    assert build_it.calls == 1
    assert len(results) == 8 and all(r is results[0] for r in results)


def test_a_failed_build_is_not_kept() -> None:
    cache = FeedCache()

    def failing() -> bytes:
        raise RuntimeError("storage gone")

    with pytest.raises(RuntimeError):
        cache.get("all", "v", failing)
    assert len(cache) == 0
    assert cache.get("all", "v", Counting()).body.startswith(b"BEGIN:VCALENDAR")


# -- QR codes -------------------------------------------------------------------------------


def test_qr_codes_are_inline_svg_of_the_address() -> None:
    import xml.etree.ElementTree as ET

    address = "webcal://hub.example.org/feeds/" + "x" * 32 + ".ics"
    svg = qr_svg(address)
    assert svg.startswith("<svg") and "<?xml" not in svg
    ET.fromstring(svg)  # well-formed
    assert qr_svg(address) == svg
    assert qr_svg(address + "2") != svg
    assert "title" in qr_svg(address, title="Лента 10А") and "Лента 10А" in qr_svg(
        address, title="Лента 10А"
    )
    with pytest.raises(ValueError):
        qr_svg("")
    with pytest.raises(ValueError):
        qr_svg("x" * 5000)
