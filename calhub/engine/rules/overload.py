"""``overload`` (soft): too many events for one grade in one week.

Occurrences are counted per grade and local ISO week (of their start, in the hub
time zone); an occurrence counts for every grade its audience touches (one
for 10А counts for grade 10). More than ``max_per_week`` in a grade-week gives
one clash listing all of them; its id depends on the rule, grade and week only,
so it stays the same as events come and go.

Parameters:
    ``max_per_week`` (whole number, default 5).
    ``count_all_day`` (bool, default True): whether all-day events count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from calhub.engine.clash import Clash, clash_id
from calhub.engine.config import EngineConfig, RuleSettings
from calhub.engine.messages import describe
from calhub.engine.occurrence import Occurrence
from calhub.engine.rules import BaseRule, Key
from calhub.engine.timezones import week_bounds

__all__ = ["OverloadRule", "Rule"]

_TINY = timedelta(microseconds=1)
_LISTED = 10


class OverloadRule(BaseRule):
    name = "overload"
    default_severity = "soft"
    is_group_rule = True

    def __init__(self, config: EngineConfig, settings: RuleSettings) -> None:
        super().__init__(config, settings)
        self.max_per_week = int(self.number("max_per_week", 5))
        self.count_all_day = self.flag("count_all_day", True)

    def applies_to(self, occ: Occurrence) -> bool:
        return not occ.is_blackout and (self.count_all_day or not occ.all_day)

    def window(self, occ: Occurrence) -> tuple[datetime, datetime]:
        _, start, end = week_bounds(occ.start, self.zone)
        return start - _TINY, end

    def grades_needed(self, occ: Occurrence) -> frozenset[int] | None:
        return occ.audience.grades_touched()

    def group(
        self, occurrences: Sequence[Occurrence], focus: Sequence[Occurrence] | None = None
    ) -> list[Clash]:
        wanted: set[tuple[int, tuple[int, int]]] | None = None
        focus_grades: frozenset[int] = frozenset()
        if focus is not None:
            wanted = {
                (grade, self._week(occ))
                for occ in focus
                if self.applies_to(occ)
                for grade in occ.audience.grades_touched()
            }
            focus_grades = frozenset(grade for grade, _ in wanted)
        weeks: dict[tuple[int, tuple[int, int]], dict[Key, Occurrence]] = {}
        for occ in occurrences:
            grades = occ.audience.grades_touched()
            if wanted is not None:
                if focus_grades.isdisjoint(grades):
                    continue
                grades = grades & focus_grades
            week = self._week(occ)
            for grade in grades:
                if wanted is None or (grade, week) in wanted:
                    weeks.setdefault((grade, week), {})[occ.key] = occ
        clashes = []
        for (grade, (year, number)), found in sorted(weeks.items()):
            if len(found) > self.max_per_week:
                label = f"{year}-W{number:02d}"
                clashes.append(self._clash(grade, label, [found[k] for k in sorted(found)]))
        return clashes

    def _week(self, occ: Occurrence) -> tuple[int, int]:
        year, week, _ = occ.start.astimezone(self.zone).isocalendar()
        return year, week

    def _clash(self, grade: int, week: str, items: list[Occurrence]) -> Clash:
        def listed(lang: str) -> str:
            by_time = sorted(items, key=lambda occ: (occ.start, occ.key))
            text = "; ".join(describe(occ, self.wording, lang) for occ in by_time[:_LISTED])
            rest = len(items) - _LISTED
            if rest > 0:
                text += f"; and {rest} more" if lang == "en" else f"; и ещё {rest}"
            return text

        return Clash(
            id=clash_id(self.name, str(grade), week),
            rule=self.name,
            severity=self.severity,
            occurrences=tuple(items),
            text_ru=lambda: (
                f"Перегрузка: у {grade}-х классов {len(items)} событий за неделю "
                f"{week} (не больше {self.max_per_week}): {listed('ru')}."
            ),
            text_en=lambda: (
                f"Overload: grade {grade} has {len(items)} events in week {week} "
                f"(at most {self.max_per_week}): {listed('en')}."
            ),
        )


Rule = OverloadRule
