"""``travel`` (soft): too little time to get from one venue to the next.

Two occurrences clash when their audiences share a class, they do not overlap,
they are at different venues, and the gap between the end of the first and the
start of the second is shorter than ``gap_minutes`` (a gap of exactly
``gap_minutes`` is enough). Back-to-back events at different venues clash.

Parameters:
    ``gap_minutes`` (number, default 30): the least time needed between venues.
    ``ignore_online`` (bool, default True): online meetings need no travel.
    ``ignore_all_day`` (bool, default True): all-day events have no real start
    and end time to travel between.
    ``sites`` (mapping of site name to a list of venue spellings, default
    empty): venues of one site (rooms of one building) need no travel time. A
    venue belongs to a site when its key equals a listed venue's key or starts
    with it as whole words (``гимназия`` covers ``гимназия ауд 12``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from calhub.engine.clash import Clash
from calhub.engine.config import EngineConfig, RuleSettings
from calhub.engine.index import Narrowing
from calhub.engine.messages import describe, shared
from calhub.engine.occurrence import Occurrence
from calhub.engine.rules import BaseRule, overlaps
from calhub.engine.venue import VenueNormaliser, is_virtual_venue

__all__ = ["Rule", "TravelRule"]


def _read_sites(raw: Any, normalise: VenueNormaliser) -> list[tuple[str, str]]:
    """(venue key, site name) pairs, longest key first so the most specific wins."""
    if not isinstance(raw, Mapping):
        raise ValueError("rule travel: sites must map a site name to a list of venues")
    pairs = []
    for site, venues in raw.items():
        spellings: Sequence[Any] = [venues] if isinstance(venues, str) else venues
        for spelling in spellings:
            key = normalise(str(spelling))
            if key:
                pairs.append((key, str(site)))
    pairs.sort(key=lambda pair: -len(pair[0]))
    return pairs


class TravelRule(BaseRule):
    name = "travel"
    default_severity = "soft"

    def __init__(self, config: EngineConfig, settings: RuleSettings) -> None:
        super().__init__(config, settings)
        self.gap = timedelta(minutes=self.number("gap_minutes", 30))
        self.ignore_online = self.flag("ignore_online", True)
        self.ignore_all_day = self.flag("ignore_all_day", True)
        normalise = VenueNormaliser(config.venue_aliases)
        self._sites = _read_sites(settings.params.get("sites", {}), normalise)
        self._site_cache: dict[str, str] = {}

    def site(self, venue: str) -> str:
        """The site a venue key belongs to (the venue itself if no site lists it)."""
        cached = self._site_cache.get(venue)
        if cached is None:
            cached = venue
            for key, site in self._sites:
                if venue == key or venue.startswith(key + " "):
                    cached = "\x00site:" + site
                    break
            self._site_cache[venue] = cached
        return cached

    def applies_to(self, occ: Occurrence) -> bool:
        if occ.is_blackout or not occ.venue or (self.ignore_all_day and occ.all_day):
            return False
        return not (self.ignore_online and is_virtual_venue(occ.venue))

    def window(self, occ: Occurrence) -> tuple[datetime, datetime]:
        return occ.start - self.gap, occ.end + self.gap

    def narrowing(self, occ: Occurrence) -> Narrowing:
        return Narrowing(grades=occ.audience.grades_touched())

    def buckets(self, occ: Occurrence) -> Iterable[Hashable]:
        return occ.audience.grades_touched()

    def pair(self, a: Occurrence, b: Occurrence) -> Clash | None:
        if a.venue == b.venue or overlaps(a, b) or self.site(a.venue) == self.site(b.venue):
            return None
        first, second = sorted((a, b), key=lambda occ: (occ.start, occ.end, occ.key))
        gap = second.start - first.end
        if gap >= self.gap or not a.audience.intersects(b.audience):
            return None
        minutes, need = int(gap.total_seconds() // 60), int(self.gap.total_seconds() // 60)
        wording = self.wording
        return self.pair_clash(
            a,
            b,
            lambda: (
                f"Мало времени на дорогу для {shared(a, b)}: {minutes} мин между "
                f"{describe(first, wording, place=True)} и {describe(second, wording, place=True)} "
                f"(нужно не меньше {need} мин)."
            ),
            lambda: (
                f"Too little travel time for {shared(a, b, 'en')}: {minutes} min between "
                f"{describe(first, wording, 'en', place=True)} and "
                f"{describe(second, wording, 'en', place=True)} (at least {need} min needed)."
            ),
        )


Rule = TravelRule
