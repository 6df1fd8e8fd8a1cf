"""Venue keys: one place written in different ways gets one key."""

from __future__ import annotations

import pytest

from calhub.engine import normalise_venue
from calhub.engine.venue import VenueNormaliser, is_virtual_venue


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("ауд. 305", "Аудитория 305"),
        ("ауд.305", "АУД 305"),
        ("Ауд. № 305", "аудитория 305"),
        ("каб. 12", "кабинет 12"),
        ("Актовый  зал", "актовый зал."),
        ("Актовый зал", "Aктовый зал"),  # Latin A typed into a Cyrillic word
        ("Ёлочный зал", "елочный зал"),
        ("БФУ, корпус 2, ауд. 1", "БФУ корп. 2 аудитория 1"),
    ],
)
def test_same_place(first: str, second: str) -> None:
    assert normalise_venue(first, {}) == normalise_venue(second, {})


@pytest.mark.parametrize(
    ("first", "second"), [("ауд. 305", "ауд. 306"), ("каб. 12", "ауд. 12"), ("зал 1", "зал 11")]
)
def test_different_places(first: str, second: str) -> None:
    assert normalise_venue(first, {}) != normalise_venue(second, {})


def test_empty_location_has_no_venue() -> None:
    assert normalise_venue("", {}) == ""
    assert normalise_venue("  ,. ", {}) == ""


def test_aliases_map_onto_canonical_name() -> None:
    aliases = {"АЗ": "Актовый зал гимназии", "актовый зал": "Актовый зал гимназии"}
    canonical = normalise_venue("Актовый зал гимназии", aliases)
    assert normalise_venue("аз", aliases) == canonical
    assert normalise_venue("Актовый зал.", aliases) == canonical
    assert normalise_venue("Спортзал", aliases) == "спортзал"


def test_normaliser_is_reusable() -> None:
    normalise = VenueNormaliser({"Tech": "Технопарк"})
    assert normalise("tech") == normalise("ТЕХНОПАРК") == "технопарк"


@pytest.mark.parametrize(
    ("location", "virtual"),
    [
        ("Онлайн", True),
        ("Zoom", True),
        ("https://telemost.yandex.ru/j/123", True),
        ("ауд. 305", False),
        ("Технопарк", False),
    ],
)
def test_virtual_venues(location: str, virtual: bool) -> None:
    assert is_virtual_venue(normalise_venue(location, {})) is virtual
