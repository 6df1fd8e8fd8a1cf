"""Matching the partner names a sheet has to the hub's calendars.

People write «БФУ им. И. Канта», "бфу", «Балтийский федеральный университет» or the
calendar's id; all of them should name the calendar ``bfu``. A name is compared by keys:
lower case, ``ё`` as ``е``, without quotes and punctuation; the part before «им.» /
«имени» (the patron's name is often left out); and the initials of its words (an
abbreviation). A mapping file's ``[partners]`` aliases come first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from calhub.hub.settings import CalendarSettings

__all__ = ["PartnerMatcher", "name_keys"]

_SMALL_WORDS = frozenset({"и", "им", "имени", "of", "the", "and", "в", "по", "г"})


def _plain(text: str) -> str:
    value = text.lower().replace("ё", "е")
    value = re.sub(r"[«»\"'“”„‘’`]", " ", value)
    value = re.sub(r"[^\w ]+", " ", value)
    return " ".join(value.split())


def name_keys(text: str) -> set[str]:
    """The keys a name is known by (see the module's docstring)."""
    plain = _plain(text)
    if not plain:
        return set()
    keys = {plain, plain.replace(" ", "")}
    words = plain.split()
    for cut in ("им", "имени"):
        if cut in words[1:]:
            words = words[: words.index(cut)]
            keys.add(" ".join(words))
    significant = [w for w in words if w not in _SMALL_WORDS]
    if len(significant) >= 2:
        keys.add("".join(w[0] for w in significant))
    return keys


class PartnerMatcher:
    """Finds the calendar a sheet's partner name means."""

    def __init__(
        self, calendars: Iterable[CalendarSettings], aliases: Mapping[str, str] | None = None
    ) -> None:
        self.calendars = {c.id: c for c in calendars if not c.archived}
        self._aliases = {_plain(k): v for k, v in (aliases or {}).items()}
        self._by_key: dict[str, set[str]] = {}
        for calendar in self.calendars.values():
            for key in name_keys(calendar.name) | {calendar.id.lower()}:
                self._by_key.setdefault(key, set()).add(calendar.id)

    def unknown_aliases(self) -> list[str]:
        """Aliases naming a calendar the hub does not have."""
        return sorted(v for v in set(self._aliases.values()) if v not in self.calendars)

    def match(self, name: str) -> CalendarSettings | None:
        """The calendar ``name`` means, or None when none or more than one fits."""
        alias = self._aliases.get(_plain(name))
        if alias is not None:
            return self.calendars.get(alias)
        if name.strip() in self.calendars:
            return self.calendars[name.strip()]
        found: set[str] = set()
        for key in name_keys(name):
            found |= self._by_key.get(key, set())
        if len(found) == 1:
            return self.calendars[found.pop()]
        return None
