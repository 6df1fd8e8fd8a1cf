"""A found clash, and its stable id."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from calhub.engine.occurrence import Occurrence

__all__ = ["Clash", "clash_id", "pair_clash_id"]


@dataclass(frozen=True, slots=True)
class Clash:
    """Occurrences that break one rule together.

    ``id`` depends only on the rule and the occurrences' keys (for overload: the
    rule, grade and week), so the same clash found again, by a rescan or by the
    other side's edit, keeps its id and any note a coordinator attached to it.
    ``occurrences`` are sorted by key.
    """

    id: str
    rule: str
    severity: str
    occurrences: tuple[Occurrence, ...]
    message_ru: str
    message_en: str


def clash_id(*parts: str) -> str:
    """A short (16 hex digits) sha256 of the parts; the separator cannot occur in ids."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def pair_clash_id(rule: str, occurrences: Iterable[Occurrence]) -> str:
    keys = sorted(occ.key for occ in occurrences)
    return clash_id(rule, *("\x1e".join(key) for key in keys))
