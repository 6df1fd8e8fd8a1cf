"""``calhub serve --workers 2``: two processes on one port and one data directory, under
concurrent writers and readers, with one worker killed (``kill -9``) in the middle.

What this proves:
- both workers answer on the one port (the access lines name two worker processes);
- every write acknowledged (2xx), before or after the kill, reads back as acknowledged; a
  write cut off by the kill may or may not have landed, and nothing else is lost;
- readers get 200s throughout, or a reset connection from the worker that was killed;
- the supervisor starts the killed worker again, the index then agrees with storage
  (``calhub index verify``), the clash records are what a full rescan finds, and SIGTERM
  stops the supervisor and both workers cleanly (exit 0, checked at teardown).
"""

from __future__ import annotations

import http.client
import os
import random
import re
import signal
import threading
import time
from typing import Any

from reliability_support import (
    assert_rebuild_keeps_records,
    at,
    calhub_cli,
    day,
    event,
    event_fields,
    get,
    put,
    record,
    set_policy,
)

WRITERS = 6
READERS = 2
KILL_AFTER = 40  # acknowledged writes before the kill
WRITES_AFTER = 40  # acknowledged writes after the killed worker is back
CALENDARS = [("bfu", "bfu/calendar"), ("kgtu", "kgtu/calendar"), ("coordinator", "school/calendar")]
STARTED = re.compile(r"Worker (\d+) started \(pid (\d+)\)")


def workers_of(hub: Any) -> dict[int, int]:
    """The live worker of each slot, from the supervisor's log: slot -> pid."""
    return {int(slot): int(pid) for slot, pid in STARTED.findall(hub.stderr())}


class Load:
    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.lock = threading.Lock()
        self.acked: dict[str, tuple[str, str, str, str] | None] = {}
        self.uncertain: set[str] = set()  # sent when the worker died: either way is right
        self.acks = self.refused = self.resets = self.reads = 0
        self.stop = threading.Event()
        self.errors: list[BaseException] = []

    def guarded(self, work: Any, *args: Any) -> None:
        try:
            work(*args)
        except BaseException as error:  # re-raised by the test
            self.errors.append(error)
            self.stop.set()

    def writer(self, number: int) -> None:
        rng = random.Random(number)
        login, calendar = CALENDARS[number % len(CALENDARS)]
        mine: list[str] = []
        n = 0
        while not self.stop.is_set():
            n += 1
            path = (
                rng.choice(mine)
                if mine and rng.random() < 0.3
                else f"/dav/{calendar}/wk-{number}-{n}.ics"
            )
            uid = path.rsplit("/", 1)[1].removesuffix(".ics")
            body = event(
                uid,
                f"Занятие {uid} #{n} [{rng.choice(['5', '6', '5А'])}]",
                at(day(rng.randrange(6)), rng.choice([9, 11, 14])),
            )
            try:
                response = put(self.hub, login, path, body, timeout=30)
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.uncertain.add(path)
                    self.resets += 1
                continue
            with self.lock:
                if response.status in (201, 204):
                    self.acked[path] = event_fields(body)
                    self.uncertain.discard(path)
                    self.acks += 1
                    if path not in mine:
                        mine.append(path)
                elif response.status == 409 and calendar == "kgtu/calendar":
                    self.refused += 1  # kgtu refuses new hard clashes; nothing changed
                else:
                    raise AssertionError((path, response.status, response.text[:300]))

    def reader(self, number: int) -> None:
        paths = ["/api/conflicts", "/healthz", "/dav/bfu/calendar/"]
        while not self.stop.is_set():
            path = paths[self.reads % len(paths)]
            try:
                method = "PROPFIND" if path.startswith("/dav/") else "GET"
                response = self.hub.request(
                    method, path, "coordinator", "coordinator-pass-1", timeout=30
                )
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.resets += 1
                continue
            assert response.status in (200, 207), (path, response.status, response.text[:300])
            with self.lock:
                self.reads += 1

    def wait_for(self, acks: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.acks < acks and not self.errors and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not self.errors, self.errors[0]
        assert self.acks >= acks, f"only {self.acks} writes acknowledged in {timeout} s"


def test_two_workers_under_writers_readers_and_a_kill9_lose_nothing(fresh_hub: Any) -> None:
    root = fresh_hub.create()
    set_policy(root, "kgtu", "reject")
    hub = fresh_hub.serve(root, extra=["--workers", "2"])
    first = workers_of(hub)
    assert sorted(first) == [0, 1], hub.stderr()[-3000:]

    load = Load(hub)
    threads = [
        threading.Thread(target=load.guarded, args=(load.writer, n), daemon=True)
        for n in range(WRITERS)
    ] + [
        threading.Thread(target=load.guarded, args=(load.reader, n), daemon=True)
        for n in range(READERS)
    ]
    for thread in threads:
        thread.start()
    try:
        load.wait_for(KILL_AFTER)
        os.kill(first[1], signal.SIGKILL)  # worker 1, with the writers still writing
        deadline = time.monotonic() + 60
        while workers_of(hub).get(1) == first[1] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert workers_of(hub)[1] != first[1], "the killed worker was not started again"
        load.wait_for(load.acks + WRITES_AFTER)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(60)
    assert not load.errors, load.errors[0]
    assert hub.process.poll() is None, "the supervisor must outlive a worker"

    served_by = set(re.findall(r"\[(\d+)\] calhub\.access: ", hub.stderr()))
    assert {str(pid) for pid in first.values()} <= served_by, served_by

    checked = 0
    for path, fields in load.acked.items():
        if path in load.uncertain:
            continue
        login = {"bfu": "bfu", "kgtu": "kgtu", "school": "coordinator"}[path.split("/")[2]]
        response = get(hub, path, login)
        assert response.status == 200, (path, response.status)
        assert event_fields(response.text) == fields, path
        checked += 1

    verify = calhub_cli(root, "index", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert_rebuild_keeps_records(hub, root)
    record(
        "workers.two_workers_kill9",
        writers=WRITERS,
        readers=READERS,
        acknowledged=load.acks,
        refused_409=load.refused,
        reads=load.reads,
        resets_at_the_kill=load.resets,
        in_flight_at_the_kill=len(load.uncertain),
        checked=checked,
        lost=0,
    )
