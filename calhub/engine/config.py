"""Engine settings: the hub builds these from ``calhub.toml``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["SEVERITIES", "EngineConfig", "RuleSettings"]

SEVERITIES = ("hard", "soft")


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """Per-rule overrides. A rule missing from :attr:`EngineConfig.rules` uses the defaults.

    ``params`` are rule specific: each rule class declares the keys it takes, with
    types, bounds and defaults, in ``options`` (:mod:`calhub.engine.rules.spec`), and
    refuses any other (for example ``{"gap_minutes": 30}`` for travel).
    """

    enabled: bool = True
    severity: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity is not None and self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Everything the engine needs to know; it reads no files and no globals.

    ``tz`` is the hub's time zone: floating times and all-day dates are read in it,
    and "the same day" / "the same week" are days and weeks there.
    """

    tz: str = "Europe/Kaliningrad"
    horizon_past_days: int = 366
    horizon_future_days: int = 731
    max_occurrences_per_event: int = 1000
    groups: Mapping[str, Sequence[str]] = field(default_factory=dict)
    venue_aliases: Mapping[str, str] = field(default_factory=dict)
    rules: Mapping[str, RuleSettings] = field(default_factory=dict)
    # Calendar id -> display name, so messages say «БФУ им. И. Канта», not "bfu".
    calendar_names: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {self.tz!r}") from error
        if self.horizon_past_days < 0 or self.horizon_future_days < 0:
            raise ValueError("horizon days must not be negative")
        if self.max_occurrences_per_event < 1:
            raise ValueError("max_occurrences_per_event must be at least 1")

    @property
    def zone(self) -> ZoneInfo:
        """The hub time zone (ZoneInfo caches instances, so this is cheap)."""
        return ZoneInfo(self.tz)

    def rule(self, name: str) -> RuleSettings:
        return self.rules.get(name) or RuleSettings()
