"""Mirrored events belong to their source: a phone's PUT, DELETE or forged marker is
refused with the source named (403), the website's edit is refused the same way, and the
mirror itself still writes; a mirrored event that clashes is recorded, never refused, even
in a calendar whose policy is ``reject``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import PASSWORDS, make_event, run_cli
from sources_support import FeedServer, feed, feed_server, runtime_on, vevent

from calhub.dav.edit import EventFields, MirroredEvent, edit_event
from calhub.dav.storage import open_storage
from calhub.hub import configfile

LECTURE = vevent("lecture-1@bfu.example", "Лекция", "20270301T150000", "20270301T160000")
HREF = "/dav/bfu/calendar/lecture-1@bfu.example.ics"


@pytest.fixture(scope="module")
def partner_feed() -> Iterator[FeedServer]:
    yield from feed_server()


@pytest.fixture(scope="module")
def mirrored(module_hubs: Any, partner_feed: FeedServer) -> Iterator[tuple[Any, int]]:
    """A served hub whose ``bfu`` calendar (policy reject) mirrors one lecture; a local
    event of bfu at the same time is written first."""
    root: Path = module_hubs.create()
    document = configfile.read_document(root)
    for calendar in document["calendars"]:
        if calendar["id"] == "bfu":
            calendar["policy"] = "reject"
    configfile.save_document(root, document)
    hub = module_hubs.serve(root)
    local = make_event(
        "local-clash", "Своё в то же время", _at(15), _at(16), tzid="Europe/Kaliningrad"
    )
    put = hub.request("PUT", "/dav/bfu/calendar/local-clash.ics", "bfu", PASSWORDS["bfu"], local)
    assert put.status == 201, put.text
    partner_feed.serve(feed(LECTURE))
    code, out, err = run_cli(
        ["source", "add", "bfu", partner_feed.url, "--json", "--data", str(root)]
    )
    assert code == 0, err
    source = int(json.loads(out)["id"])
    code, out, err = run_cli(["source", "sync", str(source), "--json", "--data", str(root)])
    assert code == 0, (out, err)
    shown = json.loads(out)
    assert (shown["added"], shown["refused"]) == (1, 0), "a clash must be recorded, not refused"
    yield hub, source


def _at(hour: int) -> dt.datetime:
    return dt.datetime(2027, 3, 1, hour, 0)


def test_the_clash_with_a_mirrored_event_is_recorded(mirrored: tuple[Any, int]) -> None:
    hub, _ = mirrored
    runtime = runtime_on(hub.data_dir)
    try:
        events = runtime.records.events_in_open("hard")
    finally:
        runtime.close()
    assert ("bfu", "lecture-1@bfu.example") in events
    assert ("bfu", "local-clash") in events


def test_a_phone_cannot_change_or_delete_a_mirrored_event(mirrored: tuple[Any, int]) -> None:
    hub, source = mirrored
    got = hub.request("GET", HREF, "bfu", PASSWORDS["bfu"])
    assert got.status == 200
    changed = got.text.replace("Лекция", "Лекция, изменена с телефона")
    put = hub.request("PUT", HREF, "bfu", PASSWORDS["bfu"], changed)
    assert put.status == 403, put.text
    assert f"source № {source}" in put.text and "change it there" in put.text
    deleted = hub.request("DELETE", HREF, "bfu", PASSWORDS["bfu"])
    assert deleted.status == 403, deleted.text
    assert f"источник № {source}" in deleted.text
    coordinator = hub.request("DELETE", HREF, "coordinator", PASSWORDS["coordinator"])
    assert coordinator.status == 403
    still = hub.request("GET", HREF, "bfu", PASSWORDS["bfu"])
    assert still.status == 200 and "изменена" not in still.text
    # Refused before Radicale: inside it, a DELETE refusal would be logged as a crash.
    assert "app/delete.py" not in hub.stderr(), hub.stderr()[-3000:]


def test_a_forged_marker_is_refused_and_plain_events_still_go_in(
    mirrored: tuple[Any, int],
) -> None:
    hub, source = mirrored
    forged = make_event("forged-1", "Подделка", _at(10), _at(11)).replace(
        "END:VEVENT", f"X-CALHUB-SOURCE:{source}\r\nEND:VEVENT"
    )
    put = hub.request("PUT", "/dav/bfu/calendar/forged-1.ics", "bfu", PASSWORDS["bfu"], forged)
    assert put.status == 403, put.text
    plain = make_event("plain-1", "Обычное", _at(8), _at(9))
    put = hub.request("PUT", "/dav/bfu/calendar/plain-1.ics", "bfu", PASSWORDS["bfu"], plain)
    assert put.status == 201, put.text


def test_the_website_refuses_to_edit_a_mirrored_event(mirrored: tuple[Any, int]) -> None:
    hub, source = mirrored
    runtime = runtime_on(hub.data_dir)
    try:
        calendar = runtime.settings.calendar("bfu")
        assert calendar is not None
        with pytest.raises(MirroredEvent) as refused:
            edit_event(
                runtime,
                open_storage(runtime),
                login="coordinator",
                calendar=calendar,
                uid="lecture-1@bfu.example",
                recurrence_id="",
                fields=EventFields(summary="Правка на сайте"),
            )
    finally:
        runtime.close()
    assert refused.value.source_id == source
    assert "127.0.0.1" in refused.value.named
