"""A found clash, and its stable id."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import overload

from calhub.engine.occurrence import Occurrence

__all__ = ["Clash", "Members", "clash_id", "pair_clash_id"]

Text = Callable[[], str]


class Members(Sequence[Occurrence]):
    """A clash's occurrences, read when first needed.

    A group clash (overload) can have hundreds of members; a write in ``reject`` mode
    only needs to know that the clash exists, so the check counts them and leaves
    reading them to whoever records or shows the clash. ``earliest`` is a moment no
    later than any member's start, for ordering clashes without reading them.
    """

    __slots__ = ("_load", "_read", "earliest")

    def __init__(self, load: Callable[[], Sequence[Occurrence]], earliest: datetime) -> None:
        self._load = load
        self._read: tuple[Occurrence, ...] | None = None
        self.earliest = earliest

    def _members(self) -> tuple[Occurrence, ...]:
        if self._read is None:
            self._read = tuple(self._load())
        return self._read

    @overload
    def __getitem__(self, index: int) -> Occurrence: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Occurrence]: ...

    def __getitem__(self, index: int | slice) -> Occurrence | Sequence[Occurrence]:
        return self._members()[index]

    def __iter__(self) -> Iterator[Occurrence]:
        return iter(self._members())

    def __len__(self) -> int:
        return len(self._members())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return self._members() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._members())

    def __repr__(self) -> str:
        return "Members(unread)" if self._read is None else f"Members({self._read!r})"


@dataclass(frozen=True, slots=True)
class Clash:
    """Occurrences that break one rule together.

    ``id`` depends only on the rule and the occurrences' keys (for overload: the
    rule, grade and week), so the same clash found again, by a rescan or by the
    other side's edit, keeps its id and any note a coordinator attached to it.
    ``occurrences`` are sorted by key; a group clash found by a check may hold
    :class:`Members`, read on first use.

    The messages are written when first read: a check in a busy hub finds many clashes
    that are already on record and whose text nobody reads again.
    """

    id: str
    rule: str
    severity: str
    occurrences: Sequence[Occurrence]
    text_ru: Text = field(repr=False, compare=False)
    text_en: Text = field(repr=False, compare=False)
    _written: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def earliest(self) -> datetime:
        """The first start among its occurrences (for :class:`Members`, their bound)."""
        occurrences = self.occurrences
        if isinstance(occurrences, Members):
            return occurrences.earliest
        if len(occurrences) == 2:  # a pair clash, by far the most common
            first, second = occurrences
            return first.start if first.start <= second.start else second.start
        return min(occ.start for occ in occurrences)

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
    """The id of a pair clash; ``first`` and ``second`` in key order (``rules.ordered``).

    The same digest as ``clash_id(rule, "\x1e".join(first.key), "\x1e".join(second.key))``,
    written out because a scan of a busy hub makes hundreds of thousands of them.
    """
    text = (
        f"{rule}\x1f{first.calendar}\x1e{first.uid}\x1e{first.recurrence_id}"
        f"\x1f{second.calendar}\x1e{second.uid}\x1e{second.recurrence_id}"
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
