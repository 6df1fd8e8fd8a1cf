"""A found clash, and its stable id."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from calhub.engine.occurrence import Occurrence

__all__ = ["Clash", "clash_id", "pair_clash_id"]

Text = Callable[[], str]


@dataclass(frozen=True, slots=True)
class Clash:
    """Occurrences that break one rule together.

    ``id`` depends only on the rule and the occurrences' keys (for overload: the
    rule, grade and week), so the same clash found again, by a rescan or by the
    other side's edit, keeps its id and any note a coordinator attached to it.
    ``occurrences`` are sorted by key.

    The messages are written when first read: a check in a busy hub finds many clashes
    that are already on record and whose text nobody reads again.
    """

    id: str
    rule: str
    severity: str
    occurrences: tuple[Occurrence, ...]
    text_ru: Text = field(repr=False, compare=False)
    text_en: Text = field(repr=False, compare=False)
    _written: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def message_ru(self) -> str:
        return self._message("ru", self.text_ru)

    @property
    def message_en(self) -> str:
        return self._message("en", self.text_en)

    def _message(self, lang: str, text: Text) -> str:
        written = self._written.get(lang)
        if written is None:
            written = self._written[lang] = text()
        return written


def clash_id(*parts: str) -> str:
    """A short (16 hex digits) sha256 of the parts; the separator cannot occur in ids."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def pair_clash_id(rule: str, first: Occurrence, second: Occurrence) -> str:
    """The id of a pair clash; ``first`` and ``second`` in key order (``rules.ordered``)."""
    return clash_id(rule, "\x1e".join(first.key), "\x1e".join(second.key))
