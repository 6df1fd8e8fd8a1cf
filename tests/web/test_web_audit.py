"""The audit log on the dashboard (issue 19), with the Flask client on the sample week: the
website's writes and approvals are recorded with the account and the client's address, the
"Журнал изменений" page filters them and downloads them as CSV, an event's page and a
clash's page show their history, and a partner reads the history of its own events only."""

from __future__ import annotations

import csv
import io
from typing import Any

from web_support import WEEK, session_csrf, sign_in, text

from calhub.store.audit import AuditFilters
from calhub.store.records import ClashRecord, Filters


def clash(runtime: Any, rule: str) -> ClashRecord:
    [record] = [r for r in runtime.records.query(Filters()) if r.rule == rule]
    return record


def new_event(client: Any, summary: str, calendar: str = "bfu") -> str:
    created = client.post(
        "/plan/event/new",
        data={
            "csrf_token": session_csrf(client),
            "calendar": calendar,
            "summary": summary,
            "date": str(WEEK),
            "start": "08:00",
            "end": "08:45",
            "audience": "5А",
            "location": "Ауд. 1",
            "description": "",
        },
    )
    assert created.status_code == 303, text(created)[:400]
    location: str = created.headers["Location"]
    return location


def test_a_website_write_is_recorded_and_shown_on_the_event_page(
    web_client: Any, web_runtime: Any
) -> None:
    sign_in(web_client, "bfu")
    location = new_event(web_client, "Кружок [5А]")
    uid = location.split("uid=", 1)[1].split("&", 1)[0]
    [entry] = web_runtime.audit.page(AuditFilters(uid=uid))
    assert (entry.actor, entry.address, entry.via, entry.action) == (
        "bfu",
        "127.0.0.1",
        "web",
        "created",
    )
    assert entry.after is not None and entry.after.title == "Кружок [5А]"
    assert entry.after.venue == "Ауд. 1" and entry.after.audience == "5А"
    page = text(web_client.get(location))
    assert "История изменений" in page and "создано" in page
    # Another partner opens the event (every plan is readable) but not its history.
    web_client.post("/logout", data={"csrf_token": session_csrf(web_client)})
    sign_in(web_client, "kgtu")
    other = text(web_client.get(location))
    assert "Кружок [5А]" in other and "История изменений" not in other


def test_approvals_are_recorded_and_shown_on_the_clash_page(
    web_client: Any, web_runtime: Any
) -> None:
    target = clash(web_runtime, "audience")
    sign_in(web_client, "coordinator")
    token = session_csrf(web_client)
    approved = web_client.post(
        f"/conflicts/{target.id}/approve",
        data={"csrf_token": token, "comment": "Группы разведены", "next": "/conflicts"},
    )
    assert approved.status_code == 303
    web_client.post(f"/conflicts/{target.id}/reopen", data={"csrf_token": token, "comment": "Нет"})
    entries = web_runtime.audit.page(AuditFilters(clash_id=target.id))
    assert [(e.action, e.actor, e.address, e.comment) for e in entries] == [
        ("reopened", "coordinator", "127.0.0.1", "Нет"),
        ("approved", "coordinator", "127.0.0.1", "Группы разведены"),
    ]
    page = text(web_client.get(f"/conflicts/{target.id}"))
    assert "Журнал изменений" in page
    assert "накладка согласована" in page and "Группы разведены" in page


def test_the_log_page_filters_and_downloads_csv(web_client: Any, web_runtime: Any) -> None:
    sign_in(web_client, "coordinator")
    new_event(web_client, "=cmd|' /C calc'!A0 [5А]", calendar="school")
    page = text(web_client.get("/audit"))
    assert "Журнал изменений" in page and "calc" in page
    only_bfu = text(web_client.get("/audit?calendar=bfu"))
    assert "calc" not in only_bfu
    nothing = text(web_client.get("/audit?actor=nobody"))
    assert "Нет подходящих записей" in nothing
    download = web_client.get("/audit.csv?calendar=school")
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith("text/csv")
    body = download.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    [row] = [r for r in rows if "calc" in r[10]]
    assert row[10].startswith("'=cmd") and row[1] == "coordinator"
    bad = web_client.get("/audit?from=2027-99-01")
    assert bad.status_code == 400 and "YYYY-MM-DD" in text(bad)


def test_a_partner_reads_only_its_own_events_history(web_client: Any, web_runtime: Any) -> None:
    sign_in(web_client, "coordinator")
    new_event(web_client, "Совещание школы [5А]", calendar="school")
    target = clash(web_runtime, "audience")
    token = session_csrf(web_client)
    web_client.post(
        f"/conflicts/{target.id}/approve", data={"csrf_token": token, "comment": "Можно"}
    )
    web_client.post("/logout", data={"csrf_token": token})
    sign_in(web_client, "bfu")
    new_event(web_client, "Лекция БФУ [5А]")
    page = text(web_client.get("/audit"))
    assert "Лекция БФУ [5А]" in page
    assert "Совещание школы" not in page and "накладка согласована" not in page
    assert web_client.get("/audit?calendar=kgtu").status_code == 400
    assert "Совещание школы" not in text(web_client.get("/audit.csv"))
    assert web_client.get("/audit.csv?calendar=school").status_code == 400
