"""Clash records as people see them: /api/conflicts and `calhub conflicts`, who may see and
approve what, approvals that survive restarts and index rebuilds, and the index itself
(rebuilt equal to incremental; hostile input never stored)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from clash_support import FIRST_MONDAY, at, conflicts, involving, own_week, put_event
from helpers import PASSWORDS, make_event


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    hub = module_hubs()
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "r-bfu", "Лекция [10]", at(day, 15), at(day, 16))
    put_event(hub, "kgtu", "/kgtu/calendar/", "r-kgtu", "Практикум [10А]", at(day, 15), at(day, 16))
    put_event(
        hub,
        "coordinator",
        "/school/calendar/",
        "r-school",
        "Собрание [5]",
        at(day, 9),
        at(day, 10),
        location="Актовый зал",
    )
    put_event(
        hub,
        "coordinator",
        "/school/calendar/",
        "r-school2",
        "Концерт [6]",
        at(day, 9),
        at(day, 10),
        location="Актовый зал",
    )
    return hub


def post_json(
    hub: Any, path: str, login: str, body: Any, content_type: str = "application/json"
) -> Any:
    return hub.request(
        "POST",
        path,
        login,
        PASSWORDS[login],
        body=json.dumps(body),
        headers={"Content-Type": content_type},
    )


def clash_id(hub: Any, *uids: str) -> str:
    [record] = [r for r in involving(conflicts(hub), *uids) if r["severity"] == "hard"]
    return str(record["id"])


def test_api_shape(hub: Any) -> None:
    [record] = [r for r in involving(conflicts(hub), "r-bfu", "r-kgtu") if r["rule"] == "audience"]
    assert {"id", "rule", "severity", "status", "occurrences"} <= set(record)
    for occurrence in record["occurrences"]:
        assert set(occurrence) >= {
            "calendar",
            "uid",
            "recurrence_id",
            "summary",
            "start",
            "end",
            "location",
            "audience",
        }


def test_partner_sees_only_clashes_of_its_own_calendar(hub: Any) -> None:
    seen_by_bfu = conflicts(hub, "bfu")
    assert seen_by_bfu, "bfu has a clash with kgtu"
    assert all(any(o["calendar"] == "bfu" for o in r["occurrences"]) for r in seen_by_bfu)
    assert involving(seen_by_bfu, "r-school", "r-school2") == []
    assert involving(conflicts(hub), "r-school", "r-school2")
    hidden = clash_id(hub, "r-school", "r-school2")
    assert hub.request("GET", f"/api/conflicts/{hidden}", "bfu", PASSWORDS["bfu"]).status == 404


def test_api_needs_a_login(hub: Any) -> None:
    response = hub.request("GET", "/api/conflicts")
    assert response.status == 401
    assert response.header("www-authenticate").lower().startswith("basic")
    wrong = hub.request("GET", "/api/conflicts", "bfu", "wrong-password")
    assert wrong.status == 401


def test_filters_and_bad_filters(hub: Any) -> None:
    day = FIRST_MONDAY
    assert all(r["status"] == "open" for r in conflicts(hub, query="?status=open"))
    only_school = conflicts(hub, query="?calendar=school")
    assert only_school and all(
        any(o["calendar"] == "school" for o in r["occurrences"]) for r in only_school
    )
    assert conflicts(hub, query=f"?to={day.replace(year=day.year - 5).isoformat()}") == []
    for query in ("?status=maybe", "?from=yesterday", "?calendar=nobody", "?severity=mild"):
        response = hub.request(
            "GET", f"/api/conflicts{query}", "coordinator", PASSWORDS["coordinator"]
        )
        assert response.status == 400, query
        assert json.loads(response.text)["error"]


def test_only_a_coordinator_approves_and_a_comment_is_needed(hub: Any) -> None:
    target = clash_id(hub, "r-bfu", "r-kgtu")
    path = f"/api/conflicts/{target}/approve"
    assert post_json(hub, path, "bfu", {"comment": "мне можно?"}).status == 403
    assert post_json(hub, path, "coordinator", {"comment": "  "}).status == 400
    # A cross-site form cannot send JSON without a preflight: form posts are refused.
    assert post_json(hub, path, "coordinator", {"comment": "x"}, "text/plain").status == 400
    assert (
        post_json(hub, "/api/conflicts/nope/approve", "coordinator", {"comment": "x"}).status == 404
    )
    approved = post_json(hub, path, "coordinator", {"comment": "Группы разведены по времени"})
    assert approved.status == 200
    record = json.loads(approved.text)
    assert record["status"] == "approved"
    assert record["approval"]["by"] == "coordinator"
    assert record["approval"]["comment"] == "Группы разведены по времени"
    detail = hub.request("GET", f"/api/conflicts/{target}", "bfu", PASSWORDS["bfu"])
    assert [h["action"] for h in json.loads(detail.text)["history"]][:2] == ["approved", "detected"]
    reopened = post_json(hub, f"/api/conflicts/{target}/reopen", "coordinator", {"comment": "нет"})
    assert json.loads(reopened.text)["status"] == "open"
    post_json(hub, path, "coordinator", {"comment": "Согласовано"})


def test_cli_conflicts_matches_the_api_and_exits_1_on_open_hard_clashes(
    hub: Any, runner: Any
) -> None:
    code, out, err = runner("conflicts", "--json", "--data", str(hub.data_dir))
    assert code == 1, err
    assert json.loads(out) == conflicts(hub)
    code, out, _ = runner("conflicts", "--data", str(hub.data_dir))
    assert code == 1 and "open" in out
    code, out, _ = runner("conflicts", "--status", "approved", "--data", str(hub.data_dir))
    assert code == 0
    code, _, err = runner("conflicts", "--from", "someday", "--data", str(hub.data_dir))
    assert code == 2 and "is not a date" in err and "YYYY-MM-DD" in err
    code, _, err = runner("conflicts", "--calendar", "nobody", "--data", str(hub.data_dir))
    assert code == 2 and "partner list" in err


def index_snapshot(data_dir: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with sqlite3.connect(data_dir / "index.sqlite") as db:
        items = sorted(db.execute("SELECT calendar, href, uid, etag FROM items"))
        occurrences = sorted(
            db.execute(
                "SELECT calendar, uid, recurrence_id, start, end, venue, audience FROM occurrences"
            )
        )
    return items, occurrences


def test_rebuild_equals_the_incremental_index_and_keeps_approvals(hub: Any, runner: Any) -> None:
    before = index_snapshot(hub.data_dir)
    records_before = conflicts(hub)
    assert any(r["status"] == "approved" for r in records_before)
    code, out, err = runner("index", "rebuild", "--data", str(hub.data_dir))
    assert code == 0, err
    assert "Rebuilt the index" in out
    assert index_snapshot(hub.data_dir) == before
    assert conflicts(hub) == records_before
    # The running server writes into the same, rebuilt index (not a deleted file).
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "after-rebuild", "Лекция [5]", at(day, 9), at(day, 10))
    code, out, _ = runner("index", "verify", "--data", str(hub.data_dir))
    assert code == 0 and "agrees" in out


def test_index_is_a_cache_deleted_or_corrupt_it_is_rebuilt(fresh_hub: Any) -> None:
    data_dir = fresh_hub.create()
    first = fresh_hub.serve(data_dir)
    day = own_week()
    put_event(first, "bfu", "/bfu/calendar/", "c-a", "Лекция [11]", at(day, 15), at(day, 16))
    put_event(first, "kgtu", "/kgtu/calendar/", "c-b", "Лекция [11А]", at(day, 15), at(day, 16))
    target = clash_id(first, "c-a", "c-b")
    post_json(first, f"/api/conflicts/{target}/approve", "coordinator", {"comment": "ок"})
    before = index_snapshot(data_dir)
    first.stop()
    (data_dir / "index.sqlite").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (data_dir / f"index.sqlite{suffix}").unlink(missing_ok=True)
    second = fresh_hub.serve(data_dir)
    assert index_snapshot(data_dir) == before
    [record] = [r for r in involving(conflicts(second), "c-a", "c-b") if r["rule"] == "audience"]
    assert record["status"] == "approved"


def test_events_changed_behind_the_hubs_back_are_found_by_verify(hub: Any, runner: Any) -> None:
    calendar_dir = hub.data_dir / "storage" / "collection-root" / "bfu" / "calendar"
    day = own_week()
    (calendar_dir / "sneaky.ics").write_text(
        make_event("sneaky", "Лекция [10Б]", at(day, 15), at(day, 16)), encoding="utf-8"
    )
    code, out, _ = runner("index", "verify", "--data", str(hub.data_dir))
    assert code == 1 and "bfu" in out and "repair" in out
    code, out, _ = runner("index", "verify", "--repair", "--data", str(hub.data_dir))
    assert code == 0
    code, out, _ = runner("index", "verify", "--data", str(hub.data_dir))
    assert code == 0


HOSTILE = {
    "rrule-secondly-unbounded": make_event(
        "bomb1", "Бомба [5]", at(own_week(), 10), at(own_week(), 11)
    ).replace("END:VEVENT", "RRULE:FREQ=SECONDLY\r\nEND:VEVENT"),
    "rrule-secondly-from-1970": make_event(
        "bomb2",
        "Бомба [5]",
        at(own_week().replace(year=1970), 10),
        at(own_week().replace(year=1970), 11),
    ).replace("END:VEVENT", "RRULE:FREQ=SECONDLY;COUNT=999999999\r\nEND:VEVENT"),
    "unknown-timezone": make_event(
        "tz", "Лекция [5]", at(own_week(), 10), at(own_week(), 11)
    ).replace("TZID=Europe/Kaliningrad", "TZID=Mars/Olympus_Mons"),
    "not-utf8": "BEGIN:VCALENDAR\r\nSUMMARY:\xff\xfe\r\n",
    "no-dtstart": (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:nodt\r\n"
        "DTSTAMP:20250101T000000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_gets_a_4xx_stores_nothing_and_the_server_stays_up(
    hub: Any, case: str
) -> None:
    text = HOSTILE[case]
    body = text.encode("latin-1") if case == "not-utf8" else text.encode()
    response = hub.request(
        "PUT",
        f"/dav/bfu/calendar/hostile-{case}.ics",
        "bfu",
        PASSWORDS["bfu"],
        body=body,
        headers={"Content-Type": "text/calendar"},
        timeout=30,
    )
    assert 400 <= response.status < 500, (case, response.status, response.text[:300])
    assert response.text.strip(), "a readable reason"
    stored = hub.request("GET", f"/dav/bfu/calendar/hostile-{case}.ics", "bfu", PASSWORDS["bfu"])
    assert stored.status == 404
    assert hub.request("GET", "/healthz").status == 200
