"""The clash engine: pure functions and value types, no I/O.

Pipeline: :func:`expand_calendar` turns iCalendar data into
:class:`Occurrence` objects (audience and venue worked out);
:class:`ClashEngine` checks them with the rules in :mod:`calhub.engine.rules`
against an :class:`OccurrenceLookup` (the in-memory :class:`IntervalIndex`, or
the hub's index) and returns :class:`Clash` objects.

This package imports nothing from the rest of calhub, nor any web, storage or
CalDAV code, so it can be tested and reused on its own.
"""

from calhub.engine.audience import Audience
from calhub.engine.clash import Clash
from calhub.engine.config import EngineConfig, RuleSettings
from calhub.engine.engine import ClashEngine, brute_force_scan
from calhub.engine.errors import (
    EngineError,
    InvalidCalendarData,
    UnreadableCalendarData,
    UnsupportedComponent,
)
from calhub.engine.expand import expand_calendar
from calhub.engine.index import IntervalIndex, OccurrenceLookup
from calhub.engine.occurrence import Occurrence
from calhub.engine.parser import AudienceParser, resolve_audience
from calhub.engine.rules import RULE_NAMES, BaseRule
from calhub.engine.venue import normalise_venue

__all__ = [
    "RULE_NAMES",
    "Audience",
    "AudienceParser",
    "BaseRule",
    "Clash",
    "ClashEngine",
    "EngineConfig",
    "EngineError",
    "IntervalIndex",
    "InvalidCalendarData",
    "Occurrence",
    "OccurrenceLookup",
    "RuleSettings",
    "UnreadableCalendarData",
    "UnsupportedComponent",
    "brute_force_scan",
    "expand_calendar",
    "normalise_venue",
    "resolve_audience",
]
