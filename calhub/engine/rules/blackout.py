"""``blackout`` (hard): an event falls into a period the school has closed.

Events of the school's blackout calendar (exam weeks, holidays, …) take part
in this rule only. A normal event clashes with a blackout occurrence when their
times overlap and their audiences share a class; a blackout for ``[11]`` does
not stop events for grade 9.

Settings: none besides ``enabled`` and ``severity``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

from calhub.engine.audience import Audience
from calhub.engine.clash import Clash
from calhub.engine.index import Narrowing
from calhub.engine.messages import describe, shared
from calhub.engine.occurrence import Occurrence
from calhub.engine.rules import BaseRule, overlaps, shared_audience

__all__ = ["BlackoutRule", "Rule"]


class BlackoutRule(BaseRule):
    name = "blackout"
    default_severity = "hard"

    @classmethod
    def concerned(cls, audiences: Sequence[Audience]) -> Audience | None:
        """The classes of the event that the closed period is for."""
        return shared_audience(audiences)

    def applies_to(self, occ: Occurrence) -> bool:
        return True

    def narrowing(self, occ: Occurrence) -> Narrowing:
        return Narrowing(grades=occ.audience.grades_touched())

    def buckets(self, occ: Occurrence) -> Iterable[Hashable]:
        return occ.audience.grades_touched()

    def pair(self, a: Occurrence, b: Occurrence) -> Clash | None:
        if a.is_blackout == b.is_blackout:
            return None
        if not overlaps(a, b) or not a.audience.intersects(b.audience):
            return None
        blackout, event = (a, b) if a.is_blackout else (b, a)
        wording = self.wording
        return self.pair_clash(
            a,
            b,
            lambda: (
                f"{describe(event, wording)} попадает на закрытый период "
                f"{describe(blackout, wording)} (аудитория: {shared(a, b)})."
            ),
            lambda: (
                f"{describe(event, wording, 'en')} falls into the blackout period "
                f"{describe(blackout, wording, 'en')} (audience: {shared(a, b, 'en')})."
            ),
        )


Rule = BlackoutRule
