"""The report of the demo term (``calhub demo``'s twelve weeks) against figures computed
independently from the demo's own iCalendar texts, with icalendar and
recurring-ical-events directly (not through calhub's expansion, index or report): per
partner the events not cancelled, the cancelled ones and the hours of the timed ones; and
the clashes the demo lays out on purpose."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events

from calhub.cli.serve import create_demo
from calhub.dav.maintenance import open_runtime
from calhub.dav.storage import open_storage
from calhub.demo.term import TERM_WEEKS, demo_events, intended_clashes
from calhub.hub import Hub
from calhub.reports.collect import make_report
from calhub.reports.model import Report

ZONE = zoneinfo.ZoneInfo("Europe/Kaliningrad")


def term_start(today: dt.date) -> dt.date:
    """Where ``create_demo`` lays out the term (calhub/cli/serve.py)."""
    return today - dt.timedelta(days=today.weekday() + 14)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dt.date]:
    today = dt.date.today()
    root = tmp_path_factory.mktemp("report-demo") / "data"
    create_demo(root, today)
    return root, term_start(today)


def by_hand(start: dt.date) -> dict[str, tuple[int, int, float]]:
    """calendar → (events not cancelled, cancelled, hours of timed ones), from the texts."""
    low = dt.datetime.combine(start, dt.time(), ZONE)
    high = low + dt.timedelta(weeks=TERM_WEEKS)
    counts: dict[str, list[float]] = {}
    for calendar, texts in demo_events(start, "Europe/Kaliningrad").items():
        if calendar == "blackout":
            continue
        found = counts.setdefault(calendar, [0, 0, 0.0])
        for text in texts:
            parsed = icalendar.Calendar.from_ical(text)
            for event in recurring_ical_events.of(parsed).between(low, high):
                begin = event["DTSTART"].dt
                all_day = not isinstance(begin, dt.datetime)
                moment = (
                    dt.datetime.combine(begin, dt.time(), ZONE)
                    if all_day
                    else begin.astimezone(ZONE)
                )
                if not low <= moment < high:
                    continue
                if str(event.get("STATUS", "")).upper() == "CANCELLED":
                    found[1] += 1
                    continue
                found[0] += 1
                if not all_day:
                    end = event["DTEND"].dt if "DTEND" in event else begin + event["DURATION"].dt
                    found[2] += (end - begin).total_seconds() / 3600
    return {c: (int(v[0]), int(v[1]), round(v[2], 2)) for c, v in counts.items()}


def demo_report(root: Path, start: dt.date) -> Report:
    runtime = open_runtime(Hub(root))
    try:
        last = start + dt.timedelta(weeks=TERM_WEEKS) - dt.timedelta(days=1)
        return make_report(runtime, open_storage(runtime), start, last)
    finally:
        runtime.close()


def test_demo_term_partner_rows_equal_the_texts(demo: tuple[Path, dt.date]) -> None:
    root, start = demo
    report = demo_report(root, start)
    expected = by_hand(start)
    found = {row.partner: (row.events, row.cancelled, row.hours) for row in report.partners}
    assert found == expected
    assert sum(c for _, c, _ in expected.values()) >= 2, "the demo cancels two events"
    school = report.school_figures
    assert school.events == sum(e for e, _, _ in expected.values())
    assert school.hours == round(sum(h for _, _, h in expected.values()), 2)


def test_demo_term_clashes_are_the_intended_ones(demo: tuple[Path, dt.date]) -> None:
    root, start = demo
    report = demo_report(root, start)
    intended = intended_clashes(start, "Europe/Kaliningrad")
    figures = report.school_figures.clashes
    # Every clash of the demo is laid out on purpose and nobody has settled one yet.
    assert figures.found == len(intended)
    assert figures.open == len(intended)
    assert (figures.approved, figures.resolved, figures.settled_before) == (0, 0, 0)
    calendar_of = {
        str(event["UID"]): calendar
        for calendar, texts in demo_events(start, "Europe/Kaliningrad").items()
        for text in texts
        for event in icalendar.Calendar.from_ical(text).walk("VEVENT")
    }
    per_partner: Counter[str] = Counter()
    for clash in intended:
        for calendar in {calendar_of[uid] for uid in clash.uids}:
            per_partner[calendar] += 1
    rows = {row.partner: row.clashes.found for row in report.partners}
    for calendar, count in per_partner.items():
        if calendar in rows:
            assert rows[calendar] == count, calendar
