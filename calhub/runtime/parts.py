"""The engine, built from the hub's settings: once per settings version, shared by every
reader and writer of the process.

:class:`EngineParts` is what one version of ``calhub.toml`` makes: the engine
configuration, the audience parser, the clash engine, the title folder, and the
fingerprints the index is written under (a change of one means re-indexing or re-scanning).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from calhub.engine import AudienceParser, ClashEngine, EngineConfig, Occurrence, RuleSettings
from calhub.engine.bulk import ExpandJob, expand_object
from calhub.engine.titles import TitleFolder

if TYPE_CHECKING:
    from calhub.hub.settings import CalendarSettings, Settings


@dataclass(frozen=True)
class EngineParts:
    settings: Settings
    config: EngineConfig
    parser: AudienceParser
    engine: ClashEngine
    fold_title: TitleFolder
    rules_fingerprint: str
    calendar_fingerprints: dict[str, str]

    def calendar_fingerprint(self, calendar: CalendarSettings) -> str:
        """What the index rows of a calendar depend on; a change means re-indexing it."""
        known = self.calendar_fingerprints.get(calendar.id)
        return known or calendar_fingerprint(self.settings, calendar)

    def expand(self, calendar: CalendarSettings, text: str) -> list[Occurrence]:
        """The occurrences of one stored object of ``calendar`` (may raise
        ``InvalidCalendarData`` and the parsers' own errors)."""
        return expand_object(expand_job(calendar, text), self.config, self.parser)


def build_parts(settings: Settings) -> EngineParts:
    config = engine_config(settings)
    parser = AudienceParser(dict(settings.groups))
    return EngineParts(
        settings=settings,
        config=config,
        parser=parser,
        engine=ClashEngine(config),
        fold_title=TitleFolder(parser),
        rules_fingerprint=digest(config),
        calendar_fingerprints={c.id: calendar_fingerprint(settings, c) for c in settings.calendars},
    )


def engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(
        tz=settings.timezone,
        horizon_past_days=settings.horizon_past_days,
        horizon_future_days=settings.horizon_future_days,
        max_occurrences_per_event=settings.max_occurrences_per_event,
        groups=dict(settings.groups),
        venue_aliases=dict(settings.venue_aliases),
        rules={
            name: RuleSettings(enabled=rule.enabled, severity=rule.severity, params=rule.params)
            for name, rule in settings.rules.items()
        },
        calendar_names={calendar.id: calendar.name for calendar in settings.calendars},
    )


def expand_job(calendar: CalendarSettings, text: str) -> ExpandJob:
    return ExpandJob(calendar.id, calendar.audience, calendar.role == "blackout", text)


def digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def calendar_fingerprint(settings: Settings, calendar: CalendarSettings) -> str:
    return digest(
        calendar.id,
        calendar.role,
        calendar.audience,
        settings.timezone,
        settings.horizon_past_days,
        settings.horizon_future_days,
        settings.max_occurrences_per_event,
        dict(settings.groups),
        dict(settings.venue_aliases),
    )
