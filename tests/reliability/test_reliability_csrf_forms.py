"""Issue 11, finding 10: the CSRF check no longer skips form posts that carry HTTP Basic
credentials. A browser that once signed in to the API with Basic sends those credentials
with a forged cross-site form too, so the form routes (approve, reopen, set aside, language,
sign out) always need the page's token; the JSON API with Basic still needs none (no form
can send JSON cross-site). Against a real hub, with a real clash.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import PASSWORDS
from reliability_support import api_json, at, day, event, put, record

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    return module_hubs()


@pytest.fixture(scope="module")
def clash_id(hub: Any) -> str:
    start = at(day(3), 10)
    first = put(
        hub, "bfu", "/dav/bfu/calendar/csrf-a.ics", event("csrf-a", "Лекция [10-11]", start)
    )
    second = put(
        hub, "kgtu", "/dav/kgtu/calendar/csrf-b.ics", event("csrf-b", "Практикум [10А]", start)
    )
    assert first.status in (201, 204) and second.status in (201, 204), (first, second)
    found = [c for c in api_json(hub, "/api/conflicts") if c["status"] == "open"]
    assert found, "the two events make no clash"
    clash: str = found[0]["id"]
    return clash


def post_form(hub: Any, path: str, fields: str, login: str = "coordinator") -> Any:
    return hub.request("POST", path, login, PASSWORDS[login], body=fields, headers=FORM)


def test_a_form_post_with_basic_credentials_and_no_token_is_refused(
    hub: Any, clash_id: str
) -> None:
    cases = {
        f"/conflicts/{clash_id}/approve": "comment=forged",
        f"/conflicts/{clash_id}/reopen": "comment=forged",
        "/lang": "lang=en",
        "/logout": "",
        "/refused/1/dismiss": "",
    }
    for path, fields in cases.items():
        answer = post_form(hub, path, fields)
        assert answer.status == 400, (path, answer.status, answer.text[:300])
        assert "Форма устарела" in answer.text, answer.text[-600:]
        # A wrong token is no better than none.
        forged = post_form(hub, path, fields + "&csrf_token=forged")
        assert forged.status == 400, (path, forged.status)
    record_now = api_json(hub, f"/api/conflicts/{clash_id}")
    assert record_now["status"] == "open", record_now
    assert not record_now["history"] or all(
        entry.get("action") != "approve" for entry in record_now["history"]
    ), record_now["history"]
    record("csrf form posts", routes=len(cases), cases=2 * len(cases))


def test_the_json_api_with_basic_credentials_needs_no_token(hub: Any, clash_id: str) -> None:
    answer = hub.request(
        "POST",
        f"/api/conflicts/{clash_id}/approve",
        "coordinator",
        PASSWORDS["coordinator"],
        body=json.dumps({"comment": "согласовано"}),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 200, (answer.status, answer.text[:300])
    assert json.loads(answer.text)["status"] == "approved"
