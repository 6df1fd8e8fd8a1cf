"""The clash records a series of writes leaves are the records a full scan makes from the
same storage (issue 21: the moved event's PUT writes each occurrence's JSON once per sync,
and commits its audit entry with the records).

A seeded, randomised series of creations, moves (If-Match PUTs to another time, to another
week, to other classes) and deletions goes to a real hub over HTTP, in a week dense enough
for overload (at most two events per grade and week here) and for pair clashes. Then the
same data directory, without its ``hub.sqlite``, is rebuilt by ``calhub index rebuild``:
every unresolved record of the incremental run must be there, with the same rows, instances
and members, and no other. Each write that was stored has exactly one audit entry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import tomlkit
from clash_support import at, own_week
from helpers import PASSWORDS, make_event

from calhub.hub.filewatch import write_atomically
from calhub.store.clash_versions import key
from calhub.store.records import GROUP_RULES

CALENDARS = {"bfu": "/bfu/calendar/", "kgtu": "/kgtu/calendar/"}
AUDIENCES = ("[10]", "[10-11]", "[11А]", "[10Б, 11Б]", "[9-11]")
STEPS = 48


def dense_overload(root: Path) -> None:
    path = root / "calhub.toml"
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    document["rules"]["overload"]["max_per_week"] = 2  # type: ignore[index]
    write_atomically(path, tomlkit.dumps(document))


def active_records(data_dir: Path) -> dict[str, tuple[Any, ...]]:
    """Every unresolved record as stored: its row, instances and members."""
    with contextlib.closing(sqlite3.connect(data_dir / "hub.sqlite")) as db:
        rows = db.execute(
            "SELECT id, rule, severity, first_start, last_end, instances, version, "
            "occurrences, message_ru, message_en FROM clashes WHERE resolved=0"
        ).fetchall()
        found = {}
        for rid, rule, *row, message_ru, message_en in rows:
            instances = db.execute(
                "SELECT instance, start_at, end_at, occurrences FROM clash_instances "
                "WHERE clash_id=? ORDER BY instance",
                (rid,),
            ).fetchall()
            members = db.execute(
                "SELECT calendar, uid FROM clash_members WHERE clash_id=? ORDER BY 1, 2", (rid,)
            ).fetchall()
            check_texts(row[-1], [instance[3] for instance in instances])
            # A group record's message is its earliest instance's when written whole, the
            # earliest arriving one's when a write adds to it: not compared for those.
            said = () if rule in GROUP_RULES else (message_ru, message_en)
            found[rid] = (rule, *row, *said, instances, members)
    return found


def check_texts(record: str, instances: list[str]) -> None:
    """Each stored text is what ``json.dumps`` writes for it, and the record's occurrences
    are those of its instances, once each, in key order."""
    for text in (record, *instances):
        assert text == json.dumps(json.loads(text), ensure_ascii=False)
    union = {key(o): o for text in instances for o in json.loads(text)}
    assert json.loads(record) == [union[k] for k in sorted(union)]


def event_entries(data_dir: Path) -> list[tuple[str, str, str]]:
    with contextlib.closing(sqlite3.connect(data_dir / "hub.sqlite")) as db:
        return db.execute(
            "SELECT action, calendar, uid FROM audit_log WHERE uid != '' ORDER BY id"
        ).fetchall()


def test_records_after_random_writes_equal_a_full_rescan(fresh_hub: Any, runner: Any) -> None:
    root = fresh_hub.create()
    dense_overload(root)
    hub = fresh_hub.serve(root)
    rng = random.Random(21)
    day = own_week()
    etags: dict[str, tuple[str, str]] = {}  # uid -> (login, etag)
    stored: list[tuple[str, str, str]] = []  # (action, calendar, uid) of each stored write
    for step in range(STEPS):
        known = sorted(etags)
        grown = len(known) >= 8  # enough events first, then mostly moves
        if grown and rng.random() < 0.1:
            uid = rng.choice(known)
            login, etag = etags.pop(uid)
            response = hub.request(
                "DELETE",
                f"/dav{CALENDARS[login]}{uid}.ics",
                login,
                PASSWORDS[login],
                headers={"If-Match": etag},
            )
            assert response.status in (200, 204), response.text
            stored.append(("deleted", login, uid))
            continue
        moving = grown and rng.random() < 0.75
        if moving:
            uid = rng.choice(known)
            login = etags[uid][0]
        else:
            uid, login = f"r{step}", rng.choice(sorted(CALENDARS))
        days, hours = rng.choice((0, 1, 2, 7, 8)), rng.randrange(4)
        start = at(day, 9) + dt.timedelta(days=days, hours=hours)
        summary = f"Занятие {step} {rng.choice(AUDIENCES)}"
        text = make_event(uid, summary, start, start + dt.timedelta(hours=1))
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if moving:
            headers["If-Match"] = etags[uid][1]
        response = hub.request(
            "PUT",
            f"/dav{CALENDARS[login]}{uid}.ics",
            login,
            PASSWORDS[login],
            body=text,
            headers=headers,
        )
        if response.status == 409:  # a hard clash refused: nothing stored, no entry
            continue
        assert response.status in (201, 204), (response.status, response.text)
        etags[uid] = (login, response.header("ETag"))
        stored.append(("changed" if moving else "created", login, uid))
    hub.stop()

    incremental = active_records(root)
    assert any(record[0] == "overload" for record in incremental.values())
    assert any(record[0] not in GROUP_RULES for record in incremental.values())
    assert event_entries(root) == stored

    again = root.parent / "rescanned"
    # Everything but hub.sqlite (and its log): the records are made again from storage.
    shutil.copytree(root, again, ignore=shutil.ignore_patterns("hub.sqlite*"))
    code, _, err = runner("index", "rebuild", "--data", str(again))
    assert code == 0, err
    assert active_records(again) == incremental
