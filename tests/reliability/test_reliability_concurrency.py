"""Concurrency: racing clashing writes in ``reject`` mode, and many writers on two server
processes that share one data directory.

What this proves:
- Radicale's storage write lock (a file lock) makes calhub's clash check and the write one
  step, within one process and across processes: of two clashing PUTs that race into two
  ``reject`` calendars exactly one is stored, in every trial;
- the same holds through one port served by two workers (``calhub serve --workers 2``);
- no acknowledged (2xx) write is lost when 8 threads write through 2 processes at once:
  every acknowledged event reads back, from both servers, as it was acknowledged; every
  refused or deleted one is absent;
- afterwards the occurrence index agrees with storage (``calhub index verify`` exits 0) and
  the clash records kept incrementally are what a full rescan finds (``calhub index
  rebuild`` leaves ``/api/conflicts`` unchanged).
"""

from __future__ import annotations

import random
import re
import threading
from typing import Any

import pytest
from reliability_support import (
    at,
    calhub_cli,
    conflict_snapshot,
    day,
    delete,
    event,
    event_fields,
    get,
    put,
    record,
    run_threads,
    set_policy,
)

SAME_PROCESS_TRIALS = 50
CROSS_PROCESS_TRIALS = 30


@pytest.fixture(scope="module")
def race_hubs(module_hubs: Any) -> tuple[Any, Any]:
    """Two servers on one data directory; bfu and kgtu both refuse new hard clashes."""
    first = module_hubs()
    set_policy(first.data_dir, "bfu", "reject")
    set_policy(first.data_dir, "kgtu", "reject")
    second = module_hubs.serve(first.data_dir)
    return first, second


def race_once(trial: int, servers: dict[str, Any]) -> dict[str, Any]:
    """bfu and kgtu PUT clashing events (same students, same hour) at the same moment."""
    start = at(day(trial // 4), 8 + 2 * (trial % 4))
    barrier = threading.Barrier(2)
    responses: dict[str, Any] = {}

    def writer(login: str) -> None:
        uid = f"race{trial}-{login}"
        body = event(uid, f"Гонка {trial} ({login}) [5]", start)
        barrier.wait(30)
        responses[login] = put(servers[login], login, f"/dav/{login}/calendar/{uid}.ics", body)

    run_threads([lambda: writer("bfu"), lambda: writer("kgtu")], timeout=60)
    return responses


def check_race(trial: int, responses: dict[str, Any], servers: list[Any]) -> str:
    statuses = {login: r.status for login, r in responses.items()}
    assert sorted(statuses.values()) == [201, 409], (trial, statuses)
    winner = next(login for login, status in statuses.items() if status == 201)
    loser = "kgtu" if winner == "bfu" else "bfu"
    refusal = responses[loser].text
    # The refusal names the event that won: the check saw the committed winner.
    assert f"race{trial}-{winner}" in refusal, refusal[:500]
    for server in servers:
        stored = {
            login: get(server, f"/dav/{login}/calendar/race{trial}-{login}.ics").status
            for login in ("bfu", "kgtu")
        }
        assert stored == {winner: 200, loser: 404}, (trial, stored)
    return winner


def test_racing_clashing_puts_exactly_one_wins_in_every_trial(race_hubs: tuple[Any, Any]) -> None:
    first, second = race_hubs
    wins = {"bfu": 0, "kgtu": 0}
    for trial in range(SAME_PROCESS_TRIALS):
        responses = race_once(trial, {"bfu": first, "kgtu": first})
        wins[check_race(trial, responses, [first])] += 1
    for n in range(CROSS_PROCESS_TRIALS):
        trial = SAME_PROCESS_TRIALS + n
        # Each writer goes to a different process; swap which partner uses which.
        pair = (first, second) if n % 2 == 0 else (second, first)
        responses = race_once(trial, {"bfu": pair[0], "kgtu": pair[1]})
        wins[check_race(trial, responses, [first, second])] += 1
    # Nothing of the races is left as a clash: only winners were stored.
    records = [
        r
        for r in conflict_snapshot(first)
        if r[2] == "hard" and r[3] == "open" and any(o[1].startswith("race") for o in r[5])
    ]
    assert records == []
    verify = calhub_cli(first.data_dir, "index", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    record(
        "concurrency.race",
        trials_same_process=SAME_PROCESS_TRIALS,
        trials_two_processes=CROSS_PROCESS_TRIALS,
        bfu_won=wins["bfu"],
        kgtu_won=wins["kgtu"],
        failures=0,
    )


WORKER_TRIALS = 20


def test_racing_clashing_puts_through_two_workers(module_hubs: Any) -> None:
    """The same race through one port served by ``calhub serve --workers 2``: which worker
    takes which PUT is the kernel's choice, and still exactly one wins every time."""
    root = module_hubs.create()
    set_policy(root, "bfu", "reject")
    set_policy(root, "kgtu", "reject")
    hub = module_hubs.serve(root, extra=["--workers", "2"])
    wins = {"bfu": 0, "kgtu": 0}
    for n in range(WORKER_TRIALS):
        responses = race_once(n, {"bfu": hub, "kgtu": hub})
        wins[check_race(n, responses, [hub])] += 1
    workers = set(re.findall(r"\[(\d+)\] calhub\.access: ", hub.stderr()))
    assert len(workers) == 2, f"the PUTs reached {len(workers)} worker(s)"
    verify = calhub_cli(root, "index", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    record(
        "concurrency.race_two_workers",
        trials=WORKER_TRIALS,
        **{f"{k}_won": v for k, v in wins.items()},
    )


# -- many writers, two processes ------------------------------------------------------------

THREADS = 8
OPS_PER_THREAD = 30
# (login, calendar) each writer thread uses; the coordinator also writes a partner calendar.
LAYOUT = [
    ("bfu", "bfu/calendar"),
    ("kgtu", "kgtu/calendar"),
    ("coordinator", "school/calendar"),
    ("coordinator", "bfu/calendar"),
]
AUDIENCES = ["5", "6", "5А", "6Б", "5-6"]
LOCATIONS = ["Актовый зал", "Аудитория 101", None]


class Writer:
    """One client thread: creates, edits and deletes its own events, remembering what the
    server acknowledged."""

    def __init__(self, number: int, server: Any, login: str, calendar: str) -> None:
        self.number = number
        self.server = server
        self.login = login
        self.calendar = calendar
        self.rng = random.Random(1000 + number)
        self.expected: dict[str, tuple[str, str, str, str] | None] = {}
        self.attempted = self.acknowledged = self.refused = 0

    def path(self, uid: str) -> str:
        return f"/dav/{self.calendar}/{uid}.ics"

    def body(self, uid: str, version: int) -> str:
        rng = self.rng
        title = "Олимпиада" if rng.random() < 0.15 else f"Занятие {uid} v{version}"
        return event(
            uid,
            f"{title} [{rng.choice(AUDIENCES)}]",
            at(day(rng.randrange(5)), rng.choice([9, 10, 11, 13, 15]), rng.choice([0, 30])),
            minutes=rng.choice([45, 60, 90]),
            location=rng.choice(LOCATIONS),
        )

    def run(self) -> None:
        created = 0
        for version in range(OPS_PER_THREAD):
            live = sorted(uid for uid, fields in self.expected.items() if fields is not None)
            roll = self.rng.random()
            self.attempted += 1
            if not live or roll < 0.55:
                uid = f"w{self.number}-{created}"
                created += 1
                self.write(uid, version, ok=201)
            elif roll < 0.85:
                self.write(self.rng.choice(live), version, ok=204)
            else:
                uid = self.rng.choice(live)
                response = delete(self.server, self.path(uid), self.login)
                assert response.status in (200, 204), (uid, response.status, response.text)
                self.expected[uid] = None
                self.acknowledged += 1

    def write(self, uid: str, version: int, ok: int) -> None:
        body = self.body(uid, version)
        response = put(self.server, self.login, self.path(uid), body, timeout=60)
        if response.status == ok:
            self.expected[uid] = event_fields(body)
            self.acknowledged += 1
        elif response.status == 409 and self.calendar == "kgtu/calendar":
            # kgtu refuses new hard clashes: nothing changed, the previous version stays.
            self.expected.setdefault(uid, None)
            self.refused += 1
        else:
            raise AssertionError((uid, response.status, response.text[:300]))


def test_writers_on_two_processes_lose_nothing(fresh_hub: Any) -> None:
    first = fresh_hub.create()
    set_policy(first, "kgtu", "reject")
    servers = [fresh_hub.serve(first), fresh_hub.serve(first)]
    writers = []
    for number in range(THREADS):
        login, calendar = LAYOUT[number % len(LAYOUT)]
        server = servers[(number // len(LAYOUT) + number) % 2]
        writers.append(Writer(number, server, login, calendar))
    run_threads([w.run for w in writers], timeout=240)

    readbacks = 0
    for writer in writers:
        for uid, fields in writer.expected.items():
            for server in servers:
                response = get(server, writer.path(uid))
                if fields is None:
                    assert response.status == 404, (uid, response.status)
                else:
                    assert response.status == 200, (uid, response.status)
                    assert event_fields(response.text) == fields, uid
                readbacks += 1

    verify = calhub_cli(first, "index", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    before = conflict_snapshot(servers[0])
    assert conflict_snapshot(servers[1]) == before
    rebuild = calhub_cli(first, "index", "rebuild")
    assert rebuild.returncode == 0, rebuild.stdout + rebuild.stderr
    for server in servers:
        after = conflict_snapshot(server)
        assert after == before, {"only before": before - after, "only after": after - before}
    assert calhub_cli(first, "index", "verify").returncode == 0
    record(
        "concurrency.two_processes",
        threads=THREADS,
        processes=len(servers),
        requests=sum(w.attempted for w in writers),
        acknowledged=sum(w.acknowledged for w in writers),
        refused_409=sum(w.refused for w in writers),
        readbacks=readbacks,
        clash_records=len(before),
        lost=0,
    )
