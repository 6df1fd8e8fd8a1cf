"""Issue 11, finding 6: one write cannot flood the clash records.

A daily series in the assembly hall for grades 5-11 clashed with every lesson it met, and
each date of each clash was a record of its own (~1,200 for one PUT). Against a real hub:
one record per rule and pair of events, listing its dates; every list paged (API, CLI,
web); an approval covers every date of a record and a date joining it reopens it; resolved
records of deleted events purged after ``[records] retention_days``, and never a record
with a live event.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from typing import Any

from helpers import PASSWORDS
from reliability_support import api_json, at, calhub_cli, day, delete, event, put, record

SCHOOL = "/dav/school/calendar/"
BFU = "/dav/bfu/calendar/"
KGTU = "/dav/kgtu/calendar/"
PAIR_RULES = {"audience", "venue"}
SERIES_DAYS = 50
WEEKS = 6


def series(uid: str, summary: str, start: dt.datetime, count: int, freq: str, **kw: Any) -> str:
    text = event(uid, summary, start, **kw)
    return text.replace("END:VEVENT", f"RRULE:FREQ={freq};COUNT={count}\r\nEND:VEVENT")


def flood(hub: Any) -> None:
    """The issue's case in small: a daily hall series for 5-11 among other events."""
    start = at(day(0), 10)
    hall = "Актовый зал"
    rehearsal = series("flood", "Репетиция [5-11]", start, SERIES_DAYS, "DAILY", location=hall)
    assert put(hub, "coordinator", f"{SCHOOL}flood.ics", rehearsal).status in (201, 204)
    lecture = series("lecture", "Лекция [9]", start, WEEKS, "WEEKLY")
    assert put(hub, "bfu", f"{BFU}lecture.ics", lecture).status in (201, 204)
    concert = series("concert", "Концерт [6]", start, WEEKS, "WEEKLY", location=hall)
    assert put(hub, "kgtu", f"{KGTU}concert.ics", concert).status in (201, 204)
    for n in (1, 2, 3):
        single = event(f"single{n}", f"Экскурсия {n} [8]", at(day(n), 10))
        assert put(hub, "bfu", f"{BFU}single{n}.ics", single).status in (201, 204)


def pair_records(hub: Any, query: str = "") -> list[dict[str, Any]]:
    records = api_json(hub, f"/api/conflicts?limit=1000{query}")
    return [r for r in records if r["rule"] in PAIR_RULES]


def between(records: list[dict[str, Any]], rule: str, uid: str) -> dict[str, Any]:
    [found] = [
        r for r in records if r["rule"] == rule and uid in {o["uid"] for o in r["occurrences"]}
    ]
    return found


def post_json(hub: Any, path: str, body: Any) -> Any:
    return hub.request(
        "POST",
        path,
        "coordinator",
        PASSWORDS["coordinator"],
        body=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )


def test_one_daily_series_makes_one_record_per_rule_and_pair_of_events(fresh_hub: Any) -> None:
    hub = fresh_hub()
    flood(hub)
    records = pair_records(hub)
    # Today's main: 6 + 6 + 6 + 3 = 21 records, one per pair of occurrences.
    assert len(records) == 6, [r["rule"] for r in records]
    assert between(records, "audience", "lecture")["count"] == WEEKS
    assert between(records, "audience", "concert")["count"] == WEEKS
    assert between(records, "venue", "concert")["count"] == WEEKS
    assert [between(records, "audience", f"single{n}")["count"] for n in (1, 2, 3)] == [1, 1, 1]
    lecture = between(records, "audience", "lecture")
    # Shown by one date (the next to come), with every date in the record itself.
    assert len(lecture["occurrences"]) == 2
    assert lecture["next_start"] == lecture["first_start"]
    assert "Всего совпадений: 6" in lecture["message"]["ru"]
    detail = api_json(hub, f"/api/conflicts/{lecture['id']}")
    starts = [i["start"] for i in detail["instances"]]
    assert len(starts) == WEEKS and starts == sorted(starts)
    part = api_json(hub, f"/api/conflicts/{lecture['id']}?limit=2&offset=1")
    assert [i["start"] for i in part["instances"]] == starts[1:3]
    everything = api_json(hub, "/api/conflicts?limit=1000")
    overload = [r for r in everything if r["rule"] == "overload"]
    # Today's main: one record per grade and week (45 here); now one per set of events,
    # each listing its grade-weeks, each shown by one of them.
    assert 0 < len(overload) <= 8, len(overload)
    assert sum(r["count"] for r in overload) > 4 * len(overload)
    assert all(len(r["occurrences"]) <= 10 for r in overload)
    record(
        "clash flood",
        series_days=SERIES_DAYS,
        pair_records=len(records),
        all_records=len(everything),
        overload_records=len(overload),
        overload_grade_weeks=sum(r["count"] for r in overload),
    )


def test_every_list_is_paged_with_its_total(fresh_hub: Any) -> None:
    hub = fresh_hub()
    flood(hub)
    everything = api_json(hub, "/api/conflicts?limit=1000")
    first = hub.request("GET", "/api/conflicts?limit=2", "coordinator", PASSWORDS["coordinator"])
    assert first.status == 200
    assert len(json.loads(first.text)) == 2
    assert first.header("x-total-count") == str(len(everything))
    assert 'rel="next"' in first.header("link") and "offset=2" in first.header("link")
    second = api_json(hub, "/api/conflicts?limit=2&offset=2")
    assert [r["id"] for r in second] == [r["id"] for r in everything[2:4]]
    # Open first, hard first, then by the next date to come.
    hard_open = [r for r in everything if r["status"] == "open" and r["severity"] == "hard"]
    assert everything[: len(hard_open)] == hard_open
    upcoming = [r["next_start"] for r in hard_open]
    assert upcoming == sorted(upcoming)
    bad = hub.request("GET", "/api/conflicts?limit=0", "coordinator", PASSWORDS["coordinator"])
    assert bad.status == 400 and "limit" in json.loads(bad.text)["error"]
    # The CLI: a page by default, --all for every one, the exit status over all of them.
    shown = calhub_cli(hub.data_dir, "conflicts", "--limit", "2")
    assert shown.returncode == 1, shown.stderr
    assert f"{len(everything)} clashes" in shown.stdout and "--all" in shown.stdout
    assert len([line for line in shown.stdout.splitlines() if "  hard" in line]) == 2
    whole = calhub_cli(hub.data_dir, "conflicts", "--all", "--json", "--status", "open")
    assert len(json.loads(whole.stdout)) == sum(1 for r in everything if r["status"] == "open")
    soft_page = calhub_cli(hub.data_dir, "conflicts", "--severity", "soft", "--limit", "1")
    assert soft_page.returncode == 0, "no open hard clash among soft ones"


def test_an_approval_covers_every_date_and_a_date_joining_reopens_it(fresh_hub: Any) -> None:
    hub = fresh_hub()
    flood(hub)
    target = between(pair_records(hub), "audience", "lecture")
    approved = post_json(hub, f"/api/conflicts/{target['id']}/approve", {"comment": "Зал делят"})
    assert approved.status == 200 and json.loads(approved.text)["status"] == "approved"
    # The series extended by a week: a date nobody approved joined the record.
    longer = series("lecture", "Лекция [9]", at(day(0), 10), WEEKS + 1, "WEEKLY")
    assert put(hub, "bfu", f"{BFU}lecture.ics", longer).status in (201, 204)
    now = api_json(hub, f"/api/conflicts/{target['id']}")
    assert (now["status"], now["count"]) == ("open", WEEKS + 1)
    assert now["history"][0]["action"] == "changed"
    assert "добавилось" in now["history"][0]["message"]["ru"]
    # Back to the dates approved: approved again.
    shorter = series("lecture", "Лекция [9]", at(day(0), 10), WEEKS, "WEEKLY")
    assert put(hub, "bfu", f"{BFU}lecture.ics", shorter).status in (201, 204)
    assert api_json(hub, f"/api/conflicts/{target['id']}")["status"] == "approved"
    # In a reject calendar the extension is refused; a new title of every date is not.
    from reliability_support import set_policy

    set_policy(hub.data_dir, "bfu", "reject")
    time.sleep(1.1)  # the config file's mtime, as the running hub sees it
    assert put(hub, "bfu", f"{BFU}lecture.ics", longer).status == 409
    renamed = series("lecture", "Лекция по физике [9]", at(day(0), 10), WEEKS, "WEEKLY")
    assert put(hub, "bfu", f"{BFU}lecture.ics", renamed).status in (201, 204)
    assert api_json(hub, f"/api/conflicts/{target['id']}")["status"] == "approved"


def test_resolved_records_of_deleted_events_are_purged_after_the_retention(
    fresh_hub: Any,
) -> None:
    root = fresh_hub.create({"failed_login_delay": 0.0})
    (root / "calhub.toml").write_text(
        (root / "calhub.toml").read_text(encoding="utf-8") + "\n[records]\nretention_days = 3\n",
        encoding="utf-8",
    )
    hub = fresh_hub.serve(root)
    flood(hub)
    records = pair_records(hub)
    lecture = between(records, "audience", "lecture")
    assert (
        post_json(hub, f"/api/conflicts/{lecture['id']}/approve", {"comment": "ок"}).status == 200
    )
    gone = between(records, "audience", "single1")["id"]
    kept = between(records, "audience", "single2")["id"]
    # The series and one single event deleted: every record of the series resolved.
    assert delete(hub, f"{SCHOOL}flood.ics").status in (200, 204)
    assert delete(hub, f"{BFU}single1.ics", "bfu").status in (200, 204)
    assert {r["status"] for r in pair_records(hub)} == {"resolved"}
    assert hub.stop() == 0
    fresh_hub.servers.remove(hub)
    # Four days later, as far as the records know.
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with sqlite3.connect(root / "hub.sqlite") as db:
        db.execute("UPDATE clashes SET resolved_at=? WHERE resolved=1", (old,))
    db.close()
    hub = fresh_hub.serve(root)
    # The first write after the start purges.
    other = event("other", "Кружок [3]", at(day(60), 18))
    assert put(hub, "bfu", f"{BFU}other.ics", other).status in (200, 201, 204)
    ids = {r["id"] for r in pair_records(hub)}
    assert gone not in ids, "both events deleted: purged"
    assert kept in ids, "single2 still exists: its record stays"
    assert lecture["id"] in ids, "the lecture still exists: its approved record stays"
    with sqlite3.connect(root / "hub.sqlite") as db:
        left = db.execute("SELECT count(*) FROM history WHERE clash_id=?", (gone,)).fetchone()
        approval = db.execute(
            "SELECT count(*) FROM approvals WHERE clash_id=?", (lecture["id"],)
        ).fetchone()
    db.close()
    assert left == (0,) and approval == (1,)
