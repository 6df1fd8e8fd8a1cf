"""The audit log of bulk writes: a spreadsheet import leaves one entry per event it wrote
(naming the file, so each event's history shows it), an import refused half-way and undone
leaves none, and a mirrored source's writes are the source's (``source:<id>``)."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clash_support import put_event, set_policy
from helpers import run_cli
from sources_support import FeedServer, feed, feed_server, vevent

HEADER = "Дата;Время;Партнёр;Мероприятие;Классы;Место"


def entries(root: Path, *args: str) -> list[dict[str, Any]]:
    code, out, err = run_cli(["audit", "--json", "--data", str(root), *args])
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def import_sheet(root: Path, path: Path, *lines: str) -> int:
    path.write_text("\n".join((HEADER, *lines)) + "\n", encoding="utf-8")
    code, out, err = run_cli(["import", str(path), "--json", "--data", str(root)])
    assert out, err
    return code


@pytest.fixture
def hub(fresh_hub: Any) -> Any:
    return fresh_hub()


def test_an_import_is_one_entry_per_event_naming_the_file(hub: Any, tmp_path: Path) -> None:
    root = hub.data_dir
    sheet = tmp_path / "plan.csv"
    assert import_sheet(root, sheet, "08.02.2027;15:00;БФУ;Лекция;10А;Ауд. 1",
                        "09.02.2027;15:00;КГТУ;Экскурсия;9Б;") == 0  # fmt: skip
    imported = [e for e in entries(root) if e["via"] == "import"]
    assert sorted((e["calendar"], e["action"], e["after"]["title"]) for e in imported) == [
        ("bfu", "created", "Лекция"),
        ("kgtu", "created", "Экскурсия"),
    ]
    assert {(e["actor"], e["subject"]) for e in imported} == {
        (f"cli:{getpass.getuser()}", "plan.csv")
    }
    # The sheet changed: the changed event gets a "changed" entry with both versions.
    assert import_sheet(root, sheet, "08.02.2027;16:00;БФУ;Лекция;10А;Ауд. 2",
                        "09.02.2027;15:00;КГТУ;Экскурсия;9Б;") == 0  # fmt: skip
    [lecture_uid] = {e["uid"] for e in imported if e["calendar"] == "bfu"}
    history = entries(root, "--uid", lecture_uid)
    assert [e["action"] for e in history] == ["created", "changed"]
    assert history[1]["before"]["venue"] == "Ауд. 1" and history[1]["after"]["venue"] == "Ауд. 2"


def test_an_import_undone_leaves_no_entry(hub: Any, tmp_path: Path) -> None:
    set_policy(hub, "kgtu", "reject")
    put_event(hub, "bfu", "/bfu/calendar/", "lecture", "Лекция [10А]",
              dt.datetime(2027, 2, 8, 15), dt.datetime(2027, 2, 8, 16))  # fmt: skip
    before = entries(hub.data_dir)
    code = import_sheet(hub.data_dir, tmp_path / "plan.csv",
                        "09.02.2027;15:30;БФУ;Записана и отменена;10А;",
                        "08.02.2027;15:30;КГТУ;Экскурсия;10А;")  # fmt: skip
    assert code == 1
    assert entries(hub.data_dir) == before


@pytest.fixture
def partner_feed() -> Iterator[FeedServer]:
    yield from feed_server()


def test_a_mirrored_source_writes_as_the_source(
    fresh_hub: Any, runner: Any, partner_feed: FeedServer
) -> None:
    root = fresh_hub.create()
    lecture = vevent("m-1@bfu.example", "Лекция", "20271201T150000", "20271201T160000")
    partner_feed.serve(feed(lecture))
    code, out, err = runner("source", "add", "bfu", partner_feed.url, "--json", "--data", str(root))
    assert code == 0, err
    source = json.loads(out)["id"]
    code, _, err = runner("source", "sync", str(source), "--data", str(root))
    assert code == 0, err
    partner_feed.serve(feed())
    code, _, err = runner("source", "sync", str(source), "--data", str(root))
    assert code == 0, err
    mirrored = entries(root, "--uid", "m-1@bfu.example")
    assert [(e["action"], e["actor"], e["via"]) for e in mirrored] == [
        ("created", f"source:{source}", "source"),
        ("deleted", f"source:{source}", "source"),
    ]
    assert mirrored[0]["after"]["title"] == "Лекция"
    added = [e for e in entries(root) if e["action"] == "source-added"]
    assert len(added) == 1 and "?" not in added[0]["subject"]
