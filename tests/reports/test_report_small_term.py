"""The report's figures on the small term (tests/reports/small_term), against numbers
worked out by hand from the files, on a real hub written through CalDAV.

By hand, March 1–28 2027 (Kaliningrad, UTC+2):

- bfu: the Tuesday lecture (10А, 10Б, 1.5 h) on 2, 9, 23 March (16 March cancelled in its
  override, 30 March outside) = 3 events, 4.5 h; the open day on Saturday 13 March (11,
  3 h), written on 9 March: changed late (< 7 days) and not on time (< 14 days); the
  olympiad on 18 March (9, 2 h), only a DTSTAMP of 15 February: on time. 5 events, 1
  cancelled, 9.5 h, published on time 3 + 1 = 4, changed late 1.
- kgtu: robotics on 18 March 15:00–17:00 (9, 2 h) overlaps the olympiad (an audience
  clash, left open), created 20 February (on time), last modified 15 March (late); the
  excursion of 26 March is cancelled whole; the project week 24–25 March is all day (an
  event, no hours). 2 events, 1 cancelled, 2 h, on time 2, late 1.
- school: the parents' meeting (5–7, 1 h) and the choir (5, 1 h) in the hall the open day
  uses at the same time (a venue clash, approved at once: before it happens). 2 events,
  2 h, on time 2.
- school-wide: 9 events, 2 cancelled, 13.5 h; 2 clashes, 1 settled before the event (50 %);
  8 of 9 published on time (88.9 %); 2 of 9 changed late (22.2 %).
- ratings (an in-memory source): bfu 5 yes, 4 yes, 2 no, 5 (no answer) → 4 answers,
  average 4.0, loyalty (2 − 1) / 3 = +33.3; kgtu 3 no → 3.0, −100; all five: 3.8, loyalty
  (2 − 2) / 4 = 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from small_term_support import (
    ANSWERS,
    EXPECTED_GRADES,
    EXPECTED_PARTNERS,
    FIRST,
    LAST,
    NOW,
    ListOfAnswers,
    write_term,
)

from calhub.dav.maintenance import open_runtime
from calhub.dav.storage import open_storage
from calhub.errors import UserError
from calhub.hub import Hub
from calhub.reports.collect import make_report
from calhub.reports.model import Report
from calhub.reports.ratings import NO_FEEDBACK, RatingsSource


@pytest.fixture(scope="module")
def term_hub(module_hubs) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    server = module_hubs()
    write_term(server.url)
    yield server.data_dir


def report(root: Path, ratings: RatingsSource = NO_FEEDBACK, **kwargs: object) -> Report:
    hub = Hub(root)
    runtime = open_runtime(hub)
    try:
        return make_report(
            runtime,
            open_storage(runtime),
            FIRST,
            LAST,
            ratings,
            now=NOW,
            **kwargs,  # type: ignore[arg-type]
        )
    finally:
        runtime.close()


def test_partner_rows_equal_the_hand_count(term_hub: Path) -> None:
    found = report(term_hub)
    assert [row.partner for row in found.partners] == ["school", "bfu", "kgtu"]
    for row in found.partners:
        events, cancelled, hours, grades, audience, classes, late, on_time, clashes = (
            EXPECTED_PARTNERS[row.partner]
        )
        found_counts = (row.events, row.held, row.cancelled, row.hours)
        assert found_counts == (events, events, cancelled, hours), row.partner
        assert (list(row.grades), row.audience, row.classes) == (grades, audience, classes)
        assert (row.changed_late, row.published_on_time) == (late, on_time), row.partner
        figures = row.clashes
        assert (figures.found, figures.open, figures.approved, figures.settled_before) == clashes
        assert figures.resolved == 0
        assert row.ratings.count == 0


def test_grade_rows_equal_the_hand_count(term_hub: Path) -> None:
    rows = {row.grade: row for row in report(term_hub).grades}
    assert sorted(rows) == list(range(1, 12))
    for grade, (
        events,
        cancelled,
        hours,
        partners,
        classes,
        clashes,
        open_,
    ) in EXPECTED_GRADES.items():
        row = rows[grade]
        assert (row.events, row.cancelled, row.hours) == (events, cancelled, hours), grade
        assert (sorted(row.partners), list(row.classes)) == (partners, classes), grade
        assert (row.clashes, row.open_clashes) == (clashes, open_), grade


def test_school_figures_equal_the_hand_count(term_hub: Path) -> None:
    school = report(term_hub).school_figures
    assert (school.events, school.held, school.cancelled, school.hours) == (9, 9, 2, 13.5)
    assert (school.partners_active, school.grades_reached) == (3, 6)
    assert (school.clashes.found, school.clashes.open, school.clashes.approved) == (2, 1, 1)
    assert (school.clashes.settled_before, school.settled_before_share) == (1, 50.0)
    assert (school.published_on_time, school.published_on_time_share) == (8, 88.9)
    assert (school.changed_late, school.changed_late_share) == (2, 22.2)
    # Approved by the test right after the clash was found: within the hour.
    assert school.clashes.settle_hours_median is not None
    assert 0 <= school.clashes.settle_hours_median < 1


def test_ratings_and_loyalty_from_the_source(term_hub: Path) -> None:
    found = report(term_hub, ListOfAnswers(ANSWERS))
    rows = {row.partner: row.ratings for row in found.partners}
    assert (rows["bfu"].count, rows["bfu"].average, rows["bfu"].loyalty) == (4, 4.0, 33.3)
    assert (rows["kgtu"].count, rows["kgtu"].average, rows["kgtu"].loyalty) == (1, 3.0, -100.0)
    assert (rows["school"].count, rows["school"].average, rows["school"].loyalty) == (0, None, None)
    overall = found.school_figures.ratings
    assert (overall.count, overall.average, overall.loyalty) == (5, 3.8, 0.0)
    grades = {row.grade: row.ratings for row in found.grades}
    assert (grades[10].count, grades[10].average) == (4, 4.0)
    assert (grades[9].count, grades[9].average) == (1, 3.0)
    assert grades[11].count == 0
    assert found.feedback_available
    assert not report(term_hub).feedback_available


def test_a_partner_report_holds_its_own_row_only(term_hub: Path) -> None:
    hub = Hub(term_hub)
    bfu = hub.accounts.get("bfu")
    coordinator = hub.accounts.get("coordinator")
    assert bfu is not None and coordinator is not None
    own = report(term_hub, ListOfAnswers(ANSWERS), account=bfu, partner="kgtu")
    assert [row.partner for row in own.partners] == ["bfu"]
    assert own.scope == "bfu"
    # Its grades and school-wide figures are of its own events, clashes and answers.
    assert own.school_figures.events == 5
    assert own.school_figures.clashes.found == 2
    assert own.school_figures.ratings.count == 4
    assert {row.grade: row.events for row in own.grades}[9] == 1
    chosen = report(term_hub, account=coordinator, partner="kgtu")
    assert [row.partner for row in chosen.partners] == ["kgtu"]
    everything = report(term_hub, account=coordinator)
    assert len(everything.partners) == 3


def test_an_unknown_partner_is_a_user_error(term_hub: Path) -> None:
    with pytest.raises(UserError, match="ghost"):
        report(term_hub, partner="ghost")


def test_the_object_memo_gives_the_same_report(term_hub: Path) -> None:
    from calhub.reports.collect import ObjectMemo

    memo = ObjectMemo()
    plain = report(term_hub).as_json()
    first = report(term_hub, memo=memo).as_json()
    assert len(memo) == 8, "every fixture object of the range is kept"
    again = report(term_hub, memo=memo).as_json()
    for found in (first, again):
        found.pop("made_at")
    plain.pop("made_at")
    assert first == plain and again == plain
