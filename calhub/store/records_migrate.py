"""Regrouping an older ``hub.sqlite`` in place: one record per rule and pair of events.

Before :mod:`calhub.store.record_groups`, every pair of clashing occurrences was a record of its
own, approved one by one. Here the records of one rule between the same two events are
merged into the record of that pair of events, each old record becoming one of its
instances, and what people did is kept:

- the history and set-aside approvals of the old records move to the new one;
- the approvals of the old records become one approval of the new record, for the union of
  the versions approved (by whoever approved last, with that comment). When that union
  covers every occurrence still clashing, unchanged, the new record is approved; otherwise
  some dates were never approved, so the record is open and the approval is set aside: it
  applies again should the clash shrink back to the dates approved.

Overload records of one grade-week merge the same way into the record of their set of
events, each grade-week an instance. A record of no two events keeps its id, and records
already of events stay as they are. Runs inside the caller's transaction.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from calhub.store.clash_versions import changes, key, version
from calhub.store.record_groups import (
    event_record_id,
    event_set_record_id,
    is_group_rule,
    stored_pair_events,
)

logger = logging.getLogger(__name__)

Row = tuple[Any, ...]


@dataclass(slots=True)
class _Merged:
    rule: str
    severity: str
    rows: list[Row] = field(default_factory=list)


def _occurrences(text: str) -> list[dict[str, Any]]:
    loaded = json.loads(text) if text else []
    return loaded if isinstance(loaded, list) else []


def _union(lists: Sequence[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    found = {key(o): o for occurrences in lists for o in occurrences}
    return [found[k] for k in sorted(found)]


def _text(occurrences: list[dict[str, Any]]) -> str:
    return json.dumps(occurrences, ensure_ascii=False)


def _span(occurrences: list[dict[str, Any]]) -> tuple[str, str]:
    if not occurrences:
        return "", ""
    return min(o["start"] for o in occurrences), max(o["end"] for o in occurrences)


def group_existing(db: sqlite3.Connection) -> int:
    """Merge records of occurrences (pairs) and of one grade-week (overload) into records
    of events; returns how many records were merged. Records already of events stay."""
    columns = (
        "id, rule, severity, resolved, first_start, detected_at, resolved_at, occurrences, "
        "message_ru, message_en"
    )
    merged: dict[str, _Merged] = {}
    for row in db.execute(f"SELECT {columns} FROM clashes").fetchall():
        occurrences = _occurrences(row[7])
        events = stored_pair_events(occurrences)
        if is_group_rule(row[1]) and events:
            gid = event_set_record_id(row[1], events)
        elif len(events) == 2:
            gid = event_record_id(row[1], events[0], events[1])
        else:
            _keep(db, row[0], occurrences)
            continue
        if gid != row[0]:
            merged.setdefault(gid, _Merged(row[1], row[2])).rows.append(row)
    for gid, group in merged.items():
        _merge(db, gid, group)
    if merged:
        logger.info(
            "hub.sqlite regrouped: %d clash records of occurrences became %d of events",
            sum(len(g.rows) for g in merged.values()),
            len(merged),
        )
    return sum(len(g.rows) for g in merged.values())


def _keep(db: sqlite3.Connection, clash_id: str, occurrences: list[dict[str, Any]]) -> None:
    """A record of no two events that keeps its id, as its one instance."""
    start, end = _span(occurrences)
    instances = [(clash_id, start, end, _text(occurrences))] if occurrences else []
    db.executemany(
        "INSERT OR REPLACE INTO clash_instances (clash_id, instance, start_at, end_at, "
        "occurrences) VALUES (?, ?, ?, ?, ?)",
        [(clash_id, *instance) for instance in instances],
    )
    db.execute(
        "UPDATE clashes SET instances=?, last_end=?, version=? WHERE id=?",
        (len(instances), end, version(occurrences), clash_id),
    )


def _merge(db: sqlite3.Connection, gid: str, group: _Merged) -> None:
    rows = sorted(group.rows, key=lambda r: (r[4], r[0]))
    old_ids = [r[0] for r in rows]
    live = [r for r in rows if not r[3]]
    shown = live or rows
    current = _union([_occurrences(r[7]) for r in shown])
    start, end = _span(current)
    resolved_at = None if live else max((r[6] or "") for r in rows) or None
    count = len(shown)
    first = shown[0]
    message_ru, message_en = first[8], first[9]
    if count > 1 and not is_group_rule(group.rule):
        # Rewritten with dates by the next sync (an empty fingerprint differs from any).
        message_ru += f" Всего совпадений: {count}."
        message_en += f" {count} occurrences in all."
    marks = ",".join("?" * len(old_ids))
    # Placeholders and constant table names only in the SQL built here.
    sql = f"SELECT approved_by, approved_at, comment, occurrences FROM approvals WHERE clash_id IN ({marks}) ORDER BY approved_at"  # noqa: E501
    approvals = db.execute(sql, old_ids).fetchall()
    for table, column in (
        ("approvals", "clash_id"),
        ("clash_members", "clash_id"),
        ("clash_instances", "clash_id"),
        ("clashes", "id"),
    ):
        db.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", old_ids)
    db.execute(
        "INSERT INTO clashes (id, rule, severity, resolved, first_start, detected_at, "
        "resolved_at, occurrences, message_ru, message_en, fingerprint, instances, last_end, "
        "version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?)",
        (
            gid,
            group.rule,
            "hard" if any(r[2] == "hard" for r in rows) else group.severity,
            0 if live else 1,
            start,
            min(r[5] for r in rows),
            resolved_at,
            _text(current),
            message_ru,
            message_en,
            count,
            end,
            version(current),
        ),
    )
    db.executemany(
        "INSERT OR REPLACE INTO clash_instances (clash_id, instance, start_at, end_at, "
        "occurrences) VALUES (?, ?, ?, ?, ?)",
        [(gid, r[0], *_span(_occurrences(r[7])), r[7]) for r in shown],
    )
    if approvals:
        by, at, comment = approvals[-1][:3]
        approved = _text(_union([_occurrences(a[3]) for a in approvals]))
        # Every date still clashing approved as it is: the record is approved; else open.
        table = "past_approvals" if changes(_occurrences(approved), current) else "approvals"
        sql = f"INSERT INTO {table} (clash_id, approved_by, approved_at, comment, occurrences) VALUES (?, ?, ?, ?, ?)"  # noqa: E501
        db.execute(sql, (gid, by, at, comment, approved))
    for table in ("history", "past_approvals"):
        sql = f"UPDATE {table} SET clash_id=? WHERE clash_id IN ({marks})"
        db.execute(sql, [gid, *old_ids])
    db.executemany(
        "INSERT OR IGNORE INTO clash_members VALUES (?, ?, ?)",
        {(gid, o["calendar"], o["uid"]) for o in current},
    )
