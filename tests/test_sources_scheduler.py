"""The sources' scheduler: ``calhub serve`` syncs a due source on its own; a slow or failing
source never holds up another, and a failing one backs off with its error kept."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import PASSWORDS, run_cli
from sources_support import FeedServer, feed, runtime_on, vevent

from calhub.sources.scheduler import Scheduler
from calhub.sources.sync import backoff

LECTURE = vevent("lecture-s@bfu.example", "Лекция", "20270401T150000", "20270401T160000")


@pytest.fixture
def feeds() -> Iterator[tuple[FeedServer, FeedServer]]:
    good, bad = FeedServer(), FeedServer()
    try:
        yield good, bad
    finally:
        good.stop()
        bad.stop()


def add(root: Path, url: str) -> int:
    code, out, err = run_cli(["source", "add", "bfu", url, "--json", "--data", str(root)])
    assert code == 0, err
    return int(json.loads(out)["id"])


def wait_for(check: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the scheduler did not get there in time"
        time.sleep(0.1)


def test_a_slow_source_does_not_hold_up_another_and_a_failing_one_backs_off(
    fresh_hub: Any, feeds: tuple[FeedServer, FeedServer]
) -> None:
    good, slow = feeds
    root: Path = fresh_hub.create()
    good.serve(feed(LECTURE))
    slow.serve(feed())
    slow.state.delay = 3.0
    slow_id, good_id = add(root, slow.url), add(root, good.url)
    broken = FeedServer()
    try:
        broken.state.status = 500
        broken_id = add(root, broken.url)
        runtime = runtime_on(root)
        scheduler = Scheduler(runtime, round_seconds=0.1)
        scheduler.start()
        try:
            wait_for(lambda: runtime.sources.get(good_id).last_success_at is not None, 3.0)
            assert runtime.sources.get(slow_id).last_success_at is None, "waited for the slow one"
            wait_for(lambda: runtime.sources.get(broken_id).failures == 1, 3.0)
            wait_for(lambda: runtime.sources.get(slow_id).last_success_at is not None, 10.0)
        finally:
            scheduler.stop()
        failing = runtime.sources.get(broken_id)
        assert failing is not None and "500" in failing.last_error
        assert broken.state.requests == 1, "a failing source must wait before the next try"
        runtime.close()
    finally:
        broken.stop()


def test_backoff_doubles_from_the_interval_up_to_six_hours() -> None:
    every = dt.timedelta(minutes=15)
    assert [backoff(every, n).total_seconds() / 60 for n in (1, 2, 3)] == [15, 30, 60]
    assert backoff(every, 30) == dt.timedelta(hours=6)
    assert backoff(dt.timedelta(days=1), 3) == dt.timedelta(days=1)


def test_calhub_serve_syncs_a_due_source_by_itself(fresh_hub: Any) -> None:
    server = FeedServer()
    try:
        server.serve(feed(LECTURE))
        root: Path = fresh_hub.create()
        add(root, server.url)
        hub = fresh_hub.serve(root)
        href = "/dav/bfu/calendar/lecture-s@bfu.example.ics"

        def mirrored() -> bool:
            return bool(hub.request("GET", href, "bfu", PASSWORDS["bfu"]).status == 200)

        wait_for(mirrored, 20.0)
    finally:
        server.stop()
