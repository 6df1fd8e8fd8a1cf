"""``venue`` (hard): one place is booked by two events at once, whoever attends.

Venues are compared by their normalised key (see :mod:`calhub.engine.venue`),
so ``ауд. 305`` and ``Аудитория 305`` are one room. Events without a location
never clash here.

Settings: :attr:`VenueRule.options`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from calhub.engine.clash import Clash
from calhub.engine.config import EngineConfig, RuleSettings
from calhub.engine.index import Narrowing
from calhub.engine.messages import describe
from calhub.engine.occurrence import Occurrence
from calhub.engine.rules import BaseRule, ordered, overlaps
from calhub.engine.rules.spec import Flag
from calhub.engine.venue import is_virtual_venue

__all__ = ["Rule", "VenueRule"]


class VenueRule(BaseRule):
    name = "venue"
    default_severity = "hard"
    options = (
        Flag(
            "ignore_online",
            True,
            'Online "venues" (Zoom, «онлайн», links) are not rooms, so two online meetings '
            "at once do not clash.",
        ),
    )

    def __init__(self, config: EngineConfig, settings: RuleSettings) -> None:
        super().__init__(config, settings)
        self.ignore_online: bool = self.params["ignore_online"]

    def applies_to(self, occ: Occurrence) -> bool:
        if occ.is_blackout or not occ.venue:
            return False
        return not (self.ignore_online and is_virtual_venue(occ.venue))

    def narrowing(self, occ: Occurrence) -> Narrowing:
        return Narrowing(venue=occ.venue)

    def buckets(self, occ: Occurrence) -> Iterable[Hashable]:
        return (occ.venue,)

    def pair(self, a: Occurrence, b: Occurrence) -> Clash | None:
        if a.venue != b.venue or not overlaps(a, b):
            return None
        a, b = ordered(a, b)
        place = a.location.strip() or a.venue
        wording = self.wording
        return self.pair_clash(
            a,
            b,
            lambda: (
                f"Место «{place}» занято двумя событиями одновременно: "
                f"{describe(a, wording)} и {describe(b, wording)}."
            ),
            lambda: (
                f'The venue "{place}" is booked twice at the same time: '
                f"{describe(a, wording, 'en')} and {describe(b, wording, 'en')}."
            ),
        )


Rule = VenueRule
