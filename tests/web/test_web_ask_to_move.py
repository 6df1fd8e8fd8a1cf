"""The "ask to move" round trip on the sample week (issue 15): the coordinator asks the
partner from the clash page with suggested slots and a comment, the partner accepts one in
a click (the event moves through the CalDAV write path), picks another time, or declines;
every step is in the clash's history, and nobody else may answer."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from web_support import session_csrf, sign_in, text

from calhub.store.records import Filters

ZONE = ZoneInfo("Europe/Kaliningrad")


def person(app: Any, login: str) -> Any:
    """A browser of its own, signed in as ``login``."""
    client = app.test_client()
    sign_in(client, login)
    return client


def audience_clash(runtime: Any) -> Any:
    [record] = [
        r
        for r in runtime.records.query(Filters(status="open"))
        if {o["uid"] for o in r.occurrences} == {"w-bfu-physics", "w-kgtu-lab"}
    ]
    return record


def ask_form(page: str, uid: str) -> dict[str, Any]:
    """The ask form of the side with ``uid``, as the browser would post it."""
    for form in page.split('class="stack ask-form"')[1:]:
        form = form.split("</form>", 1)[0]
        fields = dict(re.findall(r'type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
        if f"|{uid}|" in html.unescape(fields.get("side", "")):
            slots = [html.unescape(v) for v in re.findall(r'name="slot" value="([^"]+)"', form)]
            return {k: html.unescape(v) for k, v in fields.items()} | {"slot": slots}
    raise AssertionError(f"no ask form for {uid}")


def ask(client: Any, record: Any, uid: str, comment: str) -> list[str]:
    form = ask_form(text(client.get(f"/conflicts/{record.id}")), uid)
    response = client.post(f"/conflicts/{record.id}/ask", data=form | {"comment": comment})
    assert response.status_code == 303
    slots: list[str] = form["slot"]
    return slots


def start_of(runtime: Any, calendar: str, uid: str) -> str:
    [occurrence] = runtime.index.occurrences_of(calendar, uid)
    return str(occurrence.start.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M"))


def test_asked_accepted_in_one_click_and_in_the_history(web_app: Any, web_runtime: Any) -> None:
    record = audience_clash(web_runtime)
    web_client = person(web_app, "coordinator")
    slots = ask(web_client, record, "w-kgtu-lab", "У 10А в это время лекция БФУ")
    assert len(slots) == 3
    [request] = web_runtime.move_requests.open_for(["kgtu"])
    assert request.comment == "У 10А в это время лекция БФУ" and len(request.slots) == 3

    web_client = person(web_app, "kgtu")
    page = text(web_client.get("/partners/kgtu"))
    assert f'id="move-request-{request.id}"' in page and "У 10А в это время лекция БФУ" in page
    assert page.count(f'action="/move-requests/{request.id}/accept"') == 3
    token = session_csrf(web_client)
    accepted = web_client.post(
        f"/move-requests/{request.id}/accept",
        data={"csrf_token": token, "slot": "1", "next": "/partners/kgtu"},
    )
    assert accepted.status_code == 303
    chosen_start = slots[1].split("|")[0]
    wanted = dt.datetime.fromisoformat(chosen_start).astimezone(ZONE).strftime("%Y-%m-%dT%H:%M")
    assert start_of(web_runtime, "kgtu", "w-kgtu-lab") == wanted
    answered = web_runtime.move_requests.get(request.id)
    assert answered.status == "accepted" and answered.answered_by == "kgtu"
    assert answered.chosen is not None
    assert web_runtime.records.get(record.id, instances=False).status == "resolved"
    actions = [h.action for h in web_runtime.records.history(record.id)]
    assert "move-asked" in actions and "move-accepted" in actions
    # A second click on the same request changes nothing.
    again = web_client.post(
        f"/move-requests/{request.id}/accept",
        data={"csrf_token": token, "slot": "0", "next": "/partners/kgtu"},
    )
    assert again.status_code == 303
    assert start_of(web_runtime, "kgtu", "w-kgtu-lab") == wanted
    assert f'id="move-request-{request.id}"' not in text(web_client.get("/partners/kgtu"))


def test_declined_with_a_reason_and_shown_to_the_coordinator(
    web_app: Any, web_runtime: Any
) -> None:
    record = audience_clash(web_runtime)
    web_client = person(web_app, "coordinator")
    ask(web_client, record, "w-bfu-physics", "Можно ли сдвинуть лекцию?")
    [request] = web_runtime.move_requests.open_for(["bfu"])
    web_client = person(web_app, "bfu")
    token = session_csrf(web_client)
    empty = web_client.post(
        f"/move-requests/{request.id}/decline", data={"csrf_token": token, "comment": " "}
    )
    assert empty.status_code == 303 and web_runtime.move_requests.get(request.id).is_open
    declined = web_client.post(
        f"/move-requests/{request.id}/decline",
        data={"csrf_token": token, "comment": "Лектор приезжает только в понедельник"},
    )
    assert declined.status_code == 303
    assert web_runtime.move_requests.get(request.id).status == "declined"
    web_client = person(web_app, "coordinator")
    page = text(web_client.get(f"/conflicts/{record.id}"))
    assert "Лектор приезжает только в понедельник" in page
    assert "move-request-declined" in page
    assert start_of(web_runtime, "bfu", "w-bfu-physics").endswith("T15:00")


def test_another_time_through_the_move_form_closes_the_request(
    web_app: Any, web_runtime: Any
) -> None:
    record = audience_clash(web_runtime)
    web_client = person(web_app, "coordinator")
    ask(web_client, record, "w-kgtu-lab", "")
    [request] = web_runtime.move_requests.open_for(["kgtu"])
    web_client = person(web_app, "kgtu")
    page = text(web_client.get("/partners/kgtu"))
    [link] = [
        html.unescape(h)
        for h in re.findall(r'href="(/plan/event/move\?[^"]+)"', page)
        if f"request={request.id}" in html.unescape(h)
    ]
    form_page = text(web_client.get(link))
    fields = dict(
        re.findall(r'name="([a-z_]+)" value="([^"]*)"', form_page.split("move-form", 1)[1])
    )
    assert fields["request"] == str(request.id)
    fields = {k: html.unescape(v) for k, v in fields.items()} | {"start": "19:00", "end": "20:30"}
    moved = web_client.post("/plan/event/move", data=fields)
    assert moved.status_code == 303
    assert start_of(web_runtime, "kgtu", "w-kgtu-lab").endswith("T19:00")
    answered = web_runtime.move_requests.get(request.id)
    assert answered.status == "accepted" and answered.chosen is None


def test_only_the_coordinator_asks_and_only_the_partner_answers(
    web_app: Any, web_runtime: Any
) -> None:
    record = audience_clash(web_runtime)
    web_client = person(web_app, "bfu")
    page = text(web_client.get(f"/conflicts/{record.id}"))
    assert "ask-form" not in page
    refused = web_client.post(
        f"/conflicts/{record.id}/ask",
        data={"csrf_token": session_csrf(web_client), "side": "kgtu|w-kgtu-lab|", "comment": "x"},
    )
    assert refused.status_code == 403
    web_client = person(web_app, "coordinator")
    ask(web_client, record, "w-kgtu-lab", "Пожалуйста")
    [request] = web_runtime.move_requests.open_for(["kgtu"])
    # An event that is not part of the clash cannot be asked about.
    wrong = web_client.post(
        f"/conflicts/{record.id}/ask",
        data={"csrf_token": session_csrf(web_client), "side": "kgtu|w-kgtu-trip|", "comment": "x"},
    )
    assert wrong.status_code == 303 and len(web_runtime.move_requests.open_for()) == 1
    web_client = person(web_app, "bfu")
    token = session_csrf(web_client)
    for action in ("accept", "decline"):
        answer = web_client.post(
            f"/move-requests/{request.id}/{action}",
            data={"csrf_token": token, "slot": "0", "comment": "нет"},
        )
        assert answer.status_code == 403
    assert f'id="move-request-{request.id}"' not in text(web_client.get("/partners/bfu"))
    assert web_runtime.move_requests.get(request.id).is_open
    assert (
        web_client.post("/move-requests/99999/accept", data={"csrf_token": token}).status_code
        == 404
    )


# aiosmtpd warns about AUTH without TLS (a loopback test server) and about its own internals.
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_the_partner_asked_is_mailed_the_three_nearest_free_slots(
    web_app: Any, web_hub: Any, web_runtime: Any, monkeypatch: Any
) -> None:
    """The desk's request reaches the partner asked through a loopback SMTP server
    (aiosmtpd), with what, when and the three free slots the desk offered (issue 17)."""
    from notify_support import PASSWORD_ENV, SMTP_PASSWORD, SmtpServer, configure_mail, parts

    from calhub.notify.worker import Notifier

    monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)
    smtp = SmtpServer()
    smtp.start()
    try:
        configure_mail(web_hub.root, smtp.port)
        notifier = Notifier(web_runtime, "http://localhost/")
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)  # past every batch wait
        web_runtime.outbox.set_meta("digest_day", later.astimezone(ZONE).date().isoformat())
        notifier.run_once(later)  # the sample week's clashes, told first
        before = len(smtp.inbox.messages)
        record = audience_clash(web_runtime)
        slots = ask(person(web_app, "coordinator"), record, "w-kgtu-lab", "Зал занят")
        assert len(slots) == 3
        # The coordinator asked, so only the partner asked hears of it.
        assert notifier.run_once(later) == 1
    finally:
        smtp.stop()
    [(envelope, mail)] = smtp.inbox.messages[before:]
    assert envelope.rcpt_tos == ["olymp@kgtu.example"]
    assert str(mail["Subject"]).startswith("[calhub] Просьба перенести")
    body, _page = parts(mail)
    assert "Свободное время для переноса:" in body and "Зал занят" in body
    for slot in slots:
        start, end = (dt.datetime.fromisoformat(t).astimezone(ZONE) for t in slot.split("|"))
        assert f"{start:%d.%m.%Y %H:%M}–{end:%H:%M}" in body, (slot, body)
    assert f"http://localhost/conflicts/{record.id}" in body
