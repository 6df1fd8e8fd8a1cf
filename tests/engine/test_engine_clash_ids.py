"""Clash ids are stored with approvals and history, so they never change between versions:
a pair clash's id is the sha256 of the rule and both occurrence keys, as written here."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from calhub.engine import Audience, Occurrence
from calhub.engine.clash import clash_id, pair_clash_id

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def occurrence(calendar: str, uid: str, recurrence_id: str) -> Occurrence:
    return Occurrence(
        calendar=calendar,
        uid=uid,
        recurrence_id=recurrence_id,
        summary="Лекция",
        start=START,
        end=START,
        all_day=False,
        location="",
        venue="",
        audience=Audience(frozenset({10})),
        audience_source="test",
        is_blackout=False,
    )


def test_pair_clash_ids_are_the_documented_digest() -> None:
    first = occurrence("bfu", "лекция-ё@bfu.ru", "20260302T090000Z")
    second = occurrence("kgtu", "seminar", "")
    text = "audience\x1fbfu\x1eлекция-ё@bfu.ru\x1e20260302T090000Z\x1fkgtu\x1eseminar\x1e"
    expected = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    assert pair_clash_id("audience", first, second) == expected
    assert clash_id("audience", "\x1e".join(first.key), "\x1e".join(second.key)) == expected
