"""Audience values, the audience expression parser, and where an event's audience comes from."""

from __future__ import annotations

import pytest
from icalendar import Event

from calhub.engine import Audience, AudienceParser, resolve_audience


def grades(*values: int) -> Audience:
    return Audience(frozenset(values))


def classes(*values: str) -> Audience:
    return Audience(classes=frozenset((int(v[:-1]), v[-1]) for v in values))


@pytest.fixture
def groups_parser() -> AudienceParser:
    return AudienceParser(
        {
            "инженерный профиль": ["10А", "11А"],
            "Старшие": "10-11",  # one string is accepted as well as a list
            "профили": ["инженерный профиль", "9Б"],  # groups may use groups
        }
    )


# --- Audience semantics -----------------------------------------------------------------


def test_grade_meets_every_class_of_that_grade() -> None:
    assert grades(10, 11).intersects(classes("10А"))
    assert classes("10А").intersects(grades(10, 11))


def test_different_classes_of_one_grade_do_not_meet() -> None:
    assert not classes("10А").intersects(classes("10Б"))
    assert classes("10А").intersects(classes("10Б", "10А"))


def test_different_grades_do_not_meet() -> None:
    assert not grades(9).intersects(grades(10, 11))
    assert not grades(9).intersects(classes("10А"))


def test_empty_audience_meets_nobody() -> None:
    assert Audience().is_empty()
    assert not Audience().intersects(Audience.whole_school())


def test_class_inside_a_listed_grade_is_dropped() -> None:
    assert Audience(frozenset({10}), frozenset({(10, "А"), (11, "Б")})) == Audience(
        frozenset({10}), frozenset({(11, "Б")})
    )


def test_latin_letters_are_stored_as_cyrillic() -> None:
    assert Audience(classes=frozenset({(10, "A")})) == classes("10А")


def test_invalid_audience_values_are_refused() -> None:
    with pytest.raises(ValueError):
        Audience(frozenset({12}))
    with pytest.raises(ValueError):
        Audience(classes=frozenset({(10, "D")}))


def test_grades_touched_includes_grades_of_classes() -> None:
    assert Audience(frozenset({5}), frozenset({(10, "А")})).grades_touched() == {5, 10}


@pytest.mark.parametrize(
    ("audience", "label"),
    [
        (grades(10, 11), "10–11"),
        (classes("10А", "11Б"), "10А, 11Б"),
        (grades(*range(1, 12)), "вся школа"),
        (grades(5, 7, 8, 9), "5, 7–9"),
        (Audience(frozenset({9}), frozenset({(10, "А")})), "9, 10А"),
        (Audience(frozenset({11}), frozenset({(10, "Б")})), "10Б, 11"),
        (Audience(), "никто"),
    ],
)
def test_label(audience: Audience, label: str) -> None:
    assert audience.label() == label


def test_label_in_english() -> None:
    assert Audience.whole_school().label("en") == "whole school"
    assert grades(10, 11).label("en") == "10–11"


def test_intersection_names_who_clashes() -> None:
    assert grades(10, 11).intersection(classes("10А", "9Б")) == classes("10А")
    assert classes("10А").intersection(classes("10Б")).is_empty()


# --- Parser -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9", grades(9)),
        ("10-11", grades(10, 11)),
        ("10–11", grades(10, 11)),  # en dash
        ("10 — 11", grades(10, 11)),  # em dash with spaces
        ("10А", classes("10А")),
        ("10 А", classes("10А")),
        ("10-А", classes("10А")),
        ("10A", classes("10А")),  # Latin A
        ("10a", classes("10А")),  # Latin lower case
        ("10а", classes("10А")),  # Cyrillic lower case
        ("10B", classes("10В")),  # Latin B looks like Cyrillic В, not Б
        ("11 «Б»", classes("11Б")),
        ("10А, 11Б", classes("10А", "11Б")),
        ("10А; 11Б", classes("10А", "11Б")),
        ("9, 10А", Audience(frozenset({9}), frozenset({(10, "А")}))),
        ("10-11 классы", grades(10, 11)),
        ("классы: 10-11", None),  # a colon is not part of the syntax
        ("10 кл.", grades(10)),
        ("кл. 10", grades(10)),
        ("10А класс", classes("10А")),
        ("grades 10-11", grades(10, 11)),
        ("grade 9", grades(9)),
        ("10-е классы", grades(10)),
        ("10–11-х классов", grades(10, 11)),
        ("5-й класс", grades(5)),
        ("10-е", classes("10Е")),  # without "классы" it is the class 10Е
        ("вся школа", Audience.whole_school()),
        ("Вся Школа", Audience.whole_school()),
        ("все", Audience.whole_school()),
        ("все классы", Audience.whole_school()),
        ("whole school", Audience.whole_school()),
        ("ALL", Audience.whole_school()),
        ("1-11", Audience.whole_school()),
        ("[10-11]", grades(10, 11)),
        ("10А, , 11Б", classes("10А", "11Б")),
    ],
)
def test_parse_valid(text: str, expected: Audience | None) -> None:
    assert AudienceParser().parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        ",",
        "12",
        "0",
        "10-12",
        "11-10",  # a range must go upwards
        "10D",  # D looks like no Cyrillic letter
        "10Ы",
        "10АБ",
        "Олимпиада",
        "ауд. 305",
        "10А, Олимпиада",  # one bad term spoils the expression
        "2025",
        "классы",
    ],
)
def test_parse_invalid(text: str) -> None:
    assert AudienceParser().parse(text) is None


def test_groups_case_insensitive_and_nested(groups_parser: AudienceParser) -> None:
    assert groups_parser.parse("Инженерный профиль") == classes("10А", "11А")
    assert groups_parser.parse("ИНЖЕНЕРНЫЙ   ПРОФИЛЬ") == classes("10А", "11А")
    assert groups_parser.parse("старшие") == grades(10, 11)
    assert groups_parser.parse("профили") == classes("10А", "11А", "9Б")
    assert groups_parser.parse("инженерный профиль, 9") == Audience(
        frozenset({9}), frozenset({(10, "А"), (11, "А")})
    )


def test_bad_groups_fail_at_construction() -> None:
    with pytest.raises(ValueError, match="not an audience"):
        AudienceParser({"кружок": ["12Я"]})
    with pytest.raises(ValueError, match="itself"):
        AudienceParser({"a": ["b"], "b": ["a"]})


def test_parse_of_non_text_is_none() -> None:
    assert AudienceParser().parse(None) is None  # type: ignore[arg-type]


# --- Where the audience comes from (first match wins) -------------------------------------


def event(**props: str | list[str]) -> Event:
    component = Event()
    component.add("UID", "e1")
    for name, value in props.items():
        component.add(name.replace("_", "-"), value)
    return component


DEFAULT = grades(5)


@pytest.mark.parametrize(
    ("props", "expected", "source"),
    [
        (
            {
                "X_CALHUB_AUDIENCE": "9",
                "CATEGORIES": ["10"],
                "SUMMARY": "Олимпиада [11]",
                "DESCRIPTION": "Классы: 8",
            },
            grades(9),
            "x-calhub-audience",
        ),
        (
            {"CATEGORIES": ["Олимпиада", "10А", "11Б"], "SUMMARY": "X [11]"},
            classes("10А", "11Б"),
            "categories",
        ),
        (
            {"CATEGORIES": ["Олимпиада"], "SUMMARY": "Олимпиада [ауд. 5] [10-11]"},
            grades(10, 11),
            "summary",
        ),
        (
            {"SUMMARY": "Экскурсия", "DESCRIPTION": "Едем в музей.\nКлассы: 7А, 7Б\nGrades: 8"},
            classes("7А", "7Б"),
            "description",
        ),
        ({"SUMMARY": "Concert", "DESCRIPTION": "grades: 9-11"}, grades(9, 10, 11), "description"),
        ({"SUMMARY": "Событие"}, DEFAULT, "calendar-default"),
    ],
)
def test_resolve_precedence(
    props: dict[str, str | list[str]], expected: Audience, source: str
) -> None:
    assert resolve_audience(event(**props), AudienceParser(), DEFAULT) == (expected, source)


def test_resolve_falls_back_to_whole_school() -> None:
    assert resolve_audience(event(SUMMARY="Событие"), AudienceParser(), None) == (
        Audience.whole_school(),
        "whole-school",
    )


def test_bad_explicit_property_falls_through(caplog: pytest.LogCaptureFixture) -> None:
    found = resolve_audience(
        event(X_CALHUB_AUDIENCE="десятые", SUMMARY="X [10]"), AudienceParser(), None
    )
    assert found == (grades(10), "summary")
    assert "X-CALHUB-AUDIENCE" in caplog.text


def test_summary_tags_are_joined_and_groups_work(groups_parser: AudienceParser) -> None:
    component = event(SUMMARY="Проект [инженерный профиль] [9]")
    assert resolve_audience(component, groups_parser, None) == (
        Audience(frozenset({9}), frozenset({(10, "А"), (11, "А")})),
        "summary",
    )


def test_description_line_must_parse() -> None:
    component = event(DESCRIPTION="Классы: по записи\nКлассы: 6")
    assert resolve_audience(component, AudienceParser(), None) == (grades(6), "description")
