"""The audit log against a real hub: CalDAV writes by the real caldav client and raw HTTP
(PUT, change, MOVE, DELETE) leave one entry each with the login, 127.0.0.1 and the event
before and after; approvals and reopens through the API leave theirs; ``calhub audit``
prints, filters and exports them (JSON lines, CSV with formulas defused); no password or
token is anywhere in the database file."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from clash_support import approve, at, conflicts, involving, past_week, put_event
from helpers import PASSWORDS, dav_client, make_event, unique_slot


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    return module_hubs()


def audit(runner: Any, hub: Any, *args: str) -> list[dict[str, Any]]:
    code, out, err = runner("audit", "--json", "--data", str(hub.data_dir), *args)
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def of_event(entries: list[dict[str, Any]], uid: str) -> list[dict[str, Any]]:
    return [e for e in entries if e["uid"] == uid]


def test_caldav_writes_are_recorded_with_login_address_and_summaries(hub: Any, runner: Any) -> None:
    client = dav_client(hub.url + "dav/", "bfu")
    calendar = client.calendar(url=hub.url + "dav/bfu/calendar/")
    start, end = unique_slot()
    calendar.save_event(make_event("au-1", "Лекция [10]", start, end, location="Ауд. 5"))
    changed = make_event("au-1", "Лекция по физике [10-11]", start, end, location="Ауд. 7")
    calendar.save_event(changed)
    calendar.event_by_uid("au-1").delete()

    entries = of_event(audit(runner, hub, "--calendar", "bfu"), "au-1")
    assert [e["action"] for e in entries] == ["created", "changed", "deleted"]
    for entry in entries:
        assert (entry["actor"], entry["address"], entry["via"]) == ("bfu", "127.0.0.1", "caldav")
    created, edited, deleted = entries
    assert created["before"] is None
    assert created["after"]["title"] == "Лекция [10]"
    assert created["after"]["venue"] == "Ауд. 5"
    assert created["after"]["audience"] == "10"
    assert edited["before"] == created["after"]
    assert edited["after"]["title"] == "Лекция по физике [10-11]"
    assert edited["after"]["audience"] == "10–11"
    assert edited["after"]["venue"] == "Ауд. 7"
    assert deleted["before"] == edited["after"]
    assert deleted["after"] is None
    # Times are UTC text: 15:00 in Kaliningrad (UTC+2) is 13:00Z; the listing shows 15:00.
    assert created["after"]["start"].endswith("T13:00:00Z")
    code, out, _ = runner("audit", "--uid", "au-1", "--data", str(hub.data_dir))
    assert code == 0 and "Times in Europe/Kaliningrad" in out
    assert f"{start:%Y-%m-%d} 15:00" in out and "удалено / deleted" in out


def test_a_move_is_one_entry_naming_both_calendars(hub: Any, runner: Any) -> None:
    start, end = unique_slot()
    put = hub.request(
        "PUT",
        "/dav/school/calendar/au-mv.ics",
        "coordinator",
        PASSWORDS["coordinator"],
        body=make_event("au-mv", "Совещание [9]", start, end),
        headers={"Content-Type": "text/calendar"},
    )
    assert put.status == 201, put.text
    moved = hub.request(
        "MOVE",
        "/dav/school/calendar/au-mv.ics",
        "coordinator",
        PASSWORDS["coordinator"],
        headers={"Destination": hub.url + "dav/kgtu/calendar/au-mv.ics"},
    )
    assert moved.status in (201, 204), moved.text
    entries = of_event(audit(runner, hub), "au-mv")
    assert [(e["action"], e["calendar"]) for e in entries] == [
        ("created", "school"),
        ("moved", "kgtu"),
    ]
    assert entries[1]["subject"] == "from school"
    assert entries[1]["before"]["title"] == entries[1]["after"]["title"] == "Совещание [9]"


def test_a_refused_write_leaves_no_entry(hub: Any, runner: Any) -> None:
    refused = hub.request(
        "PUT",
        "/dav/bfu/calendar/au-bad.ics",
        "bfu",
        PASSWORDS["bfu"],
        body="BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        headers={"Content-Type": "text/calendar"},
    )
    assert refused.status >= 400
    forbidden = hub.request(
        "PUT",
        "/dav/kgtu/calendar/au-other.ics",
        "bfu",
        PASSWORDS["bfu"],
        body=make_event("au-other", "Чужое", *unique_slot()),
        headers={"Content-Type": "text/calendar"},
    )
    assert forbidden.status == 403
    entries = audit(runner, hub)
    assert not of_event(entries, "au-bad") and not of_event(entries, "au-other")


def test_approvals_and_reopens_are_recorded(hub: Any, runner: Any) -> None:
    day = past_week()
    put_event(hub, "bfu", "/bfu/calendar/", "au-c1", "Лекция [8]", at(day, 10), at(day, 11))
    put_event(hub, "kgtu", "/kgtu/calendar/", "au-c2", "Практика [8А]", at(day, 10), at(day, 11))
    [record] = [r for r in involving(conflicts(hub), "au-c1", "au-c2") if r["rule"] == "audience"]
    approve(hub, record["id"], "Разные корпуса")
    reopened = hub.request(
        "POST",
        f"/api/conflicts/{record['id']}/reopen",
        "coordinator",
        PASSWORDS["coordinator"],
        body=json.dumps({"comment": "Передумали"}),
        headers={"Content-Type": "application/json"},
    )
    assert reopened.status == 200, reopened.text
    entries = audit(runner, hub, "--clash", record["id"])
    assert [(e["action"], e["actor"], e["comment"]) for e in entries] == [
        ("approved", "coordinator", "Разные корпуса"),
        ("reopened", "coordinator", "Передумали"),
    ]
    assert all(e["address"] == "127.0.0.1" and e["via"] == "api" for e in entries)
    assert "«Лекция [8]»" in entries[0]["subject"]
    # The actor filter and the text listing.
    assert {e["action"] for e in audit(runner, hub, "--actor", "kgtu")} >= {"created"}
    code, out, _ = runner("audit", "--clash", record["id"], "--data", str(hub.data_dir))
    assert code == 0
    assert "согласована / clash approved" in out and "«Разные корпуса»" in out


def test_the_csv_export_defuses_formulas(hub: Any, runner: Any) -> None:
    client = dav_client(hub.url + "dav/", "kgtu")
    calendar = client.calendar(url=hub.url + "dav/kgtu/calendar/")
    calendar.save_event(make_event("au-f", '=HYPERLINK("http://evil")', *unique_slot()))
    code, out, err = runner("audit", "--csv", "--calendar", "kgtu", "--data", str(hub.data_dir))
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out), delimiter=";"))
    assert rows[0][0].startswith("Время")
    [row] = [r for r in rows if r[6] == "au-f"]
    assert row[10].startswith("'=HYPERLINK")
    assert row[1] == "kgtu"


def test_bad_filters_are_refused_with_what_to_do(hub: Any, runner: Any) -> None:
    code, _, err = runner("audit", "--calendar", "nope", "--data", str(hub.data_dir))
    assert code == 2 and "nope" in err and "calhub:" in err
    code, _, err = runner("audit", "--from", "2027-13-01", "--data", str(hub.data_dir))
    assert code == 2 and "YYYY-MM-DD" in err
    code, _, err = runner(
        "audit", "--from", "2027-02-10", "--to", "2027-02-01", "--data", str(hub.data_dir)
    )
    assert code == 2 and "--from" in err


def test_no_password_or_token_is_in_the_database(hub: Any, runner: Any) -> None:
    code, out, err = runner(
        "feed", "create", "--scope", "audience:10А", "--data", str(hub.data_dir)
    )
    assert code == 0, err
    token = next(w for line in out.splitlines() for w in line.split() if "/feeds/" in w)
    secret = token.rsplit("/", 1)[1].removesuffix(".ics")
    feed_id = next(e for e in audit(runner, hub) if e["action"] == "feed-created")["subject"]
    assert feed_id.startswith("feed ")
    code, _, err = runner(
        "feed", "revoke", feed_id.split()[1].rstrip(":"), "--data", str(hub.data_dir)
    )
    assert code == 0, err
    new_password = "kgtu-new-secret-77"
    code, _, err = runner(
        "partner", "passwd", "kgtu", "--password-stdin", "--data", str(hub.data_dir),
        input=new_password + "\n",
    )  # fmt: skip
    assert code == 0, err
    actions = [e["action"] for e in audit(runner, hub)]
    assert "feed-created" in actions and "feed-revoked" in actions
    [changed] = [e for e in audit(runner, hub) if e["action"] == "account-changed"]
    assert changed["subject"] == "partner kgtu: new password" and changed["via"] == "cli"
    # Fold the write-ahead log in, then look at every byte of the file.
    code, _, _ = runner("audit", "prune", "--keep-days", "36600", "--data", str(hub.data_dir))
    assert code == 0
    files = [p for p in Path(hub.data_dir).glob("hub.sqlite*") if p.is_file()]
    data = b"".join(p.read_bytes() for p in files)
    assert b"au-1" in data  # the entries are in these files
    for secret_text in [*PASSWORDS.values(), secret, new_password]:
        assert secret_text.encode() not in data, secret_text


def test_an_entry_that_cannot_be_written_fails_the_write_loudly(hub: Any, runner: Any) -> None:
    """The event is stored, the client is told it may not be (500) and sends it again; the
    entry is in the server's log meanwhile, never silently lost."""
    database = Path(hub.data_dir) / "hub.sqlite"
    with sqlite3.connect(database) as db:
        db.execute(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END"
        )
    body = make_event("au-fail", "Лекция при сбое [10]", *unique_slot())
    try:
        failed = hub.request(
            "PUT",
            "/dav/bfu/calendar/au-fail.ics",
            "bfu",
            PASSWORDS["bfu"],
            body=body,
            headers={"Content-Type": "text/calendar"},
        )
        assert failed.status == 500
        assert "Audit entry not written: created  bfu/au-fail by bfu from 127.0.0.1" in hub.stderr()
    finally:
        with sqlite3.connect(database) as db:
            db.execute("DROP TRIGGER refuse_audit")
    again = hub.request(
        "PUT",
        "/dav/bfu/calendar/au-fail.ics",
        "bfu",
        PASSWORDS["bfu"],
        body=body,
        headers={"Content-Type": "text/calendar"},
    )
    assert again.status in (201, 204), again.text
    [entry] = of_event(audit(runner, hub), "au-fail")
    assert entry["after"]["title"] == "Лекция при сбое [10]"
