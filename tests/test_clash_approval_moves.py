"""A moved event no longer keeps its clash approval silently (issue 10, point 6), against a
real hub: the coordinator approves a clash through the API, a partner moves its event by a
CalDAV PUT, and the clash is open again with a history entry saying what changed; a new
title keeps the approval; in a ``reject`` calendar the move is refused (409) while it would
change the approved clash; an old hub.sqlite keeps its approvals when the hub starts."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from clash_support import approve, at, conflicts, involving, own_week, put_event, set_policy
from helpers import PASSWORDS


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    return module_hubs()


def audience_clash(hub: Any, *uids: str) -> dict[str, Any]:
    [record] = [r for r in involving(conflicts(hub), *uids) if r["rule"] == "audience"]
    return record


def detail(hub: Any, clash_id: str) -> dict[str, Any]:
    response = hub.request(
        "GET", f"/api/conflicts/{clash_id}", "coordinator", PASSWORDS["coordinator"]
    )
    assert response.status == 200, response.text
    record: dict[str, Any] = json.loads(response.text)
    return record


def two_clashing_events(hub: Any, prefix: str) -> tuple[Any, str]:
    """bfu's lecture for grade 10 and kgtu's practice for 10А, both 15:00–16:00; approved."""
    day = own_week()
    first = put_event(
        hub, "bfu", "/bfu/calendar/", f"{prefix}-a", "Лекция [10]", at(day, 15), at(day, 16)
    )
    second = put_event(
        hub, "kgtu", "/kgtu/calendar/", f"{prefix}-b", "Практикум [10А]", at(day, 15), at(day, 16)
    )
    assert (first.status, second.status) == (201, 201)
    clash_id = audience_clash(hub, f"{prefix}-a", f"{prefix}-b")["id"]
    approve(hub, clash_id)
    assert detail(hub, clash_id)["status"] == "approved"
    return day, clash_id


def test_a_partner_moving_its_event_reopens_the_approved_clash(hub: Any) -> None:
    day, clash_id = two_clashing_events(hub, "mv")
    moved = put_event(
        hub, "bfu", "/bfu/calendar/", "mv-a", "Лекция [10]", at(day, 15, 30), at(day, 16, 30)
    )
    assert moved.status == 204
    record = detail(hub, clash_id)
    assert record["status"] == "open" and record["approval"] is None
    latest = record["history"][0]
    assert (latest["actor"], latest["action"]) == ("calhub", "changed")
    date_ru, date_en = day.strftime("%d.%m.%Y"), day.isoformat()
    assert (
        f"Событие «Лекция [10]» (БФУ им. И. Канта) перенесено: {date_ru} 15:00–16:00 → "
        f"{date_ru} 15:30–16:30." in latest["message"]["ru"]
    )
    assert (
        f'"Лекция [10]" (БФУ им. И. Канта) moved: {date_en} 15:00–16:00 → {date_en} 15:30–16:30.'
        in latest["message"]["en"]
    )
    # The coordinator learns it from the list of open clashes too.
    assert clash_id in {r["id"] for r in conflicts(hub, query="?status=open")}


def test_a_new_title_or_description_keeps_the_approval(hub: Any) -> None:
    day, clash_id = two_clashing_events(hub, "tt")
    renamed = put_event(
        hub,
        "kgtu",
        "/kgtu/calendar/",
        "tt-b",
        "Практикум по химии [10А]",
        at(day, 15),
        at(day, 16),
        description="Возьмите халаты",
    )
    assert renamed.status == 204
    record = detail(hub, clash_id)
    assert record["status"] == "approved"
    assert "Практикум по химии [10А]" in {o["summary"] for o in record["occurrences"]}
    assert [h["action"] for h in record["history"]] == ["approved", "detected"]


def test_another_venue_or_audience_reopens_it_and_going_back_approves_it_again(
    hub: Any,
) -> None:
    day, clash_id = two_clashing_events(hub, "va")
    elsewhere = put_event(
        hub,
        "kgtu",
        "/kgtu/calendar/",
        "va-b",
        "Практикум [10А]",
        at(day, 15),
        at(day, 16),
        location="КГТУ, корпус 3",
    )
    assert elsewhere.status == 204
    record = detail(hub, clash_id)
    assert record["status"] == "open"
    assert "место изменено: (не указано) → КГТУ, корпус 3" in record["history"][0]["message"]["ru"]
    back = put_event(
        hub, "kgtu", "/kgtu/calendar/", "va-b", "Практикум [10А]", at(day, 15), at(day, 16)
    )
    assert back.status == 204
    record = detail(hub, clash_id)
    assert record["status"] == "approved"
    assert record["approval"]["comment"] == "Группы в разных корпусах"
    assert record["history"][0]["action"] == "reapproved"
    wider = put_event(
        hub, "bfu", "/bfu/calendar/", "va-a", "Лекция [10-11]", at(day, 15), at(day, 16)
    )
    assert wider.status == 204
    record = detail(hub, clash_id)
    assert record["status"] == "open"
    assert "участники изменены: 10 → 10–11" in record["history"][0]["message"]["ru"]


def test_a_reject_calendar_refuses_a_move_that_changes_an_approved_clash(hub: Any) -> None:
    day, clash_id = two_clashing_events(hub, "rj")
    set_policy(hub, "kgtu", "reject")
    try:
        moved = put_event(
            hub,
            "kgtu",
            "/kgtu/calendar/",
            "rj-b",
            "Практикум [10А]",
            at(day, 15, 30),
            at(day, 16, 30),
        )
        assert moved.status == 409, moved.text
        assert "Практикум [10А]" in moved.text
        stored = hub.request("GET", "/dav/kgtu/calendar/rj-b.ics", "kgtu", PASSWORDS["kgtu"])
        assert "T150000" in stored.text, "the approved version stays"
        assert detail(hub, clash_id)["status"] == "approved"
        # A new title keeps the version approved: accepted.
        renamed = put_event(
            hub,
            "kgtu",
            "/kgtu/calendar/",
            "rj-b",
            "Практикум (2 группы) [10А]",
            at(day, 15),
            at(day, 16),
        )
        assert renamed.status == 204
        assert detail(hub, clash_id)["status"] == "approved"
        # Moved clear of the other event: no clash left to change, accepted.
        away = put_event(
            hub, "kgtu", "/kgtu/calendar/", "rj-b", "Практикум [10А]", at(day, 17), at(day, 18)
        )
        assert away.status == 204
        assert detail(hub, clash_id)["status"] == "resolved"
    finally:
        set_policy(hub, "kgtu", "record")


def test_an_old_hub_sqlite_keeps_its_approvals_and_learns_of_moves(fresh_hub: Any) -> None:
    data_dir = fresh_hub.create()
    first = fresh_hub.serve(data_dir)
    day, clash_id = two_clashing_events(first, "old")
    first.stop()
    # Back to the schema of the release before approved versions were kept.
    with sqlite3.connect(data_dir / "hub.sqlite") as db:
        db.execute("DROP TABLE past_approvals")
        db.execute("ALTER TABLE approvals DROP COLUMN occurrences")
        db.execute("ALTER TABLE history DROP COLUMN message_ru")
        db.execute("ALTER TABLE history DROP COLUMN message_en")
    second = fresh_hub.serve(data_dir)
    record = detail(second, clash_id)
    assert record["status"] == "approved"
    assert record["approval"]["comment"] == "Группы в разных корпусах"
    moved = put_event(
        second, "bfu", "/bfu/calendar/", "old-a", "Лекция [10]", at(day, 14, 30), at(day, 15, 30)
    )
    assert moved.status == 204
    record = detail(second, clash_id)
    assert record["status"] == "open"
    assert record["history"][0]["action"] == "changed"
