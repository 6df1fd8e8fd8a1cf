"""Crash: ``kill -9`` the server in the middle of a write burst, restart it, and check that
nothing acknowledged was lost and nothing half-written is left or served.

What this proves, over several kill/restart rounds on one hub:
- every PUT acknowledged (2xx) before the kill is there after the restart, with the content
  that was acknowledged (a write still in flight at the kill may or may not have landed);
- every stored ``.ics`` file parses, Radicale's own storage check passes, and the objects
  served are exactly the files on disk (no temporary file is served);
- the occurrence index is repaired at start-up (``calhub index verify`` exits 0 after the
  restart, whatever it said right after the kill), and the clash records agree with a full
  rescan (``calhub index rebuild`` leaves ``/api/conflicts`` unchanged);
- a clash approval made before the first kill is intact after every restart.
"""

from __future__ import annotations

import http.client
import itertools
import random
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import icalendar
import pytest
from helpers import PASSWORDS
from reliability_support import (
    api_json,
    assert_rebuild_keeps_records,
    at,
    calhub_cli,
    collection_hrefs,
    day,
    event,
    event_fields,
    get,
    kill9,
    put,
    radicale_verify,
    record,
)

BURST_THREADS = 8
KILL_AFTER = (12, 40, 80)  # writes acknowledged in the round before kill -9
CALENDARS = [("bfu", "bfu/calendar"), ("kgtu", "kgtu/calendar"), ("coordinator", "school/calendar")]
LOGIN_OF = {"bfu": "bfu", "kgtu": "kgtu", "school": "coordinator"}
APPROVAL_COMMENT = "Согласовано до сбоя: разные аудитории"

Fields = tuple[str, str, str, str]


class Burst:
    """Writer threads that run until the server disappears under them."""

    def __init__(self, hub: Any, round_number: int) -> None:
        self.hub = hub
        self.round = round_number
        self.lock = threading.Lock()
        self.acked: dict[str, Fields] = {}  # path -> content acknowledged in this burst
        self.in_flight: dict[str, Fields] = {}  # path -> content sent, no answer (yet)
        self.acks = 0
        self.stop = threading.Event()
        self.errors: list[BaseException] = []

    def guarded(self, number: int, known: list[str]) -> None:
        try:
            self.writer(number, known)
        except BaseException as error:  # re-raised by run_until_killed
            self.errors.append(error)
            self.stop.set()

    def writer(self, number: int, known: list[str]) -> None:
        rng = random.Random(self.round * 100 + number)
        login, calendar = CALENDARS[number % len(CALENDARS)]
        # Each path is written by one thread only, so what it acknowledged last is final.
        earlier = known[number::BURST_THREADS]
        mine: list[str] = []
        for n in itertools.count():
            if self.stop.is_set():
                return
            if mine and rng.random() < 0.25:
                path = rng.choice(mine)  # edit one of this burst's events
            elif earlier and rng.random() < 0.1:
                path = rng.choice(earlier)  # or one acknowledged in an earlier round
            else:
                path = f"/dav/{calendar}/r{self.round}-t{number}-{n}.ics"
            writer_login = LOGIN_OF[path.split("/")[2]] if path in earlier else login
            uid = path.rsplit("/", 1)[1].removesuffix(".ics")
            body = event(
                uid,
                f"Запись {uid} #{n} [{rng.choice(['7', '8', '7Б'])}]",
                at(day(rng.randrange(10)), rng.choice([9, 11, 14, 16])),
                minutes=rng.choice([30, 60]),
            )
            fields = event_fields(body)
            with self.lock:
                self.in_flight[path] = fields
            try:
                response = put(self.hub, writer_login, path, body, timeout=15)
            except (OSError, http.client.HTTPException):
                return  # the server is gone
            with self.lock:
                del self.in_flight[path]
                if response.status in (201, 204):
                    self.acked[path] = fields
                    self.acks += 1
                    if path not in mine:
                        mine.append(path)
                else:
                    raise AssertionError((path, response.status, response.text[:300]))

    def run_until_killed(self, factory: Any, kill_after: int, known: list[str]) -> None:
        threads = [
            threading.Thread(target=self.guarded, args=(n, known), daemon=True)
            for n in range(BURST_THREADS)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while (
            self.acks < kill_after
            and time.monotonic() < deadline
            and not self.errors
            and any(t.is_alive() for t in threads)
        ):
            time.sleep(0.002)
        kill9(factory, self.hub)  # with the writers still writing
        self.stop.set()
        for thread in threads:
            thread.join(30)
        assert not any(t.is_alive() for t in threads), "writer threads did not stop"
        if self.errors:
            raise self.errors[0]
        assert self.acks >= kill_after, f"only {self.acks} writes acknowledged in 120 s"


def stored_files(data_dir: Path) -> tuple[dict[str, Path], list[Path]]:
    """Event files on disk (served path -> file) and Radicale temporary leftovers."""
    root = data_dir / "storage" / "collection-root"
    events, leftovers = {}, []
    for _login, calendar in CALENDARS:
        folder = root / calendar
        for entry in folder.iterdir():
            if entry.name.startswith(".Radicale.tmp"):
                leftovers.append(entry)
            elif entry.is_file() and not entry.name.startswith("."):
                events[f"/dav/{calendar}/{entry.name}"] = entry
    return events, leftovers


def approve_a_clash(hub: Any) -> str:
    put(hub, "bfu", "/dav/bfu/calendar/appr-a.ics", event("appr-a", "Лекция [9]", at(day(0), 15)))
    put(
        hub,
        "coordinator",
        "/dav/school/calendar/appr-b.ics",
        event("appr-b", "Классный час [9А]", at(day(0), 15)),
    )
    records = api_json(hub, "/api/conflicts")
    [clash] = [
        r
        for r in records
        if r["rule"] == "audience" and {o["uid"] for o in r["occurrences"]} == {"appr-a", "appr-b"}
    ]
    approved = hub.request(
        "POST",
        f"/api/conflicts/{clash['id']}/approve",
        "coordinator",
        PASSWORDS["coordinator"],
        body=f'{{"comment": "{APPROVAL_COMMENT}"}}'.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert approved.status == 200, approved.text
    return str(clash["id"])


def test_kill9_mid_write_burst_loses_nothing_acknowledged(fresh_hub: Any) -> None:
    data_dir = fresh_hub.create()
    hub = fresh_hub.serve(data_dir)
    clash_id = approve_a_clash(hub)
    acked: dict[str, Fields] = {}
    maybe: dict[str, set[Fields]] = defaultdict(set)  # in flight at a kill
    figures: dict[str, Any] = defaultdict(int)

    for round_number, kill_after in enumerate(KILL_AFTER):
        burst = Burst(hub, round_number)
        burst.run_until_killed(fresh_hub, kill_after, sorted(acked))
        acked.update(burst.acked)
        for path, fields in burst.in_flight.items():
            maybe[path].add(fields)
        figures["kills"] += 1
        figures["acknowledged"] += burst.acks
        figures["in_flight_at_kill"] += len(burst.in_flight)

        # On disk, before anything restarts: every object file is whole.
        events, leftovers = stored_files(data_dir)
        for path, file in events.items():
            calendar = icalendar.Calendar.from_ical(file.read_bytes())
            assert calendar.walk("VEVENT"), path
        figures["temp_leftovers"] += len(leftovers)
        before = calhub_cli(data_dir, "index", "verify")
        figures["index_out_of_step_after_kill"] += int(before.returncode != 0)

        hub = fresh_hub.serve(data_dir)
        after = calhub_cli(data_dir, "index", "verify")
        assert after.returncode == 0, after.stdout + after.stderr

        for path, fields in acked.items():
            response = get(hub, path)
            assert response.status == 200, (path, response.status)
            assert event_fields(response.text) in {fields} | maybe[path], path
        for path, versions in maybe.items():
            if path not in acked:
                response = get(hub, path)
                assert response.status == 404 or event_fields(response.text) in versions, path
        served: set[str] = set()
        for _login, calendar in CALENDARS:
            served |= set(collection_hrefs(hub, f"/dav/{calendar}/"))
        assert not [href for href in served if ".Radicale" in href], served
        assert served == set(events), {"not served": set(events) - served}
        for leftover in leftovers:
            relative = leftover.relative_to(data_dir / "storage" / "collection-root")
            assert get(hub, f"/dav/{relative.as_posix()}").status == 404

        clash = api_json(hub, f"/api/conflicts/{clash_id}")
        assert clash["status"] == "approved", clash
        assert clash["approval"]["comment"] == APPROVAL_COMMENT

    check = radicale_verify(data_dir)
    assert check.returncode == 0, check.stderr[-3000:]
    records = assert_rebuild_keeps_records(hub, data_dir)
    record(
        "crash.kill9",
        kills=figures["kills"],
        writer_threads=BURST_THREADS,
        acknowledged_before_kills=figures["acknowledged"],
        in_flight_at_kills=figures["in_flight_at_kill"],
        index_out_of_step_after_kill=figures["index_out_of_step_after_kill"],
        temp_leftovers=figures["temp_leftovers"],
        objects_checked=len(acked),
        clash_records=len(records),
        lost=0,
    )


# -- dying at a chosen point of a write -------------------------------------------------------

# Writes one event through calhub's storage plugin (as a PUT does, inside the storage write
# lock) and dies with os._exit (no cleanup, as under kill -9) at the chosen point.
DIE_DURING_WRITE = """
import contextlib, os, sys
from pathlib import Path
import vobject
from radicale import item as radicale_item
from calhub.dav.maintenance import open_runtime
from calhub.dav.settling import settling
from calhub.dav.storage import open_storage
from calhub.hub import Hub

data_dir, window, calendar, href = sys.argv[1:5]
runtime = open_runtime(Hub(Path(data_dir)))
storage = open_storage(runtime)

def die(*args, **kwargs):
    os._exit(137)

if window == "after-storage-write":
    storage.hooks.after_item_write = die  # the file is written, the index not yet
elif window in ("after-index-commit", "after-the-lock"):
    runtime.records.sync = die  # the index is committed, the clash records not yet
# As a DAV request's write: its records follow once the lock is released.
request = settling() if window == "after-the-lock" else contextlib.nullcontext()
with request:
    with storage.acquire_lock("w", "calhub"):
        collection = next(iter(storage.discover(calendar)))
        component = vobject.readOne(sys.stdin.read())
        item = radicale_item.Item(collection_path=calendar.strip("/"), vobject_item=component)
        item.prepare()
        collection.upload(href, item)
os._exit(0)
"""


def write_and_die(data_dir: Path, window: str, calendar: str, uid: str, text: str) -> int:
    import subprocess
    import sys

    process = subprocess.run(
        [sys.executable, "-c", DIE_DURING_WRITE, str(data_dir), window, calendar, f"{uid}.ics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=data_dir.parent,
    )
    return process.returncode


# "after-index-commit" was a bug this suite found: the index committed, the clash records
# (another database) not yet, and nothing noticed at start-up. Fixed in 28e693c (a
# records-pending mark in the index transaction); kept as a regression test.
# "after-the-lock": the same for a DAV request's write, whose records follow once Radicale's
# lock is released (calhub.dav.settling; its own mark, records_deferred).
WINDOWS = ["after-storage-write", "after-index-commit", "after-the-lock"]


@pytest.mark.parametrize("window", WINDOWS)
def test_a_write_cut_short_is_repaired_at_start_up(fresh_hub: Any, window: str) -> None:
    """Deterministic version of the crash windows the kill -9 bursts can only hit by luck:
    the process dies after Radicale wrote the file but before the index was updated, or
    after the index was committed but before the clash records were."""
    running = fresh_hub()  # a hub that has been served (and so fully scanned) before
    data_dir = running.data_dir
    first = event("cut-a", "Лекция [9]", at(day(3), 15))
    assert put(running, "bfu", "/dav/bfu/calendar/cut-a.ics", first).status == 201
    assert running.stop() == 0
    second = event("cut-b", "Классный час [9А]", at(day(3), 15))
    assert write_and_die(data_dir, window, "/school/calendar/", "cut-b", second) == 137
    hub = fresh_hub.serve(data_dir)  # start-up verifies and repairs
    assert get(hub, "/dav/school/calendar/cut-b.ics").status == 200
    verify = calhub_cli(data_dir, "index", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    records = assert_rebuild_keeps_records(hub, data_dir)
    assert any({o[1] for o in r[5]} == {"cut-a", "cut-b"} for r in records)
