"""``travel`` (soft): too little time to get from one venue to the next.

Two occurrences clash when their audiences share a class, they do not overlap,
they are at different venues, and the gap between the end of the first and the
start of the second is shorter than ``gap_minutes`` (a gap of exactly
``gap_minutes`` is enough). Back-to-back events at different venues clash.

Settings: :attr:`TravelRule.options`. A venue belongs to a site when its key
equals the key of one of the site's venues or starts with it as whole words
(``гимназия`` covers ``гимназия ауд 12``); the longest such key wins.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from calhub.engine.audience import Audience
from calhub.engine.clash import Clash
from calhub.engine.config import EngineConfig, RuleSettings
from calhub.engine.index import Narrowing
from calhub.engine.messages import describe, shared
from calhub.engine.occurrence import Occurrence
from calhub.engine.rules import BaseRule, overlaps, shared_audience
from calhub.engine.rules.spec import Flag, SiteMap, Whole
from calhub.engine.venue import VenueNormaliser, is_virtual_venue

__all__ = ["Rule", "TravelRule"]


def _site_keys(
    sites: Mapping[str, Sequence[str]], normalise: VenueNormaliser
) -> list[tuple[str, str]]:
    """(venue key, site name) pairs, longest key first so the most specific wins."""
    pairs = [
        (key, site) for site, spellings in sites.items() for key in map(normalise, spellings) if key
    ]
    pairs.sort(key=lambda pair: -len(pair[0]))
    return pairs


class TravelRule(BaseRule):
    name = "travel"
    default_severity = "soft"
    options = (
        Whole(
            "gap_minutes",
            30,
            "The least time between events at different venues for the same students "
            "(a gap of exactly this long is enough).",
            minimum=0,
            maximum=24 * 60,
            unit="minutes",
        ),
        Flag("ignore_online", True, "Online meetings need no travel."),
        Flag(
            "ignore_all_day",
            True,
            "All-day events have no real start and end time to travel between.",
        ),
        SiteMap(
            "sites",
            {},
            "Sites whose venues need no travel time between them (rooms of one building): "
            "each site name lists venue spellings; a venue whose key starts with one of "
            "them belongs to the site.",
        ),
    )

    @classmethod
    def concerned(cls, audiences: Sequence[Audience]) -> Audience | None:
        """The classes that must get from one event to the other."""
        return shared_audience(audiences)

    def __init__(self, config: EngineConfig, settings: RuleSettings) -> None:
        super().__init__(config, settings)
        self.gap = timedelta(minutes=self.params["gap_minutes"])
        self.ignore_online: bool = self.params["ignore_online"]
        self.ignore_all_day: bool = self.params["ignore_all_day"]
        normalise = VenueNormaliser(config.venue_aliases)
        self._sites = _site_keys(self.params["sites"], normalise)
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
