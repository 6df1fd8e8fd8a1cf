"""One clash record per rule and pair of events, listing the occurrences where they clash.

The engine finds clashes occurrence by occurrence: a daily series in the assembly hall
clashes with a weekly lesson at every date they share, each an engine clash of its own with
an id pinned by its occurrences (:func:`calhub.engine.clash.pair_clash_id`). Recording
each of them made one write flood the records (issue 11): here the pair clashes of one
rule between the same two events become one record, whose *instances* are the engine
clashes it stands for. Its id depends on the rule and the two events only (calendar and
UID of each), so it stays the same while the series grow, shrink or move, and approvals
stay attached to it.

A group rule (overload) finds one clash per grade and week. Its records follow the same
idea: one record per rule and *set* of events, whose instances are the grade-weeks those
events overload together (a daily series for grades 5-11 overloads 7 grades in every week
of the horizon: one record, not hundreds). A grade-week whose events change moves to the
record of its new set of events.
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
from calhub.store.sqlitedb import utc_text

__all__ = ["Instance", "RecordGroup", "group_clashes", "is_group_rule", "record_id"]


def is_group_rule(rule: str) -> bool:
    found = registry().get(rule)
    return bool(found is not None and found.is_group_rule)


def event_record_id(rule: str, first: tuple[str, str], second: tuple[str, str]) -> str:
    """The record id of ``rule`` between two events, (calendar, uid) each, in key order.

    The literal part ``events`` keeps these digests apart from the engine's own ids."""
    return clash_id(rule, "events", "\x1e".join(first), "\x1e".join(second))


def event_set_record_id(rule: str, events: Iterable[tuple[str, str]]) -> str:
    """The record id of a group rule's clashes among exactly these (calendar, uid) events."""
    return clash_id(rule, "event set", *("\x1e".join(e) for e in sorted(set(events))))


def record_id(clash: Clash) -> str:
    """The id of the record an engine clash belongs to."""
    if is_group_rule(clash.rule):
        return event_set_record_id(clash.rule, (o.event_key for o in clash.occurrences))
    if len(clash.occurrences) != 2:
        return clash.id
    first, second = clash.occurrences
    return event_record_id(clash.rule, first.event_key, second.event_key)


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
        return [
            Instance(
                clash.id,
                utc_text(min(o.start for o in clash.occurrences)),
                utc_text(max(o.end for o in clash.occurrences)),
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
        return messages(
            self.rule,
            self.first.message_ru,
            self.first.message_en,
            [c.earliest for c in self.clashes],
            wording,
        )


def messages(
    rule: str, ru: str, en: str, starts: Sequence[dt.datetime], wording: Wording
) -> tuple[str, str]:
    """A pair record's messages: its first clash's, then how many and from when to when. A
    group rule's record says it by its first clash (its count is shown with it)."""
    if len(starts) <= 1 or is_group_rule(rule):
        return ru, en
    count = len(starts)
    first = min(starts).astimezone(wording.zone)
    last = max(starts).astimezone(wording.zone)
    span_ru = f"с {first:%d.%m.%Y} по {last:%d.%m.%Y}"
    span_en = f"from {first:%Y-%m-%d} to {last:%Y-%m-%d}"
    return (
        f"{ru} Всего совпадений: {count}, {span_ru}.",
        f"{en} {count} occurrences in all, {span_en}.",
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
