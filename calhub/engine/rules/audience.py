"""``audience`` (hard): the same students are expected at two events at once.

Two occurrences clash when their times overlap (half-open: one ending at 10:00
and one starting at 10:00 do not) and their audiences share a class (grade 10
meets 10А; 10А does not meet 10Б).

Settings: :attr:`AudienceRule.options`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

from calhub.engine.audience import Audience
from calhub.engine.clash import Clash
from calhub.engine.config import EngineConfig, RuleSettings
from calhub.engine.index import Narrowing
from calhub.engine.messages import describe, shared
from calhub.engine.occurrence import Occurrence
from calhub.engine.rules import BaseRule, ordered, overlaps, shared_audience
from calhub.engine.rules.spec import Flag

__all__ = ["AudienceRule", "Rule"]


class AudienceRule(BaseRule):
    name = "audience"
    default_severity = "hard"
    options = (
        Flag(
            "ignore_all_day",
            False,
            "Leave all-day events out, for schools that use all-day entries as notes "
            "rather than as real events.",
        ),
    )

    @classmethod
    def concerned(cls, audiences: Sequence[Audience]) -> Audience | None:
        """The classes at both events at once."""
        return shared_audience(audiences)

    def __init__(self, config: EngineConfig, settings: RuleSettings) -> None:
        super().__init__(config, settings)
        self.ignore_all_day: bool = self.params["ignore_all_day"]

    def applies_to(self, occ: Occurrence) -> bool:
        return not occ.is_blackout and not (self.ignore_all_day and occ.all_day)

    def narrowing(self, occ: Occurrence) -> Narrowing:
        return Narrowing(grades=occ.audience.grades_touched())

    def buckets(self, occ: Occurrence) -> Iterable[Hashable]:
        return occ.audience.grades_touched()

    def pair(self, a: Occurrence, b: Occurrence) -> Clash | None:
        if not overlaps(a, b) or not a.audience.intersects(b.audience):
            return None
        a, b = ordered(a, b)
        wording = self.wording
        return self.pair_clash(
            a,
            b,
            lambda: (
                f"Одни и те же ученики ({shared(a, b)}) заняты одновременно: "
                f"{describe(a, wording)} и {describe(b, wording)}."
            ),
            lambda: (
                f"The same students ({shared(a, b, 'en')}) are expected at two events at once: "
                f"{describe(a, wording, 'en')} and {describe(b, wording, 'en')}."
            ),
        )


Rule = AudienceRule
