"""Against a real hub: a write a hub calendar refuses is kept as a refused-write record
(a clash in a ``reject`` calendar, event data the hub does not take), re-sends update it,
a later write of the same event resolves it; unauthenticated writes, writes without the
right, tasks and other calendars are never kept, and a failing store never turns a
refusal into a 500."""

from __future__ import annotations

from typing import Any

import pytest
from clash_support import at, own_week, put_event, put_text, set_policy
from helpers import PASSWORDS, make_event

from calhub.store.refused import RefusedWrites


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    hub = module_hubs()
    set_policy(hub, "kgtu", "reject")
    return hub


def store(hub: Any) -> RefusedWrites:
    return RefusedWrites(hub.data_dir / "hub.sqlite")


def rows_of(hub: Any, uid: str, state: str = "all") -> list[Any]:
    return [r for r in store(hub).query(state=state) if r.uid == uid]


def clash_pair(hub: Any, prefix: str) -> tuple[Any, str]:
    """bfu's lecture, then kgtu's clashing master class: (the 409, kgtu's body)."""
    day = own_week()
    put_event(
        hub, "bfu", "/bfu/calendar/", f"{prefix}-a", "Лекция [10-11]", at(day, 15), at(day, 16)
    )
    body = make_event(
        f"{prefix}-b", "Мастер-класс [10А]", at(day, 15), at(day, 16), location="КГТУ, ауд. 3"
    )
    return put_text(hub, "kgtu", "/kgtu/calendar/", f"{prefix}-b", body), body


def test_a_refused_clash_is_kept_once_however_often_it_is_sent(hub: Any) -> None:
    refused, body = clash_pair(hub, "kp")
    assert refused.status == 409
    [row] = rows_of(hub, "kp-b")
    assert (row.login, row.calendar, row.href, row.status) == ("kgtu", "kgtu", "kp-b.ics", 409)
    assert row.summary == "Мастер-класс [10А]" and row.location == "КГТУ, ауд. 3"
    assert row.start.endswith("Z") and row.end > row.start
    assert row.reason["ru"].startswith("Событие не сохранено")
    assert row.reason["en"].startswith("The event was not saved")
    [clash] = row.clashes
    assert clash["rule"] == "audience" and "kp-a" in {e["uid"] for e in clash["events"]}
    assert row.body == body.encode()
    for _ in range(2):
        assert put_text(hub, "kgtu", "/kgtu/calendar/", "kp-b", body).status == 409
    [row] = rows_of(hub, "kp-b")
    assert row.times == 3 and row.state == "open"


def test_a_later_write_of_the_event_resolves_its_record(hub: Any) -> None:
    refused, _ = clash_pair(hub, "mv")
    assert refused.status == 409
    day = own_week()
    moved = put_event(
        hub, "kgtu", "/kgtu/calendar/", "mv-b", "Мастер-класс [10А]", at(day, 17), at(day, 18)
    )
    assert moved.status == 201
    [row] = rows_of(hub, "mv-b")
    assert row.state == "resolved" and row.resolved_by == "kgtu"


def test_data_the_hub_does_not_take_is_kept_in_any_hub_calendar(hub: Any) -> None:
    day = own_week()
    backwards = make_event("bw-1", "Лекция [9]", at(day, 16), at(day, 15))
    response = put_text(hub, "bfu", "/bfu/calendar/", "bw-1", backwards)
    assert response.status == 403 and "valid-calendar-object-resource" in response.text
    [row] = rows_of(hub, "bw-1")
    assert (row.login, row.calendar, row.status) == ("bfu", "bfu", 403)
    assert row.condition == "valid-calendar-object-resource" and "DTEND" in row.reason["en"]


def test_what_is_never_kept(hub: Any) -> None:
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "nk-a", "Лекция [7]", at(day, 15), at(day, 16))
    body = make_event("nk-b", "Практикум [7]", at(day, 15), at(day, 16))
    path = "/dav/kgtu/calendar/nk-b.ics"
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    assert hub.request("PUT", path, body=body, headers=headers).status == 401
    assert hub.request("PUT", path, "kgtu", "wrong", body=body, headers=headers).status == 401
    assert (
        hub.request("PUT", path, "bfu", PASSWORDS["bfu"], body=body, headers=headers).status == 403
    )
    task = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:nk-task\r\n"
        "SUMMARY:Задача\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )
    assert put_text(hub, "kgtu", "/kgtu/calendar/", "nk-task", task).status == 403
    assert rows_of(hub, "nk-b") == [] and rows_of(hub, "nk-task") == []


def test_a_failing_store_never_turns_a_refusal_into_a_500(module_hubs: Any) -> None:
    hub = module_hubs()
    set_policy(hub, "kgtu", "reject")
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "fs-a", "Лекция [6]", at(day, 15), at(day, 16))
    with store(hub).transaction() as db:
        # A table of that name the store cannot write into: every record fails.
        db.execute("DROP TABLE refused_writes")
        db.execute("CREATE TABLE refused_writes (id INTEGER PRIMARY KEY)")
    refused = put_event(
        hub, "kgtu", "/kgtu/calendar/", "fs-b", "Практикум [6]", at(day, 15), at(day, 16)
    )
    assert refused.status == 409 and "no-new-clash" in refused.text
    free = put_event(
        hub, "kgtu", "/kgtu/calendar/", "fs-b", "Практикум [6]", at(day, 9), at(day, 10)
    )
    assert free.status == 201
    assert "Could not keep the refused write of kgtu" in hub.stderr()
    assert "Could not resolve refused writes after a PUT" in hub.stderr()
