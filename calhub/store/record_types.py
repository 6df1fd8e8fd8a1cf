"""What the clash-record store hands its readers: typed rows, never a cursor or a bare dict.

``as_json()`` of each is the shape ``/api/conflicts`` and ``calhub conflicts --json`` give;
an occurrence stays the JSON object it is stored as (:class:`StoredOccurrence`), because
that is what records, approvals and the API keep and compare.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, NamedTuple, TypedDict


class StoredOccurrence(TypedDict):
    """One occurrence of a clash as stored (times in UTC, ``...Z``)."""

    calendar: str
    uid: str
    recurrence_id: str | None
    summary: str
    start: str
    end: str
    all_day: bool
    location: str
    audience: str


class InstanceMark(NamedTuple):
    """One instance of an unresolved record in a window: what the plan and the board mark."""

    severity: str
    approved: bool
    occurrences: list[StoredOccurrence]
    rule: str


@dataclass(frozen=True, slots=True)
class Message:
    """What calhub says about a clash or a history entry, in Russian and English."""

    ru: str
    en: str

    def text(self, language: str) -> str:
        """In ``language`` (``ru`` or ``en``); Russian when that one is empty."""
        return (self.en if language == "en" else self.ru) or self.ru

    def as_json(self) -> dict[str, str]:
        return {"ru": self.ru, "en": self.en}


@dataclass(frozen=True, slots=True)
class Approval:
    by: str
    at: str
    comment: str

    def as_json(self) -> dict[str, str]:
        return {"by": self.by, "at": self.at, "comment": self.comment}


@dataclass(frozen=True, slots=True)
class Instance:
    """One place a clash happens: when, and the occurrences it is made of."""

    start: str
    end: str
    occurrences: list[StoredOccurrence]

    def as_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "occurrences": self.occurrences}


@dataclass(frozen=True, slots=True)
class ClashRecord:
    """A clash record as people see it, shown by one of its instances (``occurrences``).

    ``count`` is how many times the clash happens (a group clash: how many events it
    holds); ``next_start`` the next start still to come (None: all past). ``instances``
    is filled in only when asked for (:meth:`calhub.store.records.ClashRecords.get`).
    """

    id: str
    rule: str
    severity: str
    status: str
    detected_at: str
    resolved_at: str | None
    approval: Approval | None
    message: Message
    occurrences: list[StoredOccurrence]
    count: int
    first_start: str
    next_start: str | None
    last_end: str
    version: str
    group_rule: bool
    instances: list[Instance] | None = None

    @property
    def calendars(self) -> set[str]:
        """The calendars of the occurrences shown."""
        return {o["calendar"] for o in self.occurrences}

    def shown_by(self, occurrences: list[StoredOccurrence]) -> ClashRecord:
        """The same record, shown by other occurrences (one of its instances)."""
        return dataclasses.replace(self, occurrences=occurrences)

    def with_instances(self, instances: list[Instance]) -> ClashRecord:
        return dataclasses.replace(self, instances=instances)

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "id": self.id,
            "rule": self.rule,
            "severity": self.severity,
            "status": self.status,
            "detected_at": self.detected_at,
            "resolved_at": self.resolved_at,
            "approval": None if self.approval is None else self.approval.as_json(),
            "message": self.message.as_json(),
            "occurrences": self.occurrences,
            "count": self.count,
            "first_start": self.first_start,
            "next_start": self.next_start,
            "last_end": self.last_end,
            "version": self.version,
            "group_rule": self.group_rule,
        }
        if self.instances is not None:
            found["instances"] = [instance.as_json() for instance in self.instances]
        return found


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """Who did what to a clash, or what calhub itself noted (``actor`` ``calhub``)."""

    clash_id: str
    at: str
    actor: str
    action: str
    comment: str
    message: Message

    def as_json(self) -> dict[str, Any]:
        return {
            "clash_id": self.clash_id,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "comment": self.comment,
            "message": self.message.as_json(),
        }
