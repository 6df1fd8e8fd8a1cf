"""Typed declarations of a rule's settings: the keys of its ``[rules.NAME]`` table.

Each rule class lists its :class:`Setting` objects in ``BaseRule.options``. The engine reads
a rule's parameters through them (:func:`read_params`), and the hub's config schema
(``calhub/hub/settings.py``) checks ``calhub.toml`` with the very same objects, so a value the
schema accepts is one the rule can use, and the defaults, bounds and help texts the
documentation shows are the ones the rule runs with.

``check`` raises ``ValueError`` whose text completes a sentence about the key ("must be
…"), so the schema can prefix the file, section and key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from calhub.engine.venue import fold_venue

__all__ = ["Flag", "Setting", "SiteMap", "Whole", "read_params"]


@dataclass(frozen=True, slots=True)
class Setting:
    """One key of a rule's table: its name, default, help text and how to check a value."""

    name: str
    default: Any
    help: str

    def check(self, value: Any) -> Any:
        """The value as the rule uses it; ``ValueError`` if it is not allowed."""
        raise NotImplementedError

    @property
    def allowed(self) -> str:
        """What may be written, for error messages and the documentation."""
        return ""

    @property
    def shown_default(self) -> str:
        """The default as it is written in ``calhub.toml``."""
        return str(self.default)


@dataclass(frozen=True, slots=True)
class Whole(Setting):
    """A whole number within bounds (TOML ``true`` is not a number here)."""

    minimum: int = 0
    maximum: int = 1_000_000
    unit: str = ""

    def check(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number, not {value!r}")
        if not self.minimum <= value <= self.maximum:
            raise ValueError(
                f"must be from {self.minimum} to {self.maximum}{self._unit}, not {value}"
            )
        return value

    @property
    def _unit(self) -> str:
        return f" {self.unit}" if self.unit else ""

    @property
    def allowed(self) -> str:
        return f"a whole number from {self.minimum} to {self.maximum}{self._unit}"


@dataclass(frozen=True, slots=True)
class Flag(Setting):
    """``true`` or ``false``."""

    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, not {value!r}")
        return value

    @property
    def allowed(self) -> str:
        return "true, false"

    @property
    def shown_default(self) -> str:
        return "true" if self.default else "false"


@dataclass(frozen=True, slots=True)
class SiteMap(Setting):
    """A table of site name → a venue spelling or a list of them.

    Returns ``{site: (spelling, ...)}``. A spelling must leave a venue key once folded
    (letters or digits), and one spelling may not belong to two sites: the rule could
    not tell which one is meant.
    """

    def check(self, value: Any) -> dict[str, tuple[str, ...]]:
        if not isinstance(value, Mapping):
            raise ValueError(f"must be a table of sites, not {value!r}")
        sites: dict[str, tuple[str, ...]] = {}
        owners: dict[str, str] = {}
        for site, venues in value.items():
            if not isinstance(site, str) or not site.strip():
                raise ValueError("has a site without a name")
            spellings: Sequence[Any] = [venues] if isinstance(venues, str) else venues
            if not isinstance(spellings, list | tuple) or not spellings:
                raise ValueError(f'site {site!r} must list its venues, e.g. ["{site}"]')
            for spelling in spellings:
                if not isinstance(spelling, str) or not fold_venue(spelling):
                    raise ValueError(
                        f"site {site!r} has {spelling!r}, which is not a venue "
                        "(a text with letters or digits)"
                    )
                key = fold_venue(spelling)
                if owners.setdefault(key, site) != site:
                    raise ValueError(f"lists {spelling!r} under both {owners[key]!r} and {site!r}")
            sites[site] = tuple(spellings)
        return sites

    @property
    def allowed(self) -> str:
        return 'a table such as "гимназия" = ["Гимназия", "Спортзал гимназии"]'

    @property
    def shown_default(self) -> str:
        return "{}"


def read_params(rule: str, options: Sequence[Setting], params: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared setting of ``rule``: the checked value from ``params`` or the default.

    A key the rule does not declare is an error: a misspelt key would otherwise be
    ignored and the rule would run with its default without anyone noticing.
    """
    known = {option.name: option for option in options}
    unknown = sorted(set(params) - set(known))
    if unknown:
        allowed = ", ".join(known) or "none"
        raise ValueError(f"rule {rule}: unknown setting {unknown[0]!r} (settings: {allowed})")
    values: dict[str, Any] = {}
    for name, option in known.items():
        if name not in params:
            values[name] = option.default
            continue
        try:
            values[name] = option.check(params[name])
        except ValueError as error:
            raise ValueError(f"rule {rule}: {name} {error}") from error
    return values
