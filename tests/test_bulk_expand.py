"""A whole rebuild expands objects in worker processes: the same occurrences, in the same
order, as one process gives, and an unreadable object is reported, not fatal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from calhub.engine import EngineConfig
from calhub.engine import bulk as bulk_expand
from calhub.engine.bulk import ExpandJob, expand_all

ICS = Path(__file__).parent / "ics"
NOW = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)


def jobs() -> list[ExpandJob]:
    readable = [
        ExpandJob("bfu", "", False, (ICS / name).read_text(encoding="utf-8"))
        for name in ("recurring_weekly_with_exdate.ics", "allday_multiday.ics")
    ]
    broken = ExpandJob("bfu", "", False, "BEGIN:VCALENDAR\r\nnot a calendar")
    school = ExpandJob("school", "10-11", True, readable[0].text)
    return [*readable * 60, broken, school]


def test_workers_give_what_one_process_gives(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = EngineConfig()
    alone = expand_all(config, jobs(), now=NOW)
    monkeypatch.setattr(bulk_expand, "PARALLEL_FROM", 10)
    monkeypatch.setattr(bulk_expand, "CHUNK", 16)
    monkeypatch.setattr(bulk_expand.os, "cpu_count", lambda: 2)
    with caplog.at_level("INFO", logger="calhub.engine.bulk"):
        shared = expand_all(config, jobs(), now=NOW)
    assert "in 2 processes" in caplog.text
    assert shared == alone
    assert all(occurrences for occurrences, error in alone[:-2] if error is None)
    occurrences, error = alone[-2]
    assert occurrences == [] and error
    blackout, _ = alone[-1]
    assert blackout and all(o.is_blackout and o.calendar == "school" for o in blackout)
