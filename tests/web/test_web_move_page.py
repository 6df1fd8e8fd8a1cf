"""The move form and the clash page's free slots (issue 14), with the Flask client on the
sample week: one click from a slot to a filled-in form, the move stored through the CalDAV
write path, and who may move what."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from web_support import at, session_csrf, sign_in, text

from calhub.store.records import Filters

ZONE = ZoneInfo("Europe/Kaliningrad")


def audience_clash(runtime: Any) -> Any:
    [record] = [
        r
        for r in runtime.records.query(Filters(status="open"))
        if {o["uid"] for o in r.occurrences} == {"w-bfu-physics", "w-kgtu-lab"}
    ]
    return record


def move_links(page: str, uid: str) -> list[str]:
    links = [html.unescape(h) for h in re.findall(r'class="slot-choice" href="([^"]+)"', page)]
    return [link for link in links if parse_qs(urlsplit(link).query)["uid"] == [uid]]


def form_values(page: str) -> dict[str, str]:
    form = page.split('class="stack move-form"', 1)[1].split("</form>", 1)[0]
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'name="([a-z_]+)" value="([^"]*)"', form)
    }


def test_a_slot_on_the_clash_page_moves_the_event_and_settles_the_clash(
    web_client: Any, web_runtime: Any
) -> None:
    record = audience_clash(web_runtime)
    sign_in(web_client, "coordinator")
    page = text(web_client.get(f"/conflicts/{record.id}"))
    assert 'class="move-options"' in page
    lab_links = move_links(page, "w-kgtu-lab")
    assert len(lab_links) == 3 and len(move_links(page, "w-bfu-physics")) == 3

    form_page = web_client.get(lab_links[0])
    assert form_page.status_code == 200
    values = form_values(text(form_page))
    asked = parse_qs(urlsplit(lab_links[0]).query)
    day, start = asked["start"][0].split("T")
    assert (values["date"], values["start"], values["end"]) == (
        day,
        start,
        asked["end"][0].split("T")[1],
    )
    assert values["next"] == f"/conflicts/{record.id}" and values["version"]

    moved = web_client.post("/plan/event/move", data=values)
    assert moved.status_code == 303 and moved.headers["Location"].endswith(
        f"/conflicts/{record.id}"
    )
    [occurrence] = web_runtime.index.occurrences_of("kgtu", "w-kgtu-lab")
    assert occurrence.start.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M") == asked["start"][0]
    assert web_runtime.records.get(record.id, instances=False).status == "resolved"
    after = text(web_client.get(f"/conflicts/{record.id}"))
    assert "flash-ok" in after and 'class="move-options"' not in after


def test_a_partner_moves_only_its_own_side(web_client: Any, web_runtime: Any) -> None:
    record = audience_clash(web_runtime)
    sign_in(web_client, "bfu")
    page = text(web_client.get(f"/conflicts/{record.id}"))
    assert len(move_links(page, "w-bfu-physics")) == 3
    assert move_links(page, "w-kgtu-lab") == []
    assert page.count('<span class="slot-choice">') == 3, "the other side's slots, as text"
    assert web_client.get("/plan/event/move?calendar=kgtu&uid=w-kgtu-lab").status_code == 403
    refused = web_client.post(
        "/plan/event/move",
        data={
            "csrf_token": session_csrf(web_client),
            "calendar": "kgtu",
            "uid": "w-kgtu-lab",
            "date": at(0, 0).date().isoformat(),
            "start": "19:00",
            "end": "20:00",
        },
    )
    assert refused.status_code == 403
    [occurrence] = web_runtime.index.occurrences_of("kgtu", "w-kgtu-lab")
    assert occurrence.start.astimezone(ZONE).hour == 15
    # The event card offers the move where the account may make it.
    own = text(web_client.get("/plan/event?calendar=bfu&uid=w-bfu-physics"))
    other = text(web_client.get("/plan/event?calendar=kgtu&uid=w-kgtu-lab"))
    assert "/plan/event/move?" in own and "/plan/event/move?" not in other


def test_bad_moves_answer_the_form_again_with_the_reason(web_client: Any, web_runtime: Any) -> None:
    sign_in(web_client, "coordinator")
    values = form_values(text(web_client.get("/plan/event/move?calendar=kgtu&uid=w-kgtu-lab")))
    day = values["date"]
    backwards = web_client.post(
        "/plan/event/move", data=values | {"start": "18:00", "end": "17:00"}
    )
    assert backwards.status_code == 400 and 'role="alert"' in text(backwards)
    assert form_values(text(backwards))["start"] == "18:00", "the form keeps what was typed"
    stale = web_client.post(
        "/plan/event/move", data=values | {"version": '"old"', "start": "19:00", "end": "20:00"}
    )
    assert stale.status_code == 409
    assert form_values(text(stale))["version"] != '"old"', "the form now carries the event as it is"
    missing = web_client.post("/plan/event/move", data=values | {"uid": "no-such-event"})
    assert missing.status_code == 404
    nonsense = web_client.get("/plan/event/move?calendar=kgtu&uid=w-kgtu-lab&start=soon&end=later")
    assert nonsense.status_code == 200 and 'role="alert"' in text(nonsense)
    assert form_values(text(nonsense))["date"] == day
    [occurrence] = web_runtime.index.occurrences_of("kgtu", "w-kgtu-lab")
    assert occurrence.start.astimezone(ZONE).hour == 15, "nothing was stored"


def test_the_form_needs_a_sign_in_and_the_csrf_token(web_client: Any) -> None:
    anonymous = web_client.get("/plan/event/move?calendar=kgtu&uid=w-kgtu-lab")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    sign_in(web_client, "coordinator")
    values = form_values(text(web_client.get("/plan/event/move?calendar=kgtu&uid=w-kgtu-lab")))
    values.pop("csrf_token")
    assert web_client.post("/plan/event/move", data=values).status_code == 400


def test_the_grid_lets_an_account_drag_only_what_it_may_move(web_client: Any) -> None:
    from web_support import WEEK

    sign_in(web_client, "bfu")
    query = {"start": str(WEEK), "end": str(WEEK + dt.timedelta(days=7))}
    found = {
        e["extendedProps"]["uid"]: e
        for e in web_client.get("/api/events", query_string=query).get_json()
    }
    assert found["w-bfu-physics"]["editable"] is True
    assert found["w-kgtu-lab"]["editable"] is False
    assert found["w-holiday"]["editable"] is False, "all-day blackouts are never dragged"
    assert found["w-school-club"]["extendedProps"]["recurrenceId"], "a date of a series moves alone"
