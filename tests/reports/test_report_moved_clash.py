"""A clash settled by moving an event as the coordinator asked: the report counts it
resolved, moved on request and settled before the event, with its time to settle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers import PASSWORDS, request
from small_term_support import FIRST, LAST, NOW, TERM_DIR

from calhub.dav.maintenance import open_runtime
from calhub.dav.storage import open_storage
from calhub.hub import Hub
from calhub.reports.collect import ObjectMemo, make_report

OLYMPIAD = TERM_DIR / "bfu--olympiad-dtstamp-only.ics"
ROBOTICS = TERM_DIR / "kgtu--robotics-changed-late-clashes-with-olympiad.ics"


def put(server: Any, login: str, path: str, body: bytes) -> None:
    answer = request(
        server.url,
        "PUT",
        path,
        login,
        PASSWORDS[login],
        body=body,
        headers={"Content-Type": "text/calendar; charset=utf-8"},
    )
    assert answer.status in (201, 204), answer.text


def test_a_clash_moved_on_request(fresh_hub: Any) -> None:
    server = fresh_hub()
    put(server, "bfu", "/dav/bfu/calendar/olympiad.ics", OLYMPIAD.read_bytes())
    put(server, "kgtu", "/dav/kgtu/calendar/robotics.ics", ROBOTICS.read_bytes())
    listing = request(server.url, "GET", "/api/conflicts", "coordinator", PASSWORDS["coordinator"])
    records = json.loads(listing.text)
    assert [r["rule"] for r in records] == ["audience"]
    clash = records[0]["id"]
    root: Path = server.data_dir
    runtime = open_runtime(Hub(root))
    try:
        asked = runtime.move_requests.ask(
            clash,
            calendar="kgtu",
            uid="report-robotics@test",
            recurrence_id="",
            summary="Робототехника [9]",
            by="coordinator",
            comment="Перенесите, пожалуйста, на пятницу",
            slots=[],
        )
        runtime.move_requests.answer(asked.id, by="kgtu", accepted=True)
        # A report made now keeps what each object said (as the web does between reports).
        memo = ObjectMemo()
        before = make_report(runtime, open_storage(runtime), FIRST, LAST, now=NOW, memo=memo)
    finally:
        runtime.close()
    assert next(r for r in before.partners if r.partner == "kgtu").changed_late == 1
    # kgtu moves it to Friday 19 March, the same hours; its app writes a LAST-MODIFIED of
    # long before (a client's clock, say): the report must read the new object, not the memo.
    moved = (
        ROBOTICS.read_text(encoding="utf-8")
        .replace("20270318T", "20270319T")
        .replace("LAST-MODIFIED:20270315T080000Z", "LAST-MODIFIED:20270101T080000Z")
    )
    put(server, "kgtu", "/dav/kgtu/calendar/robotics.ics", moved.encode("utf-8"))
    runtime = open_runtime(Hub(root))
    try:
        report = make_report(runtime, open_storage(runtime), FIRST, LAST, now=NOW, memo=memo)
    finally:
        runtime.close()
    figures = report.school_figures.clashes
    assert (figures.found, figures.open, figures.approved, figures.resolved) == (1, 0, 0, 1)
    assert (figures.moved_on_request, figures.settled_before) == (1, 1)
    assert figures.settle_hours_median is not None and 0 <= figures.settle_hours_median < 1
    assert report.school_figures.settled_before_share == 100.0
    kgtu = next(row for row in report.partners if row.partner == "kgtu")
    assert (kgtu.events, kgtu.clashes.moved_on_request, kgtu.changed_late) == (1, 1, 0)
    assert {row.grade: row.open_clashes for row in report.grades}[9] == 0
    assert {row.grade: row.clashes for row in report.grades}[9] == 1
    # Moved to the 19th, still in the range: both events count.
    assert report.school_figures.events == 2
