"""``overload`` (soft): too many events for one grade in one week.

Occurrences are counted per grade and local ISO week (of their start, in the hub
time zone); an occurrence counts for every grade its audience touches (one
for 10А counts for grade 10). More than ``max_per_week`` in a grade-week gives
one clash listing all of them; its id depends on the rule, grade and week only,
so it stays the same as events come and go.

A check counts the grade-weeks of the new event (when the lookup can count) rather
than reading them: in a busy hub every grade-week holds hundreds of events, and a
weekly series touches dozens of weeks. The clashes it returns read their members
when someone needs them (:class:`~calhub.engine.clash.Members`).

Settings: :attr:`OverloadRule.options`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from functools import partial

from calhub.engine.audience import Audience
from calhub.engine.clash import Clash, Members, clash_id
from calhub.engine.config import EngineConfig, RuleSettings
from calhub.engine.index import Narrowing, OccurrenceLookup
from calhub.engine.messages import describe
from calhub.engine.occurrence import Occurrence
from calhub.engine.rules import BaseRule, Key
from calhub.engine.rules.spec import Flag, Whole
from calhub.engine.timezones import week_bounds

__all__ = ["OverloadRule", "Rule"]

_TINY = timedelta(microseconds=1)
_LISTED = 10


class OverloadRule(BaseRule):
    name = "overload"
    default_severity = "soft"
    is_group_rule = True
    options = (
        Whole(
            "max_per_week",
            5,
            "More events than this for one grade in one week is an overload.",
            minimum=0,
            maximum=10_000,
            unit="events",
        ),
        Flag("count_all_day", True, "Whether all-day events count towards the week."),
    )

    @classmethod
    def concerned(cls, audiences: Sequence[Audience]) -> Audience | None:
        """The grade overloaded: one every event of the week touches (10А and 10Б: grade 10)."""
        if not audiences:
            return None
        grades = frozenset.intersection(*(a.grades_touched() for a in audiences))
        return Audience(grades) if grades else None

    def __init__(self, config: EngineConfig, settings: RuleSettings) -> None:
        super().__init__(config, settings)
        self.max_per_week: int = self.params["max_per_week"]
        self.count_all_day: bool = self.params["count_all_day"]

    def applies_to(self, occ: Occurrence) -> bool:
        return not occ.is_blackout and (self.count_all_day or not occ.all_day)

    def window(self, occ: Occurrence) -> tuple[datetime, datetime]:
        _, start, end = week_bounds(occ.start, self.zone)
        return start - _TINY, end

    def narrowing(self, occ: Occurrence) -> Narrowing:
        _, start, end = week_bounds(occ.start, self.zone)
        return Narrowing(grades=occ.audience.grades_touched(), starting=(start, end))

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

    def involving(
        self,
        candidates: Sequence[Occurrence],
        lookup: OccurrenceLookup,
        own_events: Collection[tuple[str, str]],
    ) -> list[Clash]:
        count_by_grade = getattr(lookup, "count_by_grade", None)
        if count_by_grade is None:
            return super().involving(candidates, lookup, own_events)
        mine: dict[tuple[int, str], dict[Key, Occurrence]] = {}
        weeks: dict[str, tuple[datetime, datetime]] = {}
        for occ in candidates:
            if not self.applies_to(occ):
                continue
            label, start, end = week_bounds(occ.start, self.zone)
            weeks[label] = (start, end)
            for grade in occ.audience.grades_touched():
                mine.setdefault((grade, label), {})[occ.key] = occ
        clashes = []
        for label, (start, end) in sorted(weeks.items()):
            grades = frozenset(grade for grade, week in mine if week == label)
            others = count_by_grade(start, end, grades, self.count_all_day, own_events)
            for grade in sorted(grades):
                own = mine[(grade, label)]
                if others[grade] + len(own) > self.max_per_week:
                    read = partial(self._members, lookup, own_events, grade, (start, end), own)
                    clashes.append(self._clash(grade, label, Members(read, start)))
        return clashes

    def _members(
        self,
        lookup: OccurrenceLookup,
        own_events: Collection[tuple[str, str]],
        grade: int,
        week: tuple[datetime, datetime],
        own: dict[Key, Occurrence],
    ) -> list[Occurrence]:
        """Everything in one grade-week, the ``own`` occurrences for their events."""
        start, end = week
        found: dict[Key, Occurrence] = {}
        where = Narrowing(grades=frozenset({grade}), starting=week)
        for occ in lookup.overlapping(start - _TINY, end, where):
            if (
                start <= occ.start < end
                and occ.event_key not in own_events
                and self.applies_to(occ)
                and grade in occ.audience.grades_touched()
            ):
                found[occ.key] = occ
        found.update(own)
        return [found[key] for key in sorted(found)]

    def _week(self, occ: Occurrence) -> tuple[int, int]:
        year, week, _ = occ.start.astimezone(self.zone).isocalendar()
        return year, week

    def _clash(self, grade: int, week: str, items: Sequence[Occurrence]) -> Clash:
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
            occurrences=items if isinstance(items, Members) else tuple(items),
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
