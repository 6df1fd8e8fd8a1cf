"""Every clash rule, through the real server: events PUT by partners over CalDAV, clashes
read back from /api/conflicts. Each test uses a week of its own (``own_week``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from clash_support import at, conflicts, involving, own_week, put_event, rules_between


def statuses(hub: Any, rule: str, *uids: str) -> list[str]:
    return [r["status"] for r in involving(conflicts(hub), *uids) if r["rule"] == rule]


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    return module_hubs()


def test_same_students_at_the_same_time_is_an_audience_clash(hub: Any) -> None:
    day = own_week()
    a = put_event(hub, "bfu", "/bfu/calendar/", "aud-a", "Лекция [10-11]", at(day, 15), at(day, 16))
    b = put_event(
        hub, "kgtu", "/kgtu/calendar/", "aud-b", "Мастер-класс [10А]", at(day, 15, 30), at(day, 17)
    )
    assert (a.status, b.status) == (201, 201)
    records = involving(conflicts(hub), "aud-a", "aud-b")
    assert [(r["rule"], r["severity"], r["status"]) for r in records] == [
        ("audience", "hard", "open")
    ]
    record = records[0]
    assert {o["calendar"] for o in record["occurrences"]} == {"bfu", "kgtu"}
    assert {o["audience"] for o in record["occurrences"]} == {"10–11", "10А"}
    assert "10А" in record["message"]["ru"]


def test_different_classes_and_back_to_back_events_do_not_clash(hub: Any) -> None:
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "apart-a", "Лекция [10А]", at(day, 15), at(day, 16))
    put_event(hub, "kgtu", "/kgtu/calendar/", "apart-b", "Лекция [10Б]", at(day, 15), at(day, 16))
    # Half-open intervals: ending at 16:00 and starting at 16:00 is not a clash.
    put_event(
        hub, "kgtu", "/kgtu/calendar/", "apart-c", "Экскурсия [10А]", at(day, 16), at(day, 17)
    )
    assert rules_between(hub, "apart-a", "apart-b") == set()
    assert "audience" not in rules_between(hub, "apart-a", "apart-c")


def test_latin_class_letters_are_the_same_class(hub: Any) -> None:
    day = own_week() + dt.timedelta(days=1)
    put_event(hub, "bfu", "/bfu/calendar/", "latin-a", "Olympiad [10A]", at(day, 15), at(day, 16))
    put_event(
        hub, "kgtu", "/kgtu/calendar/", "latin-b", "Олимпиада [10А]", at(day, 15), at(day, 16)
    )
    assert "audience" in rules_between(hub, "latin-a", "latin-b")


def test_event_in_an_exam_period_is_a_blackout_clash(hub: Any) -> None:
    day = own_week() + dt.timedelta(days=2)
    put_event(
        hub,
        "coordinator",
        "/school/blackout/",
        "exam-9",
        "Пробный ОГЭ [9]",
        day,
        day + dt.timedelta(days=1),
    )
    put_event(hub, "bfu", "/bfu/calendar/", "during-exam", "Лекция [9А]", at(day, 14), at(day, 15))
    put_event(
        hub, "kgtu", "/kgtu/calendar/", "other-grade", "Лекция [11]", at(day, 14), at(day, 15)
    )
    records = involving(conflicts(hub), "exam-9", "during-exam")
    assert [(r["rule"], r["severity"]) for r in records] == [("blackout", "hard")]
    assert rules_between(hub, "exam-9", "other-grade") == set()


def test_multi_day_holidays_cover_every_day(hub: Any) -> None:
    monday = own_week()
    put_event(
        hub,
        "coordinator",
        "/school/blackout/",
        "holidays",
        "Каникулы [вся школа]",
        monday,
        monday + dt.timedelta(days=7),
    )
    friday = monday + dt.timedelta(days=4)
    put_event(
        hub,
        "kgtu",
        "/kgtu/calendar/",
        "in-holidays",
        "Экскурсия [7]",
        at(friday, 10),
        at(friday, 12),
    )
    assert rules_between(hub, "holidays", "in-holidays") == {"blackout"}


def test_same_venue_twice_is_a_venue_clash_whatever_the_audience(hub: Any) -> None:
    day = own_week()
    put_event(
        hub,
        "bfu",
        "/bfu/calendar/",
        "hall-a",
        "Концерт [5]",
        at(day, 12),
        at(day, 13),
        location="Актовый зал гимназии",
    )
    put_event(
        hub,
        "kgtu",
        "/kgtu/calendar/",
        "hall-b",
        "Лекция [11]",
        at(day, 12, 30),
        at(day, 14),
        location="актовый  зал гимназии",
    )
    assert rules_between(hub, "hall-a", "hall-b") == {"venue"}


def test_too_little_time_to_travel_between_venues_is_soft(hub: Any) -> None:
    day = own_week()
    put_event(
        hub,
        "bfu",
        "/bfu/calendar/",
        "trip-a",
        "Лекция [8А]",
        at(day, 14),
        at(day, 15),
        location="БФУ, ул. Университетская, 2",
    )
    put_event(
        hub,
        "kgtu",
        "/kgtu/calendar/",
        "trip-b",
        "Практикум [8А]",
        at(day, 15, 10),
        at(day, 16),
        location="КГТУ, Советский пр., 1",
    )
    put_event(
        hub,
        "kgtu",
        "/kgtu/calendar/",
        "trip-c",
        "Экскурсия [8А]",
        at(day, 16, 40),
        at(day, 17),
        location="БФУ, ул. Университетская, 2",
    )
    records = involving(conflicts(hub), "trip-a", "trip-b")
    assert [(r["rule"], r["severity"]) for r in records] == [("travel", "soft")]
    # 40 minutes between trip-b and trip-c is more than the default 30.
    assert rules_between(hub, "trip-b", "trip-c") == set()


def test_the_same_title_on_the_same_day_is_a_soft_duplicate(hub: Any) -> None:
    day = own_week()
    put_event(
        hub, "bfu", "/bfu/calendar/", "dup-a", "День открытых дверей [11]", at(day, 10), at(day, 11)
    )
    put_event(
        hub,
        "kgtu",
        "/kgtu/calendar/",
        "dup-b",
        "день открытых дверей [11Б]",
        at(day, 16),
        at(day, 17),
    )
    records = involving(conflicts(hub), "dup-a", "dup-b")
    assert [(r["rule"], r["severity"]) for r in records] == [("duplicate", "soft")]


def test_more_than_five_events_a_week_for_a_grade_is_overload(hub: Any) -> None:
    monday = own_week()
    uids = [f"load-{n}" for n in range(6)]
    for n, uid in enumerate(uids):
        day = monday + dt.timedelta(days=n % 5)
        hour = 9 + 2 * (n // 5)
        login = "bfu" if n % 2 else "kgtu"
        put_event(
            hub,
            login,
            f"/{login}/calendar/",
            uid,
            f"Занятие {n} [6В]",
            at(day, hour),
            at(day, hour + 1),
        )
    records = involving(conflicts(hub), *uids)
    assert [(r["rule"], r["severity"]) for r in records] == [("overload", "soft")]
    assert len(records[0]["occurrences"]) == 6
    # One leaves the week: five are not too many, and the clash resolves by itself.
    later = monday + dt.timedelta(weeks=60)
    put_event(
        hub, "kgtu", "/kgtu/calendar/", "load-0", "Занятие 0 [6В]", at(later, 9), at(later, 10)
    )
    records = [
        r
        for r in conflicts(hub)
        if r["rule"] == "overload" and "load-1" in {o["uid"] for o in r["occurrences"]}
    ]
    assert [r["status"] for r in records] == ["resolved"]


def test_cancelled_and_transparent_events_never_clash(hub: Any) -> None:
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "solid", "Лекция [7]", at(day, 15), at(day, 16))
    cancelled = put_event(
        hub, "kgtu", "/kgtu/calendar/", "cancelled", "Лекция [7]", at(day, 15), at(day, 16)
    )
    assert cancelled.status == 201
    from clash_support import put_text
    from helpers import make_event

    text = make_event("cancelled", "Лекция [7]", at(day, 15), at(day, 16)).replace(
        "END:VEVENT", "STATUS:CANCELLED\r\nEND:VEVENT"
    )
    assert put_text(hub, "kgtu", "/kgtu/calendar/", "cancelled", text).status == 204
    transparent = make_event("free", "Напоминание [7]", at(day, 15), at(day, 16)).replace(
        "END:VEVENT", "TRANSP:TRANSPARENT\r\nEND:VEVENT"
    )
    assert put_text(hub, "kgtu", "/kgtu/calendar/", "free", transparent).status == 201
    records = involving(conflicts(hub), "solid", "cancelled")
    assert all(r["status"] == "resolved" for r in records)
    assert involving(conflicts(hub), "solid", "free") == []


def test_moscow_time_is_compared_with_kaliningrad_time(hub: Any) -> None:
    day = own_week()
    # 16:00 in Moscow is 15:00 in Kaliningrad.
    put_event(
        hub,
        "bfu",
        "/bfu/calendar/",
        "msk",
        "Онлайн-лекция [9]",
        at(day, 16),
        at(day, 17),
        tzid="Europe/Moscow",
    )
    put_event(
        hub, "kgtu", "/kgtu/calendar/", "kgd-clash", "Лекция [9]", at(day, 15, 30), at(day, 16)
    )
    put_event(
        hub, "kgtu", "/kgtu/calendar/", "kgd-after", "Практикум [9]", at(day, 16), at(day, 16, 30)
    )
    assert rules_between(hub, "msk", "kgd-clash") == {"audience"}
    assert "audience" not in rules_between(hub, "msk", "kgd-after")


def test_dst_edge_zone_is_compared_as_instants(hub: Any) -> None:
    # Europe/Berlin leaves summer time on the last Sunday of October at 03:00 local.
    # 02:30 CET (after the change, the second 02:30) is 01:30 UTC = 03:30 in Kaliningrad.
    # The next such Sunday from today, not from own_week(): the weeks handed out grow with
    # the number of tests run before this one, and a year after them left the hub's horizon.
    sunday = next(
        day
        for year in (dt.date.today().year, dt.date.today().year + 1)
        for day in [
            max(dt.date(year, 10, d) for d in range(25, 32) if dt.date(year, 10, d).weekday() == 6)
        ]
        if day > dt.date.today()
    )
    year = sunday.year
    start = dt.datetime(year, 10, sunday.day, 1, 30, tzinfo=dt.UTC)
    put_event(
        hub,
        "bfu",
        "/bfu/calendar/",
        "utc-night",
        "Ночная экспедиция [10]",
        start,
        start + dt.timedelta(hours=1),
    )
    put_event(
        hub,
        "kgtu",
        "/kgtu/calendar/",
        "kgd-night",
        "Наблюдение звёзд [10]",
        at(sunday, 3, 0),
        at(sunday, 4, 0),
    )
    assert rules_between(hub, "utc-night", "kgd-night") == {"audience"}


def test_editing_an_event_away_resolves_its_clash(hub: Any) -> None:
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "move-a", "Лекция [5]", at(day, 15), at(day, 16))
    put_event(hub, "kgtu", "/kgtu/calendar/", "move-b", "Лекция [5А]", at(day, 15), at(day, 16))
    assert statuses(hub, "audience", "move-a", "move-b") == ["open"]
    put_event(hub, "kgtu", "/kgtu/calendar/", "move-b", "Лекция [5А]", at(day, 17), at(day, 18))
    assert statuses(hub, "audience", "move-a", "move-b") == ["resolved"]
    assert involving(conflicts(hub, query="?status=resolved"), "move-a", "move-b")[0]["resolved_at"]


def test_deleting_an_event_resolves_its_clashes(hub: Any) -> None:
    from helpers import PASSWORDS

    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "del-a", "Лекция [6]", at(day, 15), at(day, 16))
    put_event(hub, "kgtu", "/kgtu/calendar/", "del-b", "Лекция [6]", at(day, 15), at(day, 16))
    response = hub.request("DELETE", "/dav/kgtu/calendar/del-b.ics", "kgtu", PASSWORDS["kgtu"])
    assert response.status in (200, 204)
    assert statuses(hub, "audience", "del-a", "del-b") == ["resolved"]
