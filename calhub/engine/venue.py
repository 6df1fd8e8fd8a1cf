"""Venue keys: the same place written in different ways gets the same key.

Folding: case, ``ё``/``е``, punctuation and spacing are ignored, letters and
digits are split (``ауд.305`` = ``ауд 305``), the usual abbreviations are
expanded to one form (``аудитория`` = ``ауд.``), Latin look-alike letters inside
Cyrillic words are read as Cyrillic, and then the configured aliases map other
spellings onto one canonical name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

__all__ = ["VenueNormaliser", "fold_venue", "is_virtual_venue", "normalise_venue"]

_NOT_WORD = re.compile(r"[\W_]+")
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_CYRILLIC = re.compile(r"[а-я]")
_LATIN = re.compile(r"[a-z]")
_LOOKALIKES = str.maketrans("aekmhopctxy", "аекмнорстху")

_SAME_WORD = {
    "аудитория": "ауд",
    "ауд": "ауд",
    "кабинет": "каб",
    "каб": "каб",
    "корпус": "корп",
    "корп": "корп",
    "здание": "зд",
    "зд": "зд",
    "этаж": "эт",
    "эт": "эт",
    "улица": "ул",
    "ул": "ул",
    "проспект": "пр",
    "пр": "пр",
    "room": "room",
    "rm": "room",
    "building": "bldg",
    "bldg": "bldg",
    "no": "",
    "nr": "",
}

# Two online meetings at the same time do not compete for a room.
_VIRTUAL_WORDS = frozenset(
    {
        "онлайн",
        "online",
        "дистанционно",
        "дистанционный",
        "дистант",
        "вебинар",
        "webinar",
        "zoom",
        "teams",
        "skype",
        "телемост",
        "сферум",
        "meet",
        "http",
        "https",
    }
)


@lru_cache(maxsize=4096)
def fold_venue(location: str) -> str:
    """The folded form of a location text, without aliases ("" for no location)."""
    text = location.casefold().replace("ё", "е")
    text = _NOT_WORD.sub(" ", text)
    text = _LETTER_DIGIT.sub(" ", text)
    words = []
    for word in text.split():
        if _CYRILLIC.search(word) and _LATIN.search(word):
            word = word.translate(_LOOKALIKES)
        word = _SAME_WORD.get(word, word)
        if word:
            words.append(word)
    return " ".join(words)


@lru_cache(maxsize=4096)
def is_virtual_venue(venue: str) -> bool:
    """Whether a venue key names an online meeting rather than a place."""
    return any(word in _VIRTUAL_WORDS for word in venue.split())


class VenueNormaliser:
    """Folds locations and applies aliases; build one per configuration and reuse it."""

    def __init__(self, aliases: Mapping[str, str] | None = None) -> None:
        self._aliases: dict[str, str] = {}
        for alias, canonical in (aliases or {}).items():
            key, target = fold_venue(alias), fold_venue(canonical)
            if key and target:
                self._aliases[key] = target

    def __call__(self, location: str) -> str:
        key = fold_venue(location or "")
        return self._aliases.get(key, key)


def normalise_venue(location: str, aliases: Mapping[str, str]) -> str:
    """The venue key of a LOCATION text: folded, then mapped through ``aliases``."""
    return VenueNormaliser(aliases)(location)
