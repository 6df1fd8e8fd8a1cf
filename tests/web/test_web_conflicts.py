"""The clash pages: grouped by severity and day, approve and reopen (coordinator only, with
CSRF), history, the count in the navigation, and what a partner may see."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from helpers import make_event
from web_support import WEEK, at, session_csrf, sign_in, text

from calhub.store.records import ClashRecord, Filters


def clash(runtime: Any, rule: str) -> ClashRecord:
    [record] = [r for r in runtime.records.query(Filters()) if r.rule == rule]
    return record


def open_count(page: str) -> int:
    match = re.search(r'id="open-count"[^>]*>(\d+)<', page)
    assert match, "no open-clash count in the navigation"
    return int(match.group(1))


def test_coordinator_sees_every_clash_grouped_hard_first(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/conflicts"))
    assert open_count(page) == 3
    hard, soft = page.index("Накладки: 2"), page.index("Предупреждения: 1")
    assert hard < soft
    for rule in ("Одни и те же классы", "Одно место", "Время на дорогу"):
        assert rule in page
    # Both events of a clash side by side, with time, venue and audience.
    assert "Лекция по физике [10-11]" in page and "Практикум [10А]" in page
    assert "КГТУ, корпус 3" in page and "10–11" in page
    assert page.count('class="approve-form"') == 3


def test_approve_with_a_comment_then_reopen(web_client: Any, web_runtime: Any) -> None:
    target = clash(web_runtime, "audience")
    sign_in(web_client, "coordinator")
    token = session_csrf(web_client)
    empty = web_client.post(
        f"/conflicts/{target.id}/approve",
        data={"csrf_token": token, "comment": "  ", "next": "/conflicts"},
        follow_redirects=True,
    )
    assert "без комментария согласовать нельзя" in text(empty)
    assert web_runtime.records.get(target.id).status == "open"

    approved = web_client.post(
        f"/conflicts/{target.id}/approve",
        data={"csrf_token": token, "comment": "Группы разведены", "next": "/conflicts"},
    )
    assert approved.status_code == 303 and approved.headers["Location"] == "/conflicts"
    record = web_runtime.records.get(target.id)
    assert record.status == "approved"
    assert record.approval is not None
    assert record.approval.as_json() == {
        "by": "coordinator",
        "at": record.approval.at,
        "comment": "Группы разведены",
    }
    page = text(web_client.get("/conflicts"))
    assert "Накладка согласована." in page
    assert open_count(page) == 2
    assert target.id not in page, "an approved clash leaves the list of open ones"
    approved_page = text(web_client.get("/conflicts?status=approved"))
    assert "Группы разведены" in approved_page and 'class="reopen-form"' in approved_page

    web_client.post(
        f"/conflicts/{target.id}/reopen", data={"csrf_token": token, "comment": "Нет, не так"}
    )
    assert web_runtime.records.get(target.id).status == "open"
    detail = text(web_client.get(f"/conflicts/{target.id}"))
    actions = re.findall(r"<td>(обнаружена|согласовал\(а\)|открыл\(а\) снова)</td>", detail)
    assert actions == ["открыл(а) снова", "согласовал(а)", "обнаружена"]
    assert "Нет, не так" in detail and "Группы разведены" in detail
    history = text(web_client.get("/conflicts/history"))
    assert "Нет, не так" in history and "coordinator" in history


def test_filters_of_the_clash_list(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    soft = text(web_client.get("/conflicts?severity=soft"))
    assert "Время на дорогу" in soft and "Одно место" not in soft
    school = text(web_client.get("/conflicts?calendar=school"))
    assert "Одно место" in school and "Время на дорогу" not in school
    nonsense = text(web_client.get("/conflicts?calendar=nobody&severity=mild"))
    assert "Фильтры не поняты" in nonsense
    assert "Накладок здесь нет" not in text(web_client.get("/conflicts?status=all"))
    assert "Здесь накладок нет." in text(web_client.get("/conflicts?status=resolved"))


def test_a_partner_cannot_approve_or_reopen(web_client: Any, web_runtime: Any) -> None:
    target = clash(web_runtime, "audience")  # involves bfu and kgtu
    sign_in(web_client, "kgtu")
    page = text(web_client.get("/conflicts"))
    assert "approve-form" not in page and "Практикум [10А]" in page
    token = session_csrf(web_client)
    for action in ("approve", "reopen"):
        response = web_client.post(
            f"/conflicts/{target.id}/{action}", data={"csrf_token": token, "comment": "я сам"}
        )
        assert response.status_code == 403, action
        assert "Это может только координатор." in text(response)
    assert web_runtime.records.get(target.id).status == "open"
    api = web_client.post(
        f"/api/conflicts/{target.id}/approve",
        json={"comment": "я сам"},
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 403


def test_a_partner_sees_only_its_own_clashes_and_their_history(
    web_client: Any, web_runtime: Any
) -> None:
    school = clash(web_runtime, "venue")
    travel = clash(web_runtime, "travel")
    coordinator = web_client.application.test_client()
    sign_in(coordinator, "coordinator")
    coordinator.post(
        f"/conflicts/{school.id}/approve",
        data={"csrf_token": session_csrf(coordinator), "comment": "Секретная причина школы"},
    )
    sign_in(web_client, "bfu")
    page = text(web_client.get("/conflicts?status=all"))
    assert open_count(page) == 2  # audience and travel, both with a bfu event
    assert "Концерт [5]" not in page and "Одно место" not in page
    assert travel.id in page
    assert web_client.get(f"/conflicts/{school.id}").status_code == 404
    assert web_client.get("/conflicts/no-such-clash").status_code == 404
    history = text(web_client.get("/conflicts/history"))
    assert "Секретная причина школы" not in history and school.id not in history
    assert "обнаружена" in history
    assert web_client.get(f"/api/conflicts/{school.id}").status_code == 404
    # A partner sees why its event clashes, and with what.
    event = text(
        web_client.get("/plan/event", query_string={"calendar": "bfu", "uid": "w-bfu-camp"})
    )
    assert "Лабораторная работа [11А]" in event and "Предупреждение" in event


def test_the_count_in_the_navigation_is_everywhere(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    for path in ("/", "/plan", "/partners", "/conflicts/history"):
        assert open_count(text(web_client.get(path))) == 3, path
    partner = web_client.application.test_client()
    sign_in(partner, "kgtu")
    assert open_count(text(partner.get("/plan"))) == 2  # not the school's venue clash


def store(runtime: Any, calendar_id: str, text_of_object: str) -> None:
    """Write one object through Radicale's storage, so the hub's write hooks run as for a
    CalDAV PUT (the web tests' hub is in-process, without a server)."""
    from radicale import item as radicale_item

    from calhub.dav.storage import open_storage

    calendar = runtime.settings.calendar(calendar_id)
    storage = open_storage(runtime)
    with storage.acquire_lock("w", "test"):
        collection = next(iter(storage.discover(calendar.path)))
        [component] = radicale_item.read_components(text_of_object)
        item = radicale_item.Item(collection_path=calendar.path.strip("/"), vobject_item=component)
        item.prepare()
        collection.upload(f"{item.uid}.ics", item)


def test_a_moved_event_reopens_its_clash_and_the_pages_say_what_changed(
    web_client: Any, web_runtime: Any
) -> None:
    target = clash(web_runtime, "audience")  # Лекция по физике × Практикум (15:30–17:00)
    sign_in(web_client, "coordinator")
    web_client.post(
        f"/conflicts/{target.id}/approve",
        data={"csrf_token": session_csrf(web_client), "comment": "Группы разведены"},
    )
    assert web_runtime.records.get(target.id).status == "approved"
    moved = make_event(
        "w-kgtu-lab", "Практикум [10А]", at(0, 16), at(0, 17), location="КГТУ, корпус 3"
    )
    store(web_runtime, "kgtu", moved)
    assert web_runtime.records.get(target.id).status == "open"
    day = WEEK.strftime("%d.%m.%Y")
    change = f"Событие «Практикум [10А]» (КГТУ) перенесено: {day} 15:30–17:00 → {day} 16:00–17:00"
    detail = text(web_client.get(f"/conflicts/{target.id}"))
    assert "<td>открыта снова: событие изменилось</td>" in detail
    assert change in detail and "накладка снова открыта" in detail
    assert 'class="approve-form"' in detail, "the coordinator can approve the new version"
    history = text(web_client.get("/conflicts/history"))
    assert "открыта снова: событие изменилось" in history and change in history
    web_client.set_cookie("calhub_lang", "en")
    english = text(web_client.get(f"/conflicts/{target.id}"))
    assert "<td>reopened: an event changed</td>" in english
    assert f"(КГТУ) moved: {WEEK.isoformat()} 15:30–17:00 → {WEEK.isoformat()} 16:00–17:00" in (
        english
    )
    assert "the clash is open again" in english


def test_approving_a_clash_that_changed_since_the_page_was_shown_is_refused(
    web_client: Any, web_runtime: Any
) -> None:
    target = clash(web_runtime, "audience")
    sign_in(web_client, "coordinator")
    page = text(web_client.get(f"/conflicts/{target.id}"))
    shown = re.search(r'name="version" value="([0-9a-f]+)"', page)
    assert shown and shown.group(1) == target.version
    moved = make_event(
        "w-kgtu-lab", "Практикум [10А]", at(0, 16), at(0, 17), location="КГТУ, корпус 3"
    )
    store(web_runtime, "kgtu", moved)
    refused = web_client.post(
        f"/conflicts/{target.id}/approve",
        data={
            "csrf_token": session_csrf(web_client),
            "comment": "Видел(а) в 15:30",
            "version": shown.group(1),
        },
        follow_redirects=True,
    )
    assert "Накладка изменилась, пока была открыта на странице" in text(refused)
    assert web_runtime.records.get(target.id).status == "open"
    again = re.search(r'name="version" value="([0-9a-f]+)"', text(refused))
    assert again and again.group(1) != shown.group(1)
    web_client.post(
        f"/conflicts/{target.id}/approve",
        data={
            "csrf_token": session_csrf(web_client),
            "comment": "И в 16:00 можно",
            "version": again.group(1),
        },
    )
    assert web_runtime.records.get(target.id).status == "approved"


# -- paged lists and the dates of a clash (issue 11, finding 6) ----------------------------


def weekly_text(uid: str, summary: str, start: dt.datetime, weeks: int) -> str:
    text = make_event(uid, summary, start, start + dt.timedelta(hours=1))
    return text.replace("END:VEVENT", f"RRULE:FREQ=WEEKLY;COUNT={weeks}\r\nEND:VEVENT")


def add(runtime: Any, calendar: str, texts: list[str]) -> None:
    from calhub.dav.importer import import_objects

    found = runtime.settings.calendar(calendar)
    assert found is not None
    import_objects(runtime, found, texts)


def test_the_clash_list_is_paged_and_filtered_by_dates(web_client: Any, web_runtime: Any) -> None:
    # 30 more hard clashes, one a day from the Tuesday after the sample week.
    first = WEEK + dt.timedelta(days=8)
    days = [first + dt.timedelta(days=n) for n in range(30)]
    add(
        web_runtime,
        "bfu",
        [make_event(f"p-bfu-{n}", "Семинар [7]", *slot(d)) for n, d in enumerate(days)],
    )
    add(
        web_runtime,
        "kgtu",
        [make_event(f"p-kgtu-{n}", "Кружок [7Б]", *slot(d)) for n, d in enumerate(days)],
    )
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/conflicts?per_page=25"))
    # 3 of the sample week, 30 audience ones, and overload weeks of grade 7 (2 a day).
    total = web_runtime.records.count(Filters(status="open"))
    assert 33 < total <= 50
    shown = re.search(r'id="clash-total">(\d+) [^<]*· показаны 1–25<', page)
    assert shown and int(shown.group(1)) == total
    assert page.count('class="approve-form"') == 25
    assert "Страница 1 из 2" in page and 'rel="next"' in page and "page=2" in page
    second = text(web_client.get("/conflicts?per_page=25&page=2"))
    assert second.count('class="approve-form"') == total - 25 and "Страница 2 из 2" in second
    # A page past the last shows the last one.
    assert "Страница 2 из 2" in text(web_client.get("/conflicts?per_page=25&page=99"))
    # Coming ones first: the sample week before the 30 days.
    assert page.index("Лекция по физике [10-11]") < page.index("Семинар [7]")
    # Dates: the clashes with a date in the window only.
    dates = f"from={days[3].isoformat()}&to={days[5].isoformat()}"
    window = text(web_client.get(f"/conflicts?severity=hard&{dates}"))
    assert "Лекция по физике" not in window
    assert window.count('class="approve-form"') == 3
    nonsense = text(web_client.get("/conflicts?from=вчера"))
    assert "даты пишутся как ГГГГ-ММ-ДД" in nonsense and "Страница 1 из 1" not in nonsense


def slot(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(9))
    return start, start + dt.timedelta(hours=1)


def test_a_series_clash_is_one_card_with_its_dates(web_client: Any, web_runtime: Any) -> None:
    start = dt.datetime.combine(WEEK + dt.timedelta(days=7), dt.time(17))
    add(web_runtime, "bfu", [weekly_text("s-bfu", "Робототехника [8]", start, 120)])
    add(web_runtime, "kgtu", [weekly_text("s-kgtu", "Шахматы [8А]", start, 120)])
    [record] = [
        r for r in web_runtime.records.query(Filters()) if r.occurrences[0]["uid"] == "s-bfu"
    ]
    assert record.count > 100
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/conflicts"))
    assert page.count("Шахматы [8А]</a>") == 1, "one card, one date shown"
    assert f"всего {record.count} " in page and "следующая:" in page
    detail = text(web_client.get(f"/conflicts/{record.id}"))
    assert detail.count("<li>") >= 100 and "Страница 1 из 2" in detail
    rest = text(web_client.get(f"/conflicts/{record.id}?page=2"))
    dates = rest.split('<ol class="clash-dates"', 1)[1].split("</ol>", 1)[0]
    assert dates.count("<li>") == record.count - 100
    # One approval for every date.
    token = session_csrf(web_client)
    approved = web_client.post(
        f"/conflicts/{record.id}/approve",
        data={"csrf_token": token, "comment": "Разные кабинеты", "version": record.version},
    )
    assert approved.status_code == 303
    assert web_runtime.records.get(record.id).status == "approved"
