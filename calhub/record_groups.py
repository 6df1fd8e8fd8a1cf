"""One clash record per rule and pair of events, listing the occurrences where they clash.

The engine finds clashes occurrence by occurrence: a daily series in the assembly hall
clashes with a weekly lesson at every date they share, each an engine clash of its own with
an id pinned by its occurrences (:func:`calhub.engine.clash.pair_clash_id`). Recording
each of them made one write flood the records (issue 11): here the pair clashes of one
rule between the same two events become one record, whose *instances* are the engine
clashes it stands for. Its id depends on the rule and the two events only (calendar and
UID of each), so it stays the same while the series grow, shrink or move, and approvals
stay attached to it. A group rule (overload) already records one clash per grade and
week; its record keeps the engine's id and lists each event of the week as an instance.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from calhub.engine import Clash, Occurrence
from calhub.engine.clash import clash_id
from calhub.engine.messages import Wording
from calhub.engine.rules import registry

__all__ = ["Instance", "RecordGroup", "group_clashes", "is_group_rule", "record_id"]


def is_group_rule(rule: str) -> bool:
    found = registry().get(rule)
    return bool(found is not None and found.is_group_rule)


def event_record_id(rule: str, first: tuple[str, str], second: tuple[str, str]) -> str:
    """The record id of ``rule`` between two events, (calendar, uid) each, in key order.

    The literal part ``events`` keeps these digests apart from the engine's own ids."""
    return clash_id(rule, "events", "\x1e".join(first), "\x1e".join(second))


def record_id(clash: Clash) -> str:
    """The id of the record an engine clash belongs to."""
    if is_group_rule(clash.rule) or len(clash.occurrences) != 2:
        return clash.id
    first, second = clash.occurrences
    return event_record_id(clash.rule, first.event_key, second.event_key)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Instance:
    """One place where a record's clash happens: an engine pair clash, or one event of a
    group clash. ``key`` is unique within its record."""

    key: str
    start: str
    end: str
    occurrences: tuple[Occurrence, ...]


@dataclass(slots=True)
class RecordGroup:
    """The engine clashes of one record, earliest first."""

    id: str
    clashes: list[Clash] = field(default_factory=list)

    @property
    def first(self) -> Clash:
        return self.clashes[0]

    @property
    def rule(self) -> str:
        return self.first.rule

    @property
    def severity(self) -> str:
        # One rule, one severity: the hardest, should a configuration change mix them.
        return "hard" if any(c.severity == "hard" for c in self.clashes) else self.first.severity

    def occurrences(self) -> list[Occurrence]:
        """Every occurrence of the record once, in key order: the version an approval keeps."""
        found = {o.key: o for clash in self.clashes for o in clash.occurrences}
        return [found[key] for key in sorted(found)]

    def instances(self) -> list[Instance]:
        if is_group_rule(self.rule):
            return [
                Instance("\x1e".join(o.key), iso(o.start), iso(o.end), (o,))
                for clash in self.clashes
                for o in clash.occurrences
            ]
        return [
            Instance(
                clash.id,
                iso(min(o.start for o in clash.occurrences)),
                iso(max(o.end for o in clash.occurrences)),
                tuple(clash.occurrences),
            )
            for clash in self.clashes
        ]

    def fingerprint(self, each: Sequence[str]) -> str:
        """One digest of the fingerprints of its clashes (``each``, in clash order)."""
        digest = hashlib.blake2b(digest_size=16)
        for part in sorted(each):
            digest.update(part.encode())
        return digest.hexdigest()

    def messages(self, wording: Wording) -> tuple[str, str]:
        """The first clash's messages; with more dates, how many and from when to when."""
        ru, en = self.first.message_ru, self.first.message_en
        if is_group_rule(self.rule) or len(self.clashes) == 1:
            return ru, en
        count = len(self.clashes)
        first = min(c.earliest for c in self.clashes).astimezone(wording.zone)
        last = max(c.earliest for c in self.clashes).astimezone(wording.zone)
        return (
            f"{ru} Всего совпадений: {count}, с {first:%d.%m.%Y} по {last:%d.%m.%Y}.",
            f"{en} {count} occurrences in all, from {first:%Y-%m-%d} to {last:%Y-%m-%d}.",
        )


def group_clashes(clashes: Iterable[Clash]) -> dict[str, RecordGroup]:
    """Engine clashes by the record they belong to; each group's clashes earliest first."""
    groups: dict[str, RecordGroup] = {}
    for clash in clashes:
        rid = record_id(clash)
        group = groups.get(rid)
        if group is None:
            group = groups[rid] = RecordGroup(rid)
        group.clashes.append(clash)
    for group in groups.values():
        if len(group.clashes) > 1:
            group.clashes.sort(key=lambda c: (c.earliest, c.id))
    return groups


def stored_pair_events(occurrences: Sequence[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    """The (calendar, uid) events of a stored clash's occurrences, in key order, once each."""
    return tuple(sorted({(o["calendar"], o["uid"]) for o in occurrences}))
