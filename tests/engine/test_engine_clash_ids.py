"""Clash ids are stored with approvals and history, so they never change between versions:
a pair clash's id is the sha256 of the rule and both occurrence keys, as written here."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime

from helpers import hour_long_occurrence

from calhub.engine import Occurrence
from calhub.engine.clash import clash_id, pair_clash_id

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def occurrence(calendar: str, uid: str, recurrence_id: str) -> Occurrence:
    return replace(
        hour_long_occurrence(calendar, uid, START, "Лекция"), recurrence_id=recurrence_id
    )


def test_pair_clash_ids_are_the_documented_digest() -> None:
    first = occurrence("bfu", "лекция-ё@bfu.ru", "20260302T090000Z")
    second = occurrence("kgtu", "seminar", "")
    text = "audience\x1fbfu\x1eлекция-ё@bfu.ru\x1e20260302T090000Z\x1fkgtu\x1eseminar\x1e"
    expected = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    assert pair_clash_id("audience", first, second) == expected
    assert clash_id("audience", "\x1e".join(first.key), "\x1e".join(second.key)) == expected
