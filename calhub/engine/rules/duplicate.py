"""``duplicate`` (soft): probably the same event entered twice.

Two occurrences of different events clash when their titles are the same after
folding (case, ``ё``, punctuation and spacing ignored, audience tags such as
``[10-11]`` removed), they start on the same local day (hub time zone) and
their audiences share a class. Untitled events are never duplicates.

Settings: none besides ``enabled`` and ``severity``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from datetime import date, datetime, timedelta

from calhub.engine.clash import Clash
from calhub.engine.config import EngineConfig, RuleSettings
from calhub.engine.index import Narrowing
from calhub.engine.messages import describe, shared
from calhub.engine.occurrence import Occurrence
from calhub.engine.parser import AudienceParser
from calhub.engine.rules import BaseRule, ordered
from calhub.engine.timezones import day_bounds, local_date
from calhub.engine.titles import TitleFolder

__all__ = ["DuplicateRule", "Rule"]

# A zero-length event at local midnight still overlaps (midnight - 1µs, ...).
_TINY = timedelta(microseconds=1)


class DuplicateRule(BaseRule):
    name = "duplicate"
    default_severity = "soft"

    def __init__(self, config: EngineConfig, settings: RuleSettings) -> None:
        super().__init__(config, settings)
        self.title = TitleFolder(AudienceParser(config.groups))

    def day(self, occ: Occurrence) -> date:
        return local_date(occ.start, self.zone)

    def window(self, occ: Occurrence) -> tuple[datetime, datetime]:
        start, end = day_bounds(self.day(occ), self.zone)
        return start - _TINY, end

    def narrowing(self, occ: Occurrence) -> Narrowing:
        return Narrowing(
            grades=occ.audience.grades_touched(),
            title=self.title(occ.summary),
            starting=day_bounds(self.day(occ), self.zone),
        )

    def buckets(self, occ: Occurrence) -> Iterable[Hashable]:
        title = self.title(occ.summary)
        return ((self.day(occ), title),) if title else ()

    def pair(self, a: Occurrence, b: Occurrence) -> Clash | None:
        title = self.title(a.summary)
        if not title or title != self.title(b.summary) or self.day(a) != self.day(b):
            return None
        if not a.audience.intersects(b.audience):
            return None
        a, b = ordered(a, b)
        wording = self.wording
        return self.pair_clash(
            a,
            b,
            lambda: (
                f"Возможно, одно и то же событие внесено дважды ({shared(a, b)}): "
                f"{describe(a, wording)} и {describe(b, wording)}."
            ),
            lambda: (
                f"Possibly the same event entered twice ({shared(a, b, 'en')}): "
                f"{describe(a, wording, 'en')} and {describe(b, wording, 'en')}."
            ),
        )


Rule = DuplicateRule
