"""Hub to hub: hub A publishes its partner's calendar as a feed, hub B mirrors it as a
source (the same UIDs sync after sync), and when hub A in turn mirrors hub B's feed of that
calendar, the events B mirrored from A are left out: nothing comes back, no loop."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from helpers import PASSWORDS, make_event, run_cli
from sources_support import runtime_on


def cli_json(*argv: str) -> dict[str, Any]:
    code, out, err = run_cli(list(argv))
    assert code == 0, (out, err)
    shown: dict[str, Any] = json.loads(out)
    return shown


def feed_of(hub: Any, calendar: str) -> str:
    created = cli_json(
        "feed", "create", "--scope", f"calendar:{calendar}", "--url", hub.url.rstrip("/"),
        "--json", "--data", str(hub.data_dir),
    )  # fmt: skip
    return str(created["url"])


def uids_of(root: Path, calendar: str) -> set[str]:
    runtime = runtime_on(root)
    try:
        return {item.uid for item in runtime.index.items(calendar).values()}
    finally:
        runtime.close()


def test_two_hubs_federate_one_partner_without_a_loop(fresh_hub: Any) -> None:
    hub_a, hub_b = fresh_hub(), fresh_hub()
    start = dt.datetime(2027, 7, 5, 10, 0)
    lecture = make_event("open-day", "День открытых дверей", start, start + dt.timedelta(hours=2))
    put = hub_a.request("PUT", "/dav/bfu/calendar/open-day.ics", "bfu", PASSWORDS["bfu"], lecture)
    assert put.status == 201, put.text

    from_a = cli_json("source", "add", "bfu", feed_of(hub_a, "bfu"), "--json",
                      "--data", str(hub_b.data_dir))  # fmt: skip
    first = cli_json("source", "sync", str(from_a["id"]), "--json", "--data", str(hub_b.data_dir))
    assert first["added"] == 1, first
    assert uids_of(hub_b.data_dir, "bfu") == {"open-day@bfu"}

    # Hub A mirrors hub B's feed of the same partner: B's copy of A's event is not taken.
    from_b = cli_json("source", "add", "kgtu", feed_of(hub_b, "bfu"), "--json",
                      "--data", str(hub_a.data_dir))  # fmt: skip
    back = cli_json("source", "sync", str(from_b["id"]), "--json", "--data", str(hub_a.data_dir))
    assert (back["added"], back["mirrored"]) == (0, 0), back
    assert "другого хаба" in back["note"]
    assert uids_of(hub_a.data_dir, "kgtu") == set()

    # A change at the origin reaches B under the same UID; B's feed still marks it a copy.
    moved = lecture.replace("День открытых дверей", "День открытых дверей (перенесён)")
    put = hub_a.request("PUT", "/dav/bfu/calendar/open-day.ics", "bfu", PASSWORDS["bfu"], moved)
    assert put.status == 204, put.text
    second = cli_json("source", "sync", str(from_a["id"]), "--json", "--data", str(hub_b.data_dir))
    assert (second["added"], second["changed"]) == (0, 1), second
    assert uids_of(hub_b.data_dir, "bfu") == {"open-day@bfu"}
    feed_b = hub_b.request("GET", "/" + feed_of(hub_b, "bfu").split("/", 3)[3])
    assert "UID:open-day@bfu\r\n" in feed_b.text and "X-CALHUB-MIRRORED:1" in feed_b.text
    assert "X-CALHUB-SOURCE" not in feed_b.text
