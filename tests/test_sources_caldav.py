"""A CalDAV source: a second hub's Radicale on loopback serves a partner's calendar, read
with the ``caldav`` library (sync-collection): adds, changes and deletions are mirrored, an
unchanged calendar (same sync token) costs no write, a wrong password is a clear error."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import PASSWORDS, assert_user_error, make_event, run_cli
from sources_support import calendar_files, runtime_on


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2027, 6, day, hour, 0)


def put(remote: Any, uid: str, summary: str, day: int) -> None:
    body = make_event(uid, summary, at(day, 10), at(day, 11))
    answer = remote.request("PUT", f"/dav/kgtu/calendar/{uid}.ics", "kgtu", PASSWORDS["kgtu"], body)
    assert answer.status in (201, 204), answer.text


def sync(root: Path, source: int) -> dict[str, Any]:
    code, out, err = run_cli(["source", "sync", str(source), "--json", "--data", str(root)])
    assert code == 0, (out, err)
    shown: dict[str, Any] = json.loads(out)
    return shown


def test_a_remote_caldav_calendar_is_mirrored_with_its_changes(
    fresh_hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = fresh_hub()
    put(remote, "kgtu-a", "Лекция А", 1)
    put(remote, "kgtu-b", "Лекция Б", 2)
    root: Path = fresh_hub.create()
    monkeypatch.setenv("KGTU_PASSWORD", PASSWORDS["kgtu"])
    url = remote.dav_url + "kgtu/calendar/"
    code, out, err = run_cli(
        ["source", "add", "bfu", url, "--kind", "caldav", "--username", "kgtu",
         "--password-env", "KGTU_PASSWORD", "--json", "--data", str(root)]
    )  # fmt: skip
    assert code == 0, err
    source = int(json.loads(out)["id"])
    first = sync(root, source)
    assert (first["added"], first["mirrored"]) == (2, 2), first
    before = calendar_files(root)
    again = sync(root, source)
    assert again["not_modified"] is True, again
    assert calendar_files(root) == before

    put(remote, "kgtu-a", "Лекция А (перенесена)", 3)
    gone = remote.request("DELETE", "/dav/kgtu/calendar/kgtu-b.ics", "kgtu", PASSWORDS["kgtu"])
    assert gone.status in (200, 204)
    third = sync(root, source)
    assert (third["added"], third["changed"], third["removed"]) == (0, 1, 1), third
    runtime = runtime_on(root)
    try:
        [moved] = runtime.index.occurrences_of("bfu", "kgtu-a")
        assert moved.summary == "Лекция А (перенесена)"
        assert runtime.index.href_of("bfu", "kgtu-b") is None
    finally:
        runtime.close()

    monkeypatch.setenv("KGTU_PASSWORD", "wrong-password")
    assert_user_error(
        run_cli(["source", "sync", str(source), "--data", str(root)]), "refused access"
    )
    monkeypatch.delenv("KGTU_PASSWORD")
    assert_user_error(
        run_cli(["source", "sync", str(source), "--data", str(root)]), "KGTU_PASSWORD"
    )
    assert calendar_files(root).keys() == {"kgtu-a.ics"}
