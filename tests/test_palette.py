"""Partner colours that cannot be confused with the clash colours (issue 15)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from calhub.demo.partners import PARTNERS, SCHOOL_CALENDARS
from calhub.hub import palette

STATIC = Path(palette.__file__).parents[1] / "web" / "static"


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # Sharma, Wu and Dalal (2005), the CIEDE2000 test data, pairs 1, 2, 7, 17–20.
        ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
        ((50, 3.1571, -77.2803), (50, 0, -82.7485), 2.8615),
        ((50, 0, 0), (50, -1, 2), 2.3669),
        ((50, 2.5, 0), (73, 25, -18), 27.1492),
        ((50, 2.5, 0), (61, -5, 29), 22.8977),
        ((50, 2.5, 0), (56, -27, -3), 31.9030),
        ((50, 2.5, 0), (58, 24, 15), 19.4535),
    ],
)
def test_ciede2000_matches_the_published_test_data(first, second, expected) -> None:
    assert palette.ciede2000(first, second) == pytest.approx(expected, abs=1e-4)
    assert palette.ciede2000(second, first) == pytest.approx(expected, abs=1e-4)


def test_no_palette_colour_is_within_the_distance_of_a_clash_colour() -> None:
    for colour, clash in itertools.product(palette.PALETTE, palette.CLASH_COLOURS):
        distance = palette.delta_e(colour, clash)
        assert distance >= palette.MIN_DISTANCE, (colour, clash, distance)
        assert palette.clash_too_close(colour) is None


def test_palette_colours_stay_apart_from_each_other_and_the_school() -> None:
    assert len(set(palette.PALETTE)) == len(palette.PALETTE) >= 10
    for first, second in itertools.combinations((*palette.PALETTE, palette.SCHOOL_BLUE), 2):
        assert palette.delta_e(first, second) >= palette.MIN_PALETTE_DISTANCE, (first, second)


def test_every_palette_colour_has_chip_text_at_wcag_aa_contrast() -> None:
    for colour in palette.PALETTE:
        text = palette.text_colour(colour)
        assert text in ("#000000", "#FFFFFF")
        assert palette.contrast(colour, text) >= palette.MIN_CONTRAST, colour
    assert palette.contrast("#FFFFFF", "#000000") == pytest.approx(21)


def test_the_clash_colours_are_those_the_stylesheets_use() -> None:
    """The list the palette keeps away from must be what the pages paint clashes with."""
    calhub_css = (STATIC / "calhub.css").read_text(encoding="utf-8")
    board_css = (STATIC / "board.css").read_text(encoding="utf-8")
    used = {
        *(
            re.search(rf"--{name}: (#[0-9a-f]{{6}})", calhub_css).group(1)
            for name in ("hard", "soft", "soft-line", "ok")
        ),
        *(
            re.search(rf"--cell-{name}: (#[0-9a-f]{{6}})", board_css).group(1)
            for name in ("hard", "soft", "ok")
        ),
    }
    assert {colour.upper() for colour in used} == set(palette.CLASH_COLOURS)


def test_the_old_demo_colours_were_too_close_and_the_new_ones_are_not() -> None:
    for old in ("#D1242F", "#0E8A16", "#BF8700", "#E16F24"):
        assert palette.clash_too_close(old) is not None, old
    for calendar in PARTNERS + SCHOOL_CALENDARS:
        assert palette.clash_too_close(calendar.color) is None, calendar.id
    assert {c.color for c in PARTNERS} <= set(palette.PALETTE)
    assert len({c.color for c in PARTNERS}) == len(PARTNERS)


def test_next_colour_skips_the_colours_in_use() -> None:
    assert palette.next_colour([]) == palette.PALETTE[0]
    assert (
        palette.next_colour([palette.SCHOOL_BLUE, palette.PALETTE[0].lower()]) == palette.PALETTE[1]
    )
    used = list(palette.PALETTE)
    assert palette.next_colour(used) in palette.PALETTE, "all taken: one is reused"
    assert palette.next_colour([*used, palette.PALETTE[0]]) == palette.PALETTE[1]


def test_display_colours_replace_only_the_confusable_ones() -> None:
    shown = palette.display_colours(
        [("school", "#1F6FEB"), ("bfu", "#D1242F"), ("kgtu", "#0e8a16"), ("ranepa", "#8250DF80")]
    )
    assert shown["school"] == "#1F6FEB"
    assert shown["ranepa"] == "#8250DF", "a safe colour is kept (its alpha dropped)"
    assert shown["bfu"] in palette.PALETTE and shown["kgtu"] in palette.PALETTE
    assert len(set(shown.values())) == 4, "replacements take colours nobody shows"
    assert list(shown) == ["school", "bfu", "kgtu", "ranepa"]


def test_nearest_palette_colours_are_suggested_by_distance() -> None:
    suggested = palette.nearest_palette("#D1242F")
    assert len(suggested) == 3 and set(suggested) <= set(palette.PALETTE)
    distances = [palette.delta_e("#D1242F", c) for c in suggested]
    assert distances == sorted(distances)
    assert palette.delta_e("#D1242F", suggested[0]) <= min(
        palette.delta_e("#D1242F", c) for c in palette.PALETTE
    )
