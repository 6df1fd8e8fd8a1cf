"""Shared fixtures of the clash-engine tests: frozen time, fixture files, occurrence factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from calhub.engine import (
    Audience,
    AudienceParser,
    EngineConfig,
    Occurrence,
    expand_calendar,
    normalise_venue,
)

ICS_DIR = Path(__file__).resolve().parents[1] / "ics"
NOW = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def ics() -> Callable[[str], str]:
    def read(name: str) -> str:
        return (ICS_DIR / name).read_text(encoding="utf-8")

    return read


@pytest.fixture(scope="session")
def config() -> EngineConfig:
    return EngineConfig(groups={"инженерный профиль": ["10А", "11А"]})


@pytest.fixture(scope="session")
def parser(config: EngineConfig) -> AudienceParser:
    return AudienceParser(config.groups)


@pytest.fixture(scope="session")
def expand(
    ics: Callable[[str], str], config: EngineConfig, parser: AudienceParser
) -> Callable[..., list[Occurrence]]:
    def run(name: str, calendar: str = "test", **kwargs: Any) -> list[Occurrence]:
        kwargs.setdefault("now", NOW)
        kwargs.setdefault("config", config)
        if kwargs["config"] is not config:
            kwargs.setdefault("parser", AudienceParser(kwargs["config"].groups))
        kwargs.setdefault("parser", parser)
        return sorted(
            expand_calendar(ics(name), calendar=calendar, **kwargs), key=lambda o: (o.start, o.key)
        )

    return run


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A UTC instant in 2025 (Kaliningrad is UTC+2, Moscow UTC+3 all year)."""
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="session")
def make_occ(parser: AudienceParser) -> Callable[..., Occurrence]:
    """Occurrence factory: ``make_occ("a", "10А", 10, 60)`` starts at 10:00 UTC on 12 March."""

    def make(
        uid: str,
        audience: str = "10",
        start: datetime | int = 10,
        minutes: int = 60,
        *,
        calendar: str = "cal",
        recurrence_id: str = "",
        summary: str | None = None,
        location: str = "",
        all_day: bool = False,
        is_blackout: bool = False,
    ) -> Occurrence:
        begin = at(12, start) if isinstance(start, int) else start
        parsed = parser.parse(audience)
        assert parsed is not None, audience
        return Occurrence(
            calendar=calendar,
            uid=uid,
            recurrence_id=recurrence_id,
            summary=uid if summary is None else summary,
            start=begin,
            end=begin + timedelta(minutes=minutes),
            all_day=all_day,
            location=location,
            venue=normalise_venue(location, {}),
            audience=parsed if audience else Audience(),
            audience_source="test",
            is_blackout=is_blackout,
        )

    return make
