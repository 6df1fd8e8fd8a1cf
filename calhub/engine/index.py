"""Finding the occurrences that overlap a time window.

:class:`IntervalIndex` keeps occurrences sorted by start together with the
longest duration stored: anything overlapping ``[start, end)`` must start after
``start - longest`` and before ``end``, which two bisections find. One long
event (a school term entered as a single all-day event) would widen that band
for everyone, so occurrences are kept in tiers by duration, each tier with its
own longest duration; a query looks in each tier, still O(log n + k).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from calhub.engine.occurrence import Occurrence

__all__ = [
    "NO_NARROWING",
    "CountingLookup",
    "IntervalIndex",
    "Narrowing",
    "OccurrenceLookup",
    "count_by_grade",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_HOUR_US = 3_600_000_000
# Upper duration bound of each tier, in microseconds; the last tier is unbounded.
_TIER_LIMITS = (3 * _HOUR_US, 25 * _HOUR_US, 8 * 24 * _HOUR_US, 64 * 24 * _HOUR_US)


@dataclass(frozen=True, slots=True)
class Narrowing:
    """What every clash partner of an occurrence shares with it, under one rule.

    A lookup may use it to leave other occurrences out (the hub's index does, in SQL);
    ``None`` in a field means no promise about it.
    """

    grades: frozenset[int] | None = None  # the partner's audience touches one of them
    venue: str | None = None  # the partner is at this venue (normalised key)
    title: str | None = None  # the partner's folded title (``TitleFolder``) is this
    starting: tuple[datetime, datetime] | None = None  # the partner starts in [low, high)

    def admits(self, occ: Occurrence, title_of: Callable[[str], str] | None = None) -> bool:
        """Whether ``occ`` may be a partner (the title is checked only with ``title_of``)."""
        if self.grades is not None and self.grades.isdisjoint(occ.audience.grades_touched()):
            return False
        if self.venue is not None and occ.venue != self.venue:
            return False
        if self.starting is not None and not self.starting[0] <= occ.start < self.starting[1]:
            return False
        return self.title is None or title_of is None or title_of(occ.summary) == self.title


NO_NARROWING = Narrowing()


class OccurrenceLookup(Protocol):
    """Where the engine finds what an event may clash with (the hub's index implements it)."""

    def overlapping(
        self, start: datetime, end: datetime, where: Narrowing = NO_NARROWING
    ) -> Iterable[Occurrence]:
        """All occurrences with ``o.start < end`` and ``o.end > start``.

        Only those ``where`` admits are needed; a lookup may return more (the
        in-memory one does), never fewer.
        """
        ...


class CountingLookup(OccurrenceLookup, Protocol):
    """A lookup that can also count, so a group rule need not read whole groups."""

    def count_by_grade(
        self,
        start: datetime,
        end: datetime,
        grades: frozenset[int],
        all_day: bool,
        exclude: Collection[tuple[str, str]],
    ) -> dict[int, int]:
        """For each of ``grades``: how many occurrences touching it start in
        ``[start, end)``, leaving out blackouts, all-day ones unless ``all_day``, and the
        ``exclude``d events (calendar, uid)."""
        ...


def count_by_grade(
    occurrences: Iterable[Occurrence],
    start: datetime,
    end: datetime,
    grades: frozenset[int],
    all_day: bool,
    exclude: Collection[tuple[str, str]],
) -> dict[int, int]:
    """:meth:`CountingLookup.count_by_grade` over occurrences in memory."""
    counts = dict.fromkeys(grades, 0)
    for occ in occurrences:
        if not start <= occ.start < end or occ.is_blackout or (occ.all_day and not all_day):
            continue
        if occ.event_key in exclude:
            continue
        for grade in grades & occ.audience.grades_touched():
            counts[grade] += 1
    return counts


def _us(instant: datetime) -> int:
    return (instant - _EPOCH) // _MICROSECOND


class _Tier:
    __slots__ = ("ends", "items", "longest", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.items: list[Occurrence] = []
        self.longest = 0

    def insert(self, start: int, end: int, occ: Occurrence) -> None:
        at = bisect_right(self.starts, start)
        self.starts.insert(at, start)
        self.ends.insert(at, end)
        self.items.insert(at, occ)
        self.longest = max(self.longest, end - start)

    def remove(self, start: int, occ: Occurrence) -> None:
        at = bisect_left(self.starts, start)
        while self.items[at] is not occ:
            at += 1
        del self.starts[at], self.ends[at], self.items[at]

    def collect(self, start: int, end: int, into: list[Occurrence]) -> None:
        starts, ends, items = self.starts, self.ends, self.items
        # o.start < end and o.end > start, and o.end <= o.start + longest
        low = bisect_right(starts, start - self.longest)
        high = bisect_left(starts, end)
        into.extend(items[i] for i in range(low, high) if ends[i] > start)


def _tier_of(duration: int) -> int:
    for number, limit in enumerate(_TIER_LIMITS):
        if duration <= limit:
            return number
    return len(_TIER_LIMITS)


class IntervalIndex:
    """An in-memory :class:`OccurrenceLookup`.

    Adding an occurrence whose key is already present replaces it.
    """

    def __init__(self, occurrences: Iterable[Occurrence] = ()) -> None:
        self._tiers = [_Tier() for _ in range(len(_TIER_LIMITS) + 1)]
        self._by_key: dict[tuple[str, str, str], Occurrence] = {}
        self._by_event: dict[tuple[str, str], set[tuple[str, str, str]]] = {}
        for occ in occurrences:
            self._remember(occ)
        # Building by one sort beats inserting one by one into growing lists.
        rows: list[list[tuple[int, int, Occurrence]]] = [[] for _ in self._tiers]
        for occ in self._by_key.values():
            start, end = _us(occ.start), _us(occ.end)
            rows[_tier_of(end - start)].append((start, end, occ))
        for tier, tier_rows in zip(self._tiers, rows, strict=True):
            tier_rows.sort(key=lambda row: row[0])
            tier.starts = [row[0] for row in tier_rows]
            tier.ends = [row[1] for row in tier_rows]
            tier.items = [row[2] for row in tier_rows]
            tier.longest = max((row[1] - row[0] for row in tier_rows), default=0)

    def _remember(self, occ: Occurrence) -> Occurrence | None:
        previous = self._by_key.pop(occ.key, None)
        self._by_key[occ.key] = occ
        self._by_event.setdefault(occ.event_key, set()).add(occ.key)
        return previous

    def add(self, occ: Occurrence) -> None:
        previous = self._remember(occ)
        if previous is not None:
            self._unlink(previous)
        start, end = _us(occ.start), _us(occ.end)
        self._tiers[_tier_of(end - start)].insert(start, end, occ)

    def _unlink(self, occ: Occurrence) -> None:
        start, end = _us(occ.start), _us(occ.end)
        self._tiers[_tier_of(end - start)].remove(start, occ)

    def remove_event(self, calendar: str, uid: str) -> int:
        """Drop every occurrence of one event; returns how many there were."""
        keys = self._by_event.pop((calendar, uid), set())
        for key in keys:
            self._unlink(self._by_key.pop(key))
        return len(keys)

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Occurrence]:
        return iter(sorted(self._by_key.values(), key=lambda occ: (occ.start, occ.key)))

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def overlapping(
        self, start: datetime, end: datetime, where: Narrowing = NO_NARROWING
    ) -> list[Occurrence]:
        """All occurrences with ``o.start < end`` and ``o.end > start`` (``where`` is a
        hint this index does not need: its overlap queries cost no more than a filter)."""
        found: list[Occurrence] = []
        low, high = _us(start), _us(end)
        for tier in self._tiers:
            if tier.starts:
                tier.collect(low, high, found)
        return found

    def count_by_grade(
        self,
        start: datetime,
        end: datetime,
        grades: frozenset[int],
        all_day: bool,
        exclude: Collection[tuple[str, str]],
    ) -> dict[int, int]:
        """See :meth:`CountingLookup.count_by_grade`."""
        # A zero-length occurrence right at ``start`` does not overlap [start, end).
        found = self.overlapping(start - _MICROSECOND, end)
        return count_by_grade(found, start, end, grades, all_day, exclude)
