"""The demo term carries feedback (``calhub demo``): answers to the events held before the
demo's day only, ratings spread per partner, Russian comments in every moderation state,
a link held, the partners' survey answered by some; the same term always gets the same
answers."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from calhub.demo.feedback import HeldOccurrence, demo_answers, demo_term_name
from calhub.feedback.scores import summarize
from calhub.runtime import Runtime

TODAY = dt.date(2026, 11, 26)  # a Thursday: the term began on Monday 9 November


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    from calhub.cli.serve import create_demo

    hub = create_demo(tmp_path_factory.mktemp("demo-feedback") / "data", TODAY)
    return Runtime(hub)


def test_the_demo_has_feedback_on_its_held_events_only(demo: Runtime) -> None:
    entries = demo.feedback.entries()
    assert len(entries) >= 60
    midnight = dt.datetime(2026, 11, 26, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    for entry in entries:
        (occurrence,) = [
            o
            for o in demo.index.occurrences_of(entry.calendar, entry.uid)
            if o.recurrence_id == entry.recurrence_id
        ]
        assert occurrence.start == entry.occurrence and occurrence.end <= midnight
    summary = summarize(e.answer for e in entries)
    assert len([n for n in summary.ratings if n]) >= 4, summary
    assert summary.loyalty is not None and -100 < summary.loyalty < 100
    assert summary.yes and summary.no
    per_partner = Counter(e.calendar for e in entries)
    assert len(per_partner) >= 5 and "blackout" not in per_partner
    means = {c: summarize(e.answer for e in entries if e.calendar == c).mean for c in per_partner}
    assert max(m for m in means.values() if m) - min(m for m in means.values() if m) > 0.3


def test_the_demo_comments_are_in_every_state(demo: Runtime) -> None:
    statuses = Counter(e.status for e in demo.feedback.entries())
    assert statuses["approved"] and statuses["new"] and statuses["held"] == 1
    comments = [e.comment for e in demo.feedback.entries() if e.comment]
    assert all(any("а" <= ch <= "я" for ch in c.lower()) for c in comments)
    (held,) = [e for e in demo.feedback.entries() if e.status == "held"]
    assert "www." in held.comment


def test_the_demo_survey_is_answered_by_some_partners(demo: Runtime) -> None:
    surveys = demo.feedback.surveys(demo_term_name(TODAY))
    assert demo_term_name(TODAY) == "2026-27-1"
    assert {s.partner for s in surveys} == {c.id for c in demo.settings.partners}
    answered = {s.partner: s.answers for s in surveys if s.answers is not None}
    assert sorted(answered) == ["bfu", "kgtu", "kodyutsekt"]
    assert answered["bfu"]["overall"] == 5 and "лаборатор" in str(answered["bfu"]["next_term"])


def test_the_demo_answers_are_deterministic(demo: Runtime) -> None:
    held = [
        HeldOccurrence(o.calendar, o.uid, o.recurrence_id, o.start, o.end, len(o.audience.grades))
        for o in demo.index.all_occurrences()
        if o.end.date() < TODAY and not o.is_blackout
    ]
    assert demo_answers(held, TODAY) == demo_answers(list(reversed(held)), TODAY)
    first = demo.feedback.answers_between(
        dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    )
    assert len(first) == len(demo.feedback.entries())


def test_demo_term_names() -> None:
    assert demo_term_name(dt.date(2026, 9, 1)) == "2026-27-1"
    assert demo_term_name(dt.date(2027, 1, 15)) == "2026-27-2"
    assert demo_term_name(dt.date(2027, 4, 1)) == "2026-27-3"
    assert demo_term_name(dt.date(2027, 8, 31)) == "2026-27-3"
