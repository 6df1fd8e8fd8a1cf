"""Adding and editing events on the website (issue 15), with the Flask client on the sample
week: written through the CalDAV path (the clash check runs, the index and records follow),
what the form does not show is kept, and who may write where is the policy's."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import icalendar
from web_support import WEEK, session_csrf, sign_in, text

from calhub.dav.storage import read_object
from calhub.web.storage import app_storage


def form_values(page: str) -> dict[str, str]:
    form = page.split('class="stack event-form"', 1)[1].split("</form>", 1)[0]
    values = {n: html.unescape(v) for n, v in re.findall(r'name="([a-z_]+)" value="([^"]*)"', form)}
    description = re.search(r'<textarea name="description"[^>]*>(.*?)</textarea>', form, re.S)
    values["description"] = html.unescape(description.group(1)) if description else ""
    return values


def stored_event(app: Any, runtime: Any, calendar: str, uid: str) -> Any:
    with app.app_context():
        settings = runtime.settings.calendar(calendar)
        href = runtime.index.href_of(calendar, uid)
        text_ = read_object(app_storage(runtime.hub), settings.path, href)
    return icalendar.Calendar.from_ical(text_)


def test_a_new_event_is_checked_for_clashes_like_a_phone_write(
    web_client: Any, web_app: Any, web_runtime: Any
) -> None:
    sign_in(web_client, "bfu")
    page = text(web_client.get(f"/plan/event/new?date={WEEK}&start=15:00&end=16:00"))
    values = form_values(page)
    assert (values["date"], values["start"], values["end"]) == (str(WEEK), "15:00", "16:00")
    assert '<option value="bfu"' in page and '<option value="kgtu"' not in page
    values |= {
        "calendar": "bfu",
        "summary": "Мастер-класс по робототехнике",
        "audience": "10А",
        "location": "БФУ, корпус 2",
        "description": "Со своим ноутбуком",
    }
    created = web_client.post("/plan/event/new", data=values)
    assert created.status_code == 303, text(created)[:400]
    uid = parse_uid(created.headers["Location"])
    [occurrence] = web_runtime.index.occurrences_of("bfu", uid)
    assert (
        occurrence.audience.label() == "10А" and occurrence.audience_source == "x-calhub-audience"
    )
    assert occurrence.location == "БФУ, корпус 2"
    # Monday 15:00 for 10А is taken (Практикум [10А] 15:30, Лекция [10-11] 15:00).
    assert {"w-kgtu-lab", "w-bfu-physics"} <= clash_partners(web_runtime, uid)
    shown = text(web_client.get(created.headers["Location"]))
    assert "Мастер-класс по робототехнике" in shown and "flash-ok" in shown


def parse_uid(location: str) -> str:
    match = re.search(r"uid=([^&]+)", location)
    assert match, location
    return html.unescape(match.group(1)).replace("%40", "@")


def clash_partners(runtime: Any, uid: str) -> set[str]:
    from calhub.store.records import Filters

    found = set()
    for record in runtime.records.query(Filters(status="open")):
        uids = {o["uid"] for o in record.occurrences}
        if uid in uids:
            found |= uids - {uid}
    return found


def test_editing_keeps_what_the_form_does_not_show(
    web_client: Any, web_app: Any, web_runtime: Any
) -> None:
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/plan/event/edit?calendar=bfu&uid=w-bfu-physics"))
    values = form_values(page)
    assert values["summary"] == "Лекция по физике [10-11]"
    assert values["description"].startswith("Приходите с тетрадью.")
    assert values["version"]
    values |= {
        "summary": "Лекция по физике [11]",
        "location": "БФУ, ауд. 201",
        "start": "17:30",
        "end": "19:00",
    }
    saved = web_client.post("/plan/event/edit", data=values)
    assert saved.status_code == 303, text(saved)[:400]
    [occurrence] = web_runtime.index.occurrences_of("bfu", "w-bfu-physics")
    assert occurrence.summary == "Лекция по физике [11]" and occurrence.location == "БФУ, ауд. 201"
    [event] = stored_event(web_app, web_runtime, "bfu", "w-bfu-physics").walk("VEVENT")
    assert str(event["DESCRIPTION"]).startswith("Приходите с тетрадью."), "kept as it was"
    assert str(event["DTSTART"].params["TZID"]) == "Europe/Kaliningrad"
    assert event["DTSTART"].dt.hour == 17 and int(event["SEQUENCE"]) == 1
    # The stale version the page showed is refused now, and nothing changes.
    again = web_client.post("/plan/event/edit", data=values | {"summary": "Другое [11]"})
    assert again.status_code == 409
    assert (
        web_runtime.index.occurrences_of("bfu", "w-bfu-physics")[0].summary
        == "Лекция по физике [11]"
    )


def test_a_series_is_edited_whole_and_keeps_its_times(
    web_client: Any, web_app: Any, web_runtime: Any
) -> None:
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/plan/event/edit?calendar=school&uid=w-school-club"))
    assert 'name="date"' not in page, "a series' dates move one by one"
    values = form_values(page) | {"summary": "Кружок шахмат [7]"}
    assert web_client.post("/plan/event/edit", data=values).status_code == 303
    occurrences = web_runtime.index.occurrences_of("school", "w-school-club")
    assert len(occurrences) == 4 and {o.summary for o in occurrences} == {"Кружок шахмат [7]"}


def test_bad_input_and_other_peoples_calendars(web_client: Any, web_runtime: Any) -> None:
    sign_in(web_client, "bfu")
    before = bfu_events(web_runtime)
    assert web_client.get("/plan/event/edit?calendar=kgtu&uid=w-kgtu-lab").status_code == 403
    assert web_client.get("/plan/event/edit?calendar=bfu&uid=nope").status_code == 404
    token = session_csrf(web_client)
    base = {
        "csrf_token": token,
        "calendar": "bfu",
        "summary": "Лекция",
        "date": str(WEEK),
        "start": "10:00",
        "end": "11:00",
    }
    assert web_client.post("/plan/event/new", data=base | {"calendar": "kgtu"}).status_code == 403
    for change, words in (
        ({"summary": " "}, "title"),
        ({"audience": "всем желающим"}, "audience"),
        ({"end": "09:00"}, "after the start"),
        ({"date": "завтра"}, "not understood"),
    ):
        answer = web_client.post("/plan/event/new", data=base | change)
        assert answer.status_code == 400, change
        assert words in text(answer).lower(), (change, words)
        assert form_values(text(answer))["summary"] == (base | change)["summary"], "kept"
    assert bfu_events(web_runtime) == before, "nothing was stored"
    anonymous = web_client.application.test_client()
    assert anonymous.get("/plan/event/new").status_code == 302


def bfu_events(runtime: Any) -> set[str]:
    start = dt.datetime.combine(WEEK, dt.time(), dt.UTC) - dt.timedelta(days=400)
    found = runtime.index.overlapping(start, start + dt.timedelta(days=800))
    return {o.uid for o in found if o.calendar == "bfu"}
