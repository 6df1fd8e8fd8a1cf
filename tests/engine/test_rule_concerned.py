"""Whom a clash concerns, by rule (the grade board reddens only those rows)."""

from __future__ import annotations

from calhub.engine import Audience
from calhub.engine.rules import registry


def classes(*names: str) -> Audience:
    return Audience(classes=frozenset((int(n[:-1]), n[-1]) for n in names))


def grades(*numbers: int) -> Audience:
    return Audience(frozenset(numbers))


def test_a_students_clash_concerns_the_classes_at_both_events() -> None:
    for rule in ("audience", "travel", "blackout"):
        kind = registry()[rule]
        assert kind.concerned([grades(10, 11), classes("10А")]) == classes("10А"), rule
        assert kind.concerned([grades(9), grades(9, 10)]) == grades(9), rule


def test_a_room_or_a_duplicate_concerns_each_whole_event() -> None:
    for rule in ("venue", "duplicate"):
        assert registry()[rule].concerned([grades(5), grades(6)]) is None, rule


def test_an_overload_concerns_the_grade_every_event_touches() -> None:
    overload = registry()["overload"]
    assert overload.concerned([classes("10А"), classes("10Б"), grades(10, 11)]) == grades(10)
    assert overload.concerned([classes("10А"), classes("11Б")]) is None
    assert overload.concerned([]) is None
