"""The clash engine: runs the rules over occurrences.

``check`` answers "what does this new or changed event clash with?" using an
:class:`~calhub.engine.index.OccurrenceLookup`; ``scan`` finds every clash in a
whole set with an interval sweep. ``brute_force_scan`` compares all pairs and
exists only so tests can prove the fast paths find the same clashes.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Collection, Hashable, Iterable, Sequence
from datetime import datetime

from calhub.engine.clash import Clash
from calhub.engine.config import EngineConfig
from calhub.engine.index import IntervalIndex, Narrowing, OccurrenceLookup
from calhub.engine.occurrence import Occurrence
from calhub.engine.rules import BaseRule, load

__all__ = ["ClashEngine", "brute_force_scan"]

logger = logging.getLogger(__name__)


def _sorted(found: dict[str, Clash]) -> list[Clash]:
    return sorted(found.values(), key=lambda c: (c.earliest, c.rule, c.id))


def _unique(occurrences: Iterable[Occurrence]) -> list[Occurrence]:
    """One occurrence per key (the last one given wins)."""
    return list({occ.key: occ for occ in occurrences}.values())


class ClashEngine:
    """Builds the enabled rules from ``config`` once; cheap to call afterwards."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.rules: Sequence[BaseRule] = tuple(load(config))
        self._pair_rules = [rule for rule in self.rules if not rule.is_group_rule]
        self._group_rules = [rule for rule in self.rules if rule.is_group_rule]

    def check(self, candidates: Sequence[Occurrence], lookup: OccurrenceLookup) -> list[Clash]:
        """Clashes involving at least one of ``candidates`` (a new or changed event).

        Whatever ``lookup`` holds for the candidates' own events (the candidates
        themselves, or an old version of the event) is ignored: the candidates are
        the truth about their events. Candidates of different events are also
        checked against each other.
        """
        candidates = _unique(candidates)
        if not candidates:
            return []
        own_events = {occ.event_key for occ in candidates}
        # Only needed when the candidates come from more than one event.
        among = IntervalIndex(candidates) if len(own_events) > 1 else None

        def others(start: datetime, end: datetime, where: Narrowing) -> list[Occurrence]:
            """Occurrences of other events near a candidate (other candidates too)."""
            nearby = [
                o
                for o in lookup.overlapping(start, end, where)
                if (o.calendar, o.uid) not in own_events
            ]
            if among is not None:
                nearby.extend(among.overlapping(start, end, where))
            return nearby

        found: dict[str, Clash] = {}
        for occ in candidates:
            # One lookup per kind of partner (its Narrowing: grades, venue, title, start), over
            # the widest window of the rules that share it.
            queries: dict[Narrowing, tuple[datetime, datetime, list[BaseRule]]] = {}
            for rule in self._pair_rules:
                if not rule.applies_to(occ):
                    continue
                low, high = rule.window(occ)
                where = rule.narrowing(occ)
                known = queries.get(where)
                if known is not None:
                    low, high = min(low, known[0]), max(high, known[1])
                    queries[where] = (low, high, [*known[2], rule])
                else:
                    queries[where] = (low, high, [rule])
            for where, (low, high, rules) in queries.items():
                for other in others(low, high, where):
                    if other.event_key == occ.event_key:
                        continue
                    for rule in rules:
                        if rule.applies_to(other):
                            clash = rule.pair(occ, other)
                            if clash is not None:
                                found.setdefault(clash.id, clash)
        for rule in self._group_rules:
            for clash in rule.involving(candidates, lookup, own_events):
                found.setdefault(clash.id, clash)
        return _sorted(found)

    def scan(
        self, occurrences: Iterable[Occurrence], only: Collection[str] | None = None
    ) -> list[Clash]:
        """Every clash within a whole set of occurrences (of the ``only`` rules, if given).

        Pair rules sweep each of their buckets in start order, keeping the
        occurrences whose window is still open in a heap; only those are compared.
        """
        items = _unique(occurrences)
        found: dict[str, Clash] = {}
        for rule in self._pair_rules:
            if only is not None and rule.name not in only:
                continue
            buckets: dict[Hashable, list[Occurrence]] = {}
            keys: dict[int, _Keys] = {}
            for occ in items:
                if rule.applies_to(occ):
                    own = tuple(rule.buckets(occ))
                    keys[id(occ)] = (own, frozenset(own))
                    for bucket in own:
                        buckets.setdefault(bucket, []).append(occ)
            for bucket, members in buckets.items():
                if len(members) > 1:
                    _sweep(rule, members, found, bucket, keys)
        for rule in self._group_rules:
            if only is not None and rule.name not in only:
                continue
            for clash in rule.group([occ for occ in items if rule.applies_to(occ)]):
                found.setdefault(clash.id, clash)
        return _sorted(found)


_Keys = tuple[tuple[Hashable, ...], frozenset[Hashable]]


def _first_shared(first: _Keys, second: _Keys) -> Hashable:
    """The first of ``first``'s buckets that ``second`` is in too."""
    for key in first[0]:
        if key in second[1]:
            return key
    return None


def _sweep(
    rule: BaseRule,
    members: list[Occurrence],
    found: dict[str, Clash],
    bucket: Hashable,
    keys: dict[int, _Keys],
) -> None:
    # Stable, so a pair meets in the same order in every bucket it shares.
    members.sort(key=lambda occ: occ.start)
    open_until: list[tuple[datetime, int]] = []
    active: dict[int, Occurrence] = {}
    for number, occ in enumerate(members):
        # A partner of occ overlaps occ's window, so once the window has closed
        # before the current start no later occurrence can pair with it.
        while open_until and open_until[0][0] <= occ.start:
            _, closed = heapq.heappop(open_until)
            del active[closed]
        mine = keys[id(occ)]
        for other in active.values():
            if other.event_key == occ.event_key:
                continue
            theirs = keys[id(other)]
            # Two occurrences in several common buckets (grades 10-11 and 9-11) are
            # judged once, in the first bucket they share.
            if len(mine[0]) > 1 and len(theirs[0]) > 1 and _first_shared(theirs, mine) != bucket:
                continue
            clash = rule.pair(other, occ)
            if clash is not None:
                found.setdefault(clash.id, clash)
        active[number] = occ
        heapq.heappush(open_until, (rule.window(occ)[1], number))


def brute_force_scan(config: EngineConfig, occurrences: Iterable[Occurrence]) -> list[Clash]:
    """Reference for tests: every pair of occurrences through every pair rule, O(n²)."""
    engine = ClashEngine(config)
    items = _unique(occurrences)
    found: dict[str, Clash] = {}
    for rule in engine.rules:
        usable = [occ for occ in items if rule.applies_to(occ)]
        if rule.is_group_rule:
            for group_clash in rule.group(usable):
                found.setdefault(group_clash.id, group_clash)
            continue
        for i, first in enumerate(usable):
            for second in usable[i + 1 :]:
                if first.event_key != second.event_key:
                    paired = rule.pair(first, second)
                    if paired is not None:
                        found.setdefault(paired.id, paired)
    return _sorted(found)
