"""TEXT properties with unescaped commas are read whole by the engine (issue 10, point 7).

Some apps and generated files send ``SUMMARY:Олимпиада [5, 7А]`` without escaping the
comma. The engine reads with icalendar, which takes such a value whole, as calendar apps
do; only CATEGORIES (a list by RFC 5545) is split at its commas. Radicale's own parser
cut these values at the comma before they were stored: see tests/test_text_properties.py.
"""

from __future__ import annotations

from collections.abc import Callable

from calhub.engine import Audience, ClashEngine, EngineConfig, Occurrence

Expand = Callable[..., list[Occurrence]]

GRADE_5_AND_7A = Audience(frozenset({5}), frozenset({(7, "А")}))


def by_uid(occurrences: list[Occurrence]) -> dict[str, Occurrence]:
    return {o.uid: o for o in occurrences}


def test_summary_with_an_unescaped_comma_keeps_its_audience_tag(expand: Expand) -> None:
    olympiad = by_uid(expand("summary_unescaped_comma.ics"))["olympiad-unescaped@bfu"]
    assert olympiad.summary == "Олимпиада [5, 7А]"
    assert olympiad.audience == GRADE_5_AND_7A
    assert olympiad.audience_source == "summary"


def test_summary_audience_clashes_with_grade_5_and_not_grade_10(
    expand: Expand, config: EngineConfig
) -> None:
    found = ClashEngine(config).scan(expand("summary_unescaped_comma.ics"))
    assert [(c.rule, sorted(o.uid for o in c.occurrences)) for c in found] == [
        ("audience", ["grade-5-lecture@school", "olympiad-unescaped@bfu"])
    ]


def test_location_with_an_unescaped_comma_is_one_whole_venue(expand: Expand) -> None:
    found = by_uid(expand("location_unescaped_comma.ics"))
    consultation = found["consultation-building-2@bfu"]
    assert consultation.location == "Каб. 12, корпус 2"
    assert consultation.venue == "каб 12 корп 2"
    assert found["club-building-3@school"].venue == "каб 12 корп 3"
    # written out in full and escaped, the same room has the same venue key
    assert found["meeting-building-2@school"].venue == consultation.venue


def test_rooms_of_different_buildings_do_not_clash(expand: Expand, config: EngineConfig) -> None:
    # Cut at the comma, all three would be "Каб. 12" and the club would clash too.
    found = ClashEngine(config).scan(expand("location_unescaped_comma.ics"))
    assert [(c.rule, sorted(o.uid for o in c.occurrences)) for c in found] == [
        ("venue", ["consultation-building-2@bfu", "meeting-building-2@school"])
    ]


def test_audience_property_and_description_line_are_read_whole(expand: Expand) -> None:
    found = by_uid(expand("text_unescaped_commas.ics"))
    explicit = found["audience-property@bfu"]
    assert (explicit.audience, explicit.audience_source) == (GRADE_5_AND_7A, "x-calhub-audience")
    described = found["audience-description@bfu"]
    assert (described.audience, described.audience_source) == (GRADE_5_AND_7A, "description")


def test_categories_stay_a_list(expand: Expand) -> None:
    tagged = by_uid(expand("text_unescaped_commas.ics"))["audience-categories@bfu"]
    # the values "5" and "7А", not one text "5,7А" (which is no audience) nor the [9] tag
    assert (tagged.audience, tagged.audience_source) == (GRADE_5_AND_7A, "categories")
