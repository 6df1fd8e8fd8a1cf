"""ICS sources end to end: a partner's feed on a loopback ``http.server`` mirrored into its
hub calendar through the CalDAV write path. Adds, changes and deletions are mirrored, a 304
costs no write, locally written events are never touched, and every kind of bad feed
(timeouts, 500s, malformed, over the size limit, redirect loops) is refused with a clear
status while the mirrored events stay as they were."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import assert_user_error, backup_and_restore, make_event
from sources_support import FeedServer, calendar_files, feed, feed_server, runtime_on, vevent

from calhub.dav.importer import import_objects
from calhub.dav.mirror import source_of
from calhub.hub import HubPaths, configfile


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


LECTURE = vevent("lecture-1@bfu.example", "Лекция", "20271201T150000", "20271201T160000")
SEMINAR = vevent("seminar-2@bfu.example", "Семинар", "20271202T150000", "20271202T160000")


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
    start = dt.datetime(2027, 12, day, 10, 0)
    return start, start + dt.timedelta(hours=1)


def set_sources(root: Path, **values: Any) -> None:
    document = configfile.read_document(root)
    document["sources"] = values
    configfile.save_document(root, document)


GOOGLE = feed(
    "BEGIN:VEVENT\r\nUID:g1@google.com\r\nDTSTAMP:20261201T000000Z\r\n"
    "DTSTART:20271203T170000\r\nDTEND:20271203T180000\r\nSUMMARY:Google\r\nEND:VEVENT\r\n",
    vevent("g2@google.com", "Twice, older", "20271204T100000", "20271204T110000"),
    vevent("g2@google.com", "Twice, newer", "20271204T120000", "20271204T130000", ["SEQUENCE:3"]),
    "BEGIN:VEVENT\r\nUID:w1@outlook.com\r\nDTSTAMP:20261201T000000Z\r\n"
    "DTSTART;TZID=Russian Standard Time:20271205T100000\r\n"
    "DTEND;TZID=Russian Standard Time:20271205T110000\r\nSUMMARY:Outlook\r\nEND:VEVENT\r\n",
    "BEGIN:VTODO\r\nUID:t1@google.com\r\nSUMMARY:A task\r\nEND:VTODO\r\n",
    head=["METHOD:PUBLISH", "X-WR-TIMEZONE:Europe/Moscow", "X-WR-CALNAME:БФУ"],
)


def test_a_google_style_feed_is_cleaned_before_it_is_mirrored(
    runner: Any, hub: Path, partner_feed: FeedServer
) -> None:
    partner_feed.serve(GOOGLE)
    partner_feed.state.gzip = True
    source = add(runner, hub, partner_feed.url)
    shown = sync(runner, hub, source)
    assert shown["added"] == 3, shown
    assert "повторы UID" in shown["note"] and "не события" in shown["note"]
    runtime = runtime_on(hub)
    try:
        google = runtime.index.occurrences_of("bfu", "g1@google.com")
        outlook = runtime.index.occurrences_of("bfu", "w1@outlook.com")
        twice = runtime.index.occurrences_of("bfu", "g2@google.com")
    finally:
        runtime.close()
    # Floating 17:00 in X-WR-TIMEZONE Moscow is 14:00 UTC; a Windows zone name is Moscow too.
    assert [o.start.astimezone(dt.UTC).hour for o in google] == [14]
    assert [o.start.astimezone(dt.UTC).hour for o in outlook] == [7]
    assert [o.summary for o in twice] == ["Twice, newer"]
    text = stored(hub)["g1@google.com.ics"]
    assert "METHOD" not in text and "BEGIN:VTIMEZONE" in text and "TZID:Europe/Moscow" in text


BROKEN = {
    "a 500": ({"status": 500}, {}, "500"),
    "a timeout": ({"delay": 2.5}, {"timeout_seconds": 1}, "1 s"),
    "malformed": ({"body": b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n"}, {}, "malformed"),
    "not a calendar": ({"body": b"<html>Not found</html>"}, {}, "BEGIN:VCALENDAR"),
    "over the limit": ({"endless": True}, {"max_bytes": 100_000}, "100000 bytes"),
    "a redirect loop": ({"redirect_loop": True}, {}, "redirects"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_bad_feed_is_refused_with_a_clear_status_and_nothing_is_lost(
    runner: Any, hub: Path, partner_feed: FeedServer, case: str
) -> None:
    trouble, limits, words = BROKEN[case]
    set_sources(hub, **limits)
    partner_feed.serve(feed(LECTURE, SEMINAR))
    source = add(runner, hub, partner_feed.url)
    sync(runner, hub, source)
    before = stored(hub)
    for name, value in trouble.items():
        setattr(partner_feed.state, name, value)
    result = runner("source", "sync", str(source), "--data", str(hub))
    assert_user_error(result, f"Источник {source} не синхронизирован", words)
    assert stored(hub) == before, "a failed sync must leave the mirrored events as they were"
    _code, out, _ = runner("source", "list", "--json", "--data", str(hub))
    [listed] = json.loads(out)
    assert words in listed["last_error"] and listed["failures"] == 1
    assert listed["next_run_at"] > listed["last_attempt_at"]


def test_the_full_default_limit_refuses_an_endless_feed(
    runner: Any, hub: Path, partner_feed: FeedServer
) -> None:
    partner_feed.state.endless = True
    source = add(runner, hub, partner_feed.url)
    result = runner("source", "sync", str(source), "--data", str(hub))
    assert_user_error(result, "20971520 bytes")
    assert stored(hub) == {}


def test_mistakes_on_the_command_line_say_what_to_do(runner: Any, hub: Path) -> None:
    data = ("--data", str(hub))
    assert_user_error(runner("source", "add", "nobody", "https://x.example/a.ics", *data), "nobody")
    assert_user_error(
        runner("source", "add", "bfu", "https://u:secret@x.example/a.ics", *data), "password"
    )
    assert_user_error(runner("source", "add", "bfu", "ftp://x.example/a.ics", *data), "http")
    assert_user_error(
        runner("source", "add", "bfu", "https://x.example/a.ics", "--every", "5s", *data), "5s"
    )
    assert_user_error(
        runner("source", "add", "bfu", "https://x.example/a", "--password-env", "V", *data),
        "username",
    )
    assert_user_error(runner("source", "sync", "7", *data), "7")
    assert_user_error(runner("source", "remove", "x7", *data), "x7")


def test_remove_deletes_the_mirrored_events_and_says_so(
    runner: Any, hub: Path, partner_feed: FeedServer
) -> None:
    partner_feed.serve(feed(LECTURE, SEMINAR))
    source = add(runner, hub, partner_feed.url, "--every", "1h")
    sync(runner, hub, source)
    # A backup carries the source (hub.sqlite) and its mirrored events (storage).
    restored = backup_and_restore(runner, hub, hub.parent / "scratch")
    code, out, _ = runner("source", "list", "--json", "--data", str(restored))
    [kept] = json.loads(out)
    assert (kept["id"], kept["url"], kept["mirrored"]) == (source, partner_feed.url, 2)
    assert set(stored(restored)) == set(stored(hub))
    code, out, err = runner("source", "remove", str(source), "--data", str(hub))
    assert code == 0, err
    assert "2" in out and "untouched" in out
    assert stored(hub) == {}
    code, out, _ = runner("source", "list", "--json", "--data", str(hub))
    assert json.loads(out) == []


def test_one_sync_is_one_index_transaction_and_its_clashes_are_recorded(
    hub: Path, partner_feed: FeedServer
) -> None:
    from calhub.sources.manage import NewSource, add_source
    from calhub.sources.sync import sync_source

    events = [
        vevent(f"batch-{n}@bfu.example", f"Пара {n}", f"202702{n + 10:02d}T150000",
               f"202702{n + 10:02d}T160000")
        for n in range(5)
    ]  # fmt: skip
    overlapping = vevent("batch-x@bfu.example", "Накладка", "20270210T153000", "20270210T163000")
    partner_feed.serve(feed(*events, overlapping))
    runtime = runtime_on(hub)
    try:
        source = add_source(runtime, NewSource("bfu", partner_feed.url), "test")
        index = runtime.index
        count = {"transaction": 0, "quiet_transaction": 0}

        def counted(kind: str) -> Any:
            opened = getattr(index, kind)

            def counting() -> Any:
                count[kind] += 1
                return opened()

            return counting

        index.transaction = counted("transaction")  # type: ignore[method-assign]
        index.quiet_transaction = counted("quiet_transaction")  # type: ignore[method-assign]
        outcome = sync_source(runtime, source.id)
        assert outcome.counts is not None and outcome.counts.added == 6
        # The rows of all six in one transaction, then the clash book's note that the records
        # caught up (a PUT each would take two per object).
        assert count == {"transaction": 1, "quiet_transaction": 1}, count
        clashing = runtime.records.events_in_open("hard")
    finally:
        runtime.close()
    assert {("bfu", "batch-0@bfu.example"), ("bfu", "batch-x@bfu.example")} <= clashing
