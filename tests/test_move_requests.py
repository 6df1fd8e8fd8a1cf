"""The store of requests to move an event (``calhub.store.move_requests``): one open request
per event of a clash, answers close it once, every step is in the clash's history and moves
the records' state, and a purged record takes its requests with it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from helpers import hour_long_occurrence

from calhub.engine import ClashEngine, EngineConfig
from calhub.errors import NoSuchClash
from calhub.store.move_requests import MoveRequests, RequestClosed
from calhub.store.records import ClashRecords

MONDAY = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
SLOT = (MONDAY + dt.timedelta(hours=6), MONDAY + dt.timedelta(hours=7))


def clash(tmp_path: Path) -> tuple[ClashRecords, MoveRequests, str]:
    records = ClashRecords(tmp_path / "hub.sqlite")
    occurrences = [
        hour_long_occurrence("bfu", "a", MONDAY, "Лекция [10]"),
        hour_long_occurrence("kgtu", "b", MONDAY, "Семинар [10]"),
    ]
    records.sync(
        ClashEngine(EngineConfig(rules={})).scan(occurrences, only={"audience"}), set(), "c"
    )
    (clash_id,) = records.all_active_ids()
    return records, MoveRequests(records), clash_id


def ask(requests: MoveRequests, clash_id: str, comment: str = "Сдвиньте, пожалуйста") -> int:
    made = requests.ask(
        clash_id,
        calendar="kgtu",
        uid="b",
        recurrence_id="",
        summary="Семинар [10]",
        by="coordinator",
        comment=comment,
        slots=[SLOT],
    )
    return made.id


def test_a_request_is_answered_once_and_every_step_is_history(tmp_path: Path) -> None:
    records, requests, clash_id = clash(tmp_path)
    before = records.state()
    request_id = ask(requests, clash_id)
    assert records.state() != before, "readers caching by state see the request"
    [made] = requests.open_for(["kgtu"])
    assert made.id == request_id and made.slot_times() == [SLOT]
    assert requests.open_for(["bfu"]) == [] and requests.of_clash(clash_id) == [made]
    done = requests.answer(request_id, by="kgtu", accepted=True, chosen=SLOT)
    assert done.status == "accepted" and done.chosen is not None
    with pytest.raises(RequestClosed):
        requests.answer(request_id, by="kgtu", accepted=False, comment="нет")
    assert requests.get(request_id).status == "accepted"
    actions = [h.action for h in records.history(clash_id)]
    assert actions[:2] == ["move-accepted", "move-asked"]
    assert [h.comment for h in records.history(clash_id)][1] == "Сдвиньте, пожалуйста"


def test_asking_again_replaces_the_open_request(tmp_path: Path) -> None:
    _, requests, clash_id = clash(tmp_path)
    first = ask(requests, clash_id, "первая")
    second = ask(requests, clash_id, "вторая")
    assert [r.id for r in requests.open_for()] == [second]
    assert requests.get(first).status == "replaced"
    with pytest.raises(RequestClosed):
        requests.answer(first, by="kgtu", accepted=True)


def test_a_request_needs_a_clash_and_goes_with_it(tmp_path: Path) -> None:
    records, requests, clash_id = clash(tmp_path)
    with pytest.raises(NoSuchClash):
        ask(requests, "no-such-clash")
    request_id = ask(requests, clash_id)
    # The events are deleted; past the retention the record is purged with its requests.
    records.sync([], {clash_id}, "c")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert records.purge(0, lambda events: set(), now=later) == 1
    assert requests.get(request_id) is None
