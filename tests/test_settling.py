"""A write's clash records follow once Radicale's storage lock is released, before the answer
(calhub.dav.settling): polls go on meanwhile, a failure there is a 500 whose mark has the
start-up check catch up, and writes from many threads and two stacks (as two ``--workers``
processes would) leave the records a full scan would find."""

from __future__ import annotations

import datetime as dt
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from helpers import PASSWORDS, make_event

from bench.client import PROPFIND_POLL
from bench.profile_hub import InProcess
from calhub.dav.maintenance import open_runtime, verify_index
from calhub.hub import Hub
from calhub.runtime.bookkeeping import ClashBook

WAIT = 30  # seconds: bounds every wait, so a broken build fails instead of hanging


class Stack(InProcess):
    def __init__(self, root: Path, login: str) -> None:
        super().__init__(root, login, PASSWORDS[login])
        self.login = login

    def put(self, name: str, uid: str, summary: str, start: dt.datetime) -> str:
        text = make_event(uid, summary, start, start + dt.timedelta(hours=1))
        status, _, _ = self.request(
            "PUT",
            f"/dav/{self.login}/calendar/{name}",
            text,
            {"Content-Type": "text/calendar; charset=utf-8"},
        )
        return status


def slot(hour: int, day: int = 0) -> dt.datetime:
    return dt.datetime(2027, 3, 1 + day, hour, tzinfo=dt.UTC)


def clash_ids(root: Path) -> set[str]:
    runtime = open_runtime(Hub(root))
    try:
        return runtime.records.all_active_ids()
    finally:
        runtime.close()


def hub_with_one_event(module_hubs: Any) -> tuple[Path, Stack]:
    """A new hub with kgtu's event for grade 10 at 10:00, and bfu's stack."""
    root = module_hubs.create()
    assert Stack(root, "kgtu").put("k.ics", "k", "Практикум [10]", slot(10)).startswith("201")
    return root, Stack(root, "bfu")


def test_a_poll_is_answered_while_a_writes_clash_records_are_brought_in_step(
    module_hubs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, bfu = hub_with_one_event(module_hubs)
    started, release = threading.Event(), threading.Event()
    real = ClashBook._refresh

    def slow(self: ClashBook, *args: Any) -> Any:
        started.set()
        assert release.wait(WAIT)
        return real(self, *args)

    monkeypatch.setattr(ClashBook, "_refresh", slow)
    statuses: list[str] = []
    writer = threading.Thread(
        target=lambda: statuses.append(bfu.put("b.ics", "b", "Лекция [10]", slot(10)))
    )
    writer.start()
    try:
        assert started.wait(WAIT)
        # Radicale's lock is free: a poll (its read lock) and a GET of the new event.
        answers: list[str] = []
        reader = threading.Thread(
            target=lambda: answers.extend(
                [
                    bfu.request("PROPFIND", "/dav/bfu/calendar/", PROPFIND_POLL, {"Depth": "0"})[0],
                    bfu.request("GET", "/dav/bfu/calendar/b.ics")[0],
                ]
            )
        )
        reader.start()
        reader.join(WAIT)
        assert not reader.is_alive(), "the poll waited for the write's clash records"
        assert writer.is_alive(), "the write is answered only once its records follow it"
        assert [a[:3] for a in answers] == ["207", "200"]
    finally:
        release.set()
        writer.join(WAIT)
    assert statuses and statuses[0].startswith("201")
    monkeypatch.undo()
    assert len(clash_ids(root)) == 1


def test_a_failure_after_the_lock_is_a_500_and_the_start_up_check_catches_up(
    module_hubs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, bfu = hub_with_one_event(module_hubs)

    def broken(self: ClashBook, *args: Any) -> Any:
        raise RuntimeError("disk trouble (test)")

    monkeypatch.setattr(ClashBook, "_refresh", broken)
    assert bfu.put("b.ics", "b", "Лекция [10]", slot(10)).startswith("500")
    monkeypatch.undo()
    assert bfu.request("GET", "/dav/bfu/calendar/b.ics")[0].startswith("200"), "it is stored"
    runtime = open_runtime(Hub(root))
    try:
        assert runtime.index.records_pending()
        assert runtime.records.all_active_ids() == set()
        problems = verify_index(runtime, repair=True)
        assert any("clash records may lag" in p for p in problems), problems
        assert len(runtime.records.all_active_ids()) == 1
        assert not runtime.index.records_pending()
    finally:
        runtime.close()


def test_writes_from_many_threads_and_two_stacks_leave_what_a_full_scan_finds(
    module_hubs: Any,
) -> None:
    root = module_hubs.create()
    stacks = [Stack(root, "bfu"), Stack(root, "kgtu")]
    failures: list[str] = []

    def writer(number: int) -> None:
        rng = random.Random(number)
        stack = stacks[number % 2]
        for step in range(8):
            uid = f"w{number}-{rng.randrange(3)}"
            start = slot(9 + rng.randrange(4), rng.randrange(2))
            status = stack.put(f"{uid}.ics", uid, f"Занятие {step} [10]", start)
            if not status.startswith(("201", "204")):
                failures.append(status)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 4)
    assert not any(t.is_alive() for t in threads)
    assert failures == []
    runtime = open_runtime(Hub(root))
    try:
        found = runtime.records.all_active_ids()
        assert len(found) > 5, "the writes clash with each other"
        assert not runtime.index.records_pending()
        assert runtime.clashes.rescan_all() == (0, 0)
        assert runtime.records.all_active_ids() == found
    finally:
        runtime.close()
