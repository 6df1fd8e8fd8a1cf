"""Clash rules: one module per rule, each defining ``Rule``, a :class:`BaseRule`.

A rule is one of two kinds.

*Pair rules* (``is_group_rule = False``) judge two occurrences of different
events with :meth:`BaseRule.pair`. The engine never calls ``pair`` for two
occurrences of the same ``(calendar, uid)``, nor for an occurrence the rule
does not :meth:`~BaseRule.applies_to`. A pair rule promises three things; the
engine's speed depends on them and ``tests/engine`` checks them against a
brute-force reference:

* symmetry: ``pair(a, b)`` and ``pair(b, a)`` return the same clash;
* window: if ``pair(a, b)`` is a clash, ``b`` overlaps ``window(a)``
  (``b.start < hi and b.end > lo``), so a lookup of the window finds it;
* buckets: if ``pair(a, b)`` is a clash, ``buckets(a)`` and ``buckets(b)``
  share a key, so a whole-set scan may compare within buckets only.

* narrowing: if ``pair(a, b)`` is a clash, ``narrowing(a)`` admits ``b``
  (``Narrowing.admits``), so a lookup may leave the rest out.

*Group rules* (``is_group_rule = True``, overload) judge a whole set at once
with :meth:`BaseRule.group`. For a group clash that involves ``occ``, every
occurrence in it overlaps ``window(occ)`` and is admitted by ``narrowing(occ)``.
A check asks :meth:`BaseRule.involving`, which a group rule may answer without
reading whole groups (overload counts them).

Each rule class declares its name, ``default_severity`` and its settings
(``options``, typed :class:`~calhub.engine.rules.spec.Setting` objects with
defaults, bounds and help). :func:`registry` is the one list of rules: the
engine builds them from it, and the hub's config schema validates
``[rules.NAME]`` tables and the documentation lists their settings from it.
A rule reads its settings, checked and with defaults filled in, from
``self.params``; its severity is ``settings.severity`` or its
``default_severity``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from importlib import import_module
from types import MappingProxyType
from typing import Any, ClassVar

from calhub.engine.audience import Audience
from calhub.engine.clash import Clash, Text, pair_clash_id
from calhub.engine.config import EngineConfig, RuleSettings
from calhub.engine.index import NO_NARROWING, Narrowing, OccurrenceLookup
from calhub.engine.messages import Wording
from calhub.engine.occurrence import Occurrence
from calhub.engine.rules.spec import Setting, read_params

__all__ = [
    "RULE_NAMES",
    "BaseRule",
    "Key",
    "load",
    "ordered",
    "overlaps",
    "registry",
    "shared_audience",
]

logger = logging.getLogger(__name__)

# The rules in the order they run; each is the module calhub.engine.rules.NAME.
RULE_NAMES = ("audience", "blackout", "venue", "travel", "duplicate", "overload")

_ONE_BUCKET: tuple[Hashable, ...] = (None,)

Key = tuple[str, str, str]


def overlaps(a: Occurrence, b: Occurrence) -> bool:
    """Half-open overlap: an event ending at 10:00 does not meet one starting at 10:00."""
    return a.start < b.end and b.start < a.end


def shared_audience(audiences: Sequence[Audience]) -> Audience | None:
    """The classes in every one of ``audiences`` (None for none given)."""
    if not audiences:
        return None
    common = audiences[0]
    for audience in audiences[1:]:
        common = common.intersection(audience)
    return common


def ordered(a: Occurrence, b: Occurrence) -> tuple[Occurrence, Occurrence]:
    """The pair in canonical (key) order, so messages do not depend on argument order."""
    return (a, b) if a.key <= b.key else (b, a)


class BaseRule:
    """Base class of all rules; see the module documentation for the contract."""

    name: ClassVar[str] = ""
    default_severity: ClassVar[str] = "hard"
    is_group_rule: ClassVar[bool] = False
    options: ClassVar[tuple[Setting, ...]] = ()

    def __init__(self, config: EngineConfig, settings: RuleSettings) -> None:
        self.config = config
        self.settings = settings
        self.severity: str = settings.severity or self.default_severity
        self.zone = config.zone
        self.wording = Wording(config.zone, config.calendar_names)
        # Checked here too, so a caller that bypasses the hub's schema still fails early.
        self.params: Mapping[str, Any] = read_params(self.name, self.options, settings.params)

    @classmethod
    def concerned(cls, audiences: Sequence[Audience]) -> Audience | None:
        """Whose trouble a clash of this rule is, given its occurrences' audiences (the grade
        board reddens only those rows). None: each event's own audience (a double-booked
        room or a duplicate is a problem of the whole event, whoever it is for)."""
        return None

    def applies_to(self, occ: Occurrence) -> bool:
        """Whether the rule looks at this occurrence at all (blackouts: only their own rule)."""
        return not occ.is_blackout

    def window(self, occ: Occurrence) -> tuple[datetime, datetime]:
        """How far around ``occ`` the rule needs to look; the default is the event itself."""
        return occ.start, occ.end

    def narrowing(self, occ: Occurrence) -> Narrowing:
        """What every partner of ``occ`` shares with it; the default promises nothing."""
        return NO_NARROWING

    def buckets(self, occ: Occurrence) -> Iterable[Hashable]:
        """Keys that any clashing partner of ``occ`` shares with it."""
        return _ONE_BUCKET

    def pair(self, a: Occurrence, b: Occurrence) -> Clash | None:
        """The clash between two occurrences of different events, or None."""
        return None

    def group(
        self, occurrences: Sequence[Occurrence], focus: Sequence[Occurrence] | None = None
    ) -> list[Clash]:
        """Group clashes within ``occurrences`` (only group rules override this).

        ``occurrences`` may hold one occurrence more than once (same key). With
        ``focus``, only clashes involving one of those occurrences are needed:
        ``check`` passes the new event's occurrences so the rule can skip the rest.
        """
        return []

    def involving(
        self,
        candidates: Sequence[Occurrence],
        lookup: OccurrenceLookup,
        own_events: Collection[tuple[str, str]],
    ) -> list[Clash]:
        """Group clashes with one of ``candidates`` in them (only group rules use this).

        ``lookup`` may still hold the ``own_events`` (those of the candidates), whose
        candidates are the truth. This default looks up every window of a candidate in
        full, so each group the candidates are in is complete, and runs :meth:`group`.
        """
        mine = [occ for occ in candidates if self.applies_to(occ)]
        needs: dict[tuple[datetime, datetime], Narrowing] = {}
        for occ in mine:
            window, where = self.window(occ), self.narrowing(occ)
            known = needs.get(window)
            if known is not None and known != where:
                grades = None
                if known.grades is not None and where.grades is not None:
                    grades = known.grades | where.grades
                where = Narrowing(grades=grades)
            needs[window] = where
        pool = [
            other
            for (low, high), where in needs.items()
            for other in lookup.overlapping(low, high, where)
            if other.event_key not in own_events and self.applies_to(other)
        ]
        pool.extend(mine)
        own_keys = {occ.key for occ in mine}
        return [
            clash
            for clash in self.group(pool, mine)
            if any(o.key in own_keys for o in clash.occurrences)
        ]

    def pair_clash(self, a: Occurrence, b: Occurrence, text_ru: Text, text_en: Text) -> Clash:
        """A clash of two occurrences; ``text_ru``/``text_en`` write its messages on demand."""
        first, second = ordered(a, b)
        return Clash(
            id=pair_clash_id(self.name, first, second),
            rule=self.name,
            severity=self.severity,
            occurrences=(first, second),
            text_ru=text_ru,
            text_en=text_en,
        )


@cache
def registry() -> Mapping[str, type[BaseRule]]:
    """Every rule class by name, in :data:`RULE_NAMES` order.

    The modules are imported on first use: they import this package for ``BaseRule``.
    """
    classes: dict[str, type[BaseRule]] = {}
    for name in RULE_NAMES:
        rule_class: type[BaseRule] = import_module(f"{__name__}.{name}").Rule
        if rule_class.name != name:
            raise RuntimeError(f"{__name__}.{name} defines the rule {rule_class.name!r}")
        classes[name] = rule_class
    return MappingProxyType(classes)  # shared by every caller: read-only


def load(config: EngineConfig) -> list[BaseRule]:
    """The enabled rules, in :data:`RULE_NAMES` order, configured from ``config.rules``."""
    unknown = set(config.rules) - set(RULE_NAMES)
    if unknown:
        raise ValueError(f"unknown rules in configuration: {', '.join(sorted(unknown))}")
    rules: list[BaseRule] = []
    for name, rule_class in registry().items():
        settings = config.rule(name)
        if not settings.enabled:
            logger.info("Clash rule %s is disabled", name)
            continue
        rules.append(rule_class(config, settings))
    return rules
