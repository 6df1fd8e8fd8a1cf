"""The refused-events page and /api/refused against a real hub with a ``reject`` calendar:
a clashing PUT is on the partner's page and the coordinator's, never on another partner's;
re-sends are one row; the event downloads as sent; a move that gets in resolves it;
dismissing takes the session's CSRF token."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from clash_support import at, own_week, put_event, put_text, set_policy
from helpers import PASSWORDS, make_event, run_cli
from web_support import csrf_in


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    hub = module_hubs({"failed_login_delay": 0.0})
    set_policy(hub, "kgtu", "reject")
    return hub


def browser(hub: Any, login: str, language: str = "ru") -> requests.Session:
    """A session signed in through the form, as a browser."""
    session = requests.Session()
    session.headers["Accept-Language"] = language
    token = csrf_in(session.get(hub.url + "login", timeout=15).text)
    signed = session.post(
        hub.url + "login",
        data={"csrf_token": token, "login": login, "password": PASSWORDS[login]},
        allow_redirects=False,
        timeout=15,
    )
    assert signed.status_code == 303, signed.text[:300]
    return session


def api(hub: Any, login: str, query: str = "") -> list[dict[str, Any]]:
    response = hub.request("GET", f"/api/refused{query}", login, PASSWORDS[login])
    assert response.status == 200, response.text
    rows: list[dict[str, Any]] = json.loads(response.text)
    return rows


def refuse(hub: Any, prefix: str, times: int = 1) -> str:
    """bfu's lecture, then kgtu's clashing master class sent ``times`` times: its body."""
    day = own_week()
    put_event(
        hub, "bfu", "/bfu/calendar/", f"{prefix}-a", "Лекция [10-11]", at(day, 15), at(day, 16)
    )
    body = make_event(
        f"{prefix}-b", f"Мастер-класс {prefix} [10А]", at(day, 15), at(day, 16), location="КГТУ"
    )
    for _ in range(times):
        assert put_text(hub, "kgtu", "/kgtu/calendar/", f"{prefix}-b", body).status == 409
    return body


def card(page: str, row_id: int) -> str:
    match = re.search(rf'<article[^>]*id="refused-{row_id}".*?</article>', page, re.S)
    assert match, f"no card of refused write {row_id}"
    return match.group(0)


def test_the_partner_and_the_coordinator_see_it_another_partner_does_not(hub: Any) -> None:
    body = refuse(hub, "pg", times=3)
    [row] = [r for r in api(hub, "kgtu") if r["uid"] == "pg-b"]
    assert row["times"] == 3 and row["state"] == "open" and row["login"] == "kgtu"
    assert row["event"]["summary"] == "Мастер-класс pg [10А]" and row["event"]["location"] == "КГТУ"
    assert row["clashes"][0]["rule"] == "audience" and row["status"] == 409
    assert row["reason"]["en"].startswith("The event was not saved")

    kgtu = browser(hub, "kgtu")
    page = kgtu.get(hub.url + "refused", timeout=15).text
    mine = card(page, row["id"])
    assert "Мастер-класс pg [10А]" in mine and "3 раза" in mine and "КГТУ" in mine
    assert "Лекция [10-11]" in mine and "/plan/event?calendar=bfu&amp;uid=pg-a" in mine
    assert re.search(r'id="refused-count"[^>]*>\d+<', page), "the navigation counts open ones"

    coordinator = browser(hub, "coordinator")
    everyone = coordinator.get(hub.url + "refused", timeout=15).text
    assert "Мастер-класс pg [10А]" in card(everyone, row["id"])
    only_bfu = coordinator.get(hub.url + "refused", params={"login": "bfu"}, timeout=15).text
    assert f'id="refused-{row["id"]}"' not in only_bfu
    assert [r["id"] for r in api(hub, "coordinator", "?login=kgtu") if r["uid"] == "pg-b"]

    bfu = browser(hub, "bfu")
    assert "pg-b" not in json.dumps(api(hub, "bfu"))
    assert "Мастер-класс pg" not in bfu.get(hub.url + "refused", timeout=15).text
    ics = f"{hub.url}refused/{row['id']}.ics"
    assert bfu.get(ics, timeout=15).status_code == 404, "not another partner's to download"

    download = kgtu.get(hub.url + row["ics_url"].lstrip("/"), timeout=15)
    assert download.status_code == 200 and download.content == body.encode()
    assert download.headers["Content-Type"].startswith("text/calendar")
    assert download.headers["Content-Disposition"] == 'attachment; filename="pg-b.ics"'


def test_english_pages_give_the_english_reason(hub: Any) -> None:
    refuse(hub, "en")
    [row] = [r for r in api(hub, "kgtu") if r["uid"] == "en-b"]
    page = browser(hub, "kgtu", "en").get(hub.url + "refused", timeout=15).text
    shown = card(page, row["id"])
    assert "Refused events" in page and "Same classes" in shown
    assert "Не сохранено" not in shown


def test_moving_the_event_to_a_free_time_resolves_it(hub: Any) -> None:
    refuse(hub, "mv")
    [row] = [r for r in api(hub, "kgtu") if r["uid"] == "mv-b"]
    day = own_week()
    moved = put_event(
        hub, "kgtu", "/kgtu/calendar/", "mv-b", "Мастер-класс mv [10А]", at(day, 17), at(day, 18)
    )
    assert moved.status == 201
    assert [r for r in api(hub, "kgtu") if r["uid"] == "mv-b"] == []
    [closed] = [r for r in api(hub, "kgtu", "?state=closed") if r["uid"] == "mv-b"]
    assert closed["state"] == "resolved" and closed["resolved"]["by"] == "kgtu"
    page = browser(hub, "kgtu").get(hub.url + "refused?state=closed", timeout=15).text
    assert "Сохранено" in card(page, row["id"])
    bad = hub.request("GET", "/api/refused?state=gone", "kgtu", PASSWORDS["kgtu"])
    assert bad.status == 400 and "open" in json.loads(bad.text)["hint"]


def test_dismissing_takes_the_csrf_token_and_is_for_the_owner_or_coordinator(hub: Any) -> None:
    refuse(hub, "ds")
    [row] = [r for r in api(hub, "kgtu") if r["uid"] == "ds-b"]
    action = f"{hub.url}refused/{row['id']}/dismiss"
    kgtu = browser(hub, "kgtu")
    forged = kgtu.post(action, data={}, allow_redirects=False, timeout=15)
    assert forged.status_code == 400
    assert [r["state"] for r in api(hub, "kgtu") if r["uid"] == "ds-b"] == ["open"]
    bfu = browser(hub, "bfu")
    token = csrf_in(bfu.get(hub.url + "refused", timeout=15).text)
    other = bfu.post(action, data={"csrf_token": token}, allow_redirects=False, timeout=15)
    assert other.status_code == 404
    token = csrf_in(kgtu.get(hub.url + "refused", timeout=15).text)
    done = kgtu.post(action, data={"csrf_token": token}, allow_redirects=False, timeout=15)
    assert done.status_code == 303
    [closed] = [r for r in api(hub, "kgtu", "?state=closed") if r["uid"] == "ds-b"]
    assert closed["dismissed"]["by"] == "kgtu"
    # The decision is in the audit log, with who and from where.
    code, out, err = run_cli(["audit", "--json", "--uid", "ds-b", "--data", str(hub.data_dir)])
    assert code == 0, err
    [entry] = [e for e in map(json.loads, out.splitlines()) if e["action"] == "refused-dismissed"]
    assert (entry["actor"], entry["address"], entry["calendar"]) == ("kgtu", "127.0.0.1", "kgtu")

    refuse(hub, "dc")
    [row] = [r for r in api(hub, "kgtu") if r["uid"] == "dc-b"]
    coordinator = browser(hub, "coordinator")
    page = coordinator.get(hub.url + "refused", timeout=15).text
    assert "dismiss" in card(page, row["id"])
    dismissed = coordinator.post(
        f"{hub.url}refused/{row['id']}/dismiss",
        data={"csrf_token": csrf_in(page), "next": "/refused"},
        allow_redirects=False,
        timeout=15,
    )
    assert dismissed.status_code == 303 and dismissed.headers["Location"] == "/refused"
    assert [r for r in api(hub, "coordinator") if r["uid"] == "dc-b"] == []
