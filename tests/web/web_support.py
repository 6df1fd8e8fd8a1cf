"""Helpers of the web tests: the sample week of events, and signing in like a browser."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from helpers import PASSWORDS, make_event

# A week of its own, clear of today so "upcoming" lists hold it, inside the horizon.
_TODAY = dt.date.today()
WEEK = _TODAY - dt.timedelta(days=_TODAY.weekday()) + dt.timedelta(weeks=3)

XSS_SCRIPT = "<script>window.__xss = 1</script> [8]"
XSS_IMG = '"><img src=x onerror="window.__xss = 2"> [9Б]'


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A naive local time on day ``day`` (0 = Monday) of the sample week."""
    return dt.datetime.combine(WEEK + dt.timedelta(days=day), dt.time(hour, minute))


def recurring_event(uid: str, summary: str, start: dt.datetime, count: int) -> str:
    stamp = start.strftime("%Y%m%dT%H%M%S")
    end = (start + dt.timedelta(hours=1)).strftime("%Y%m%dT%H%M%S")
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//calhub tests//EN",
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20250101T000000Z",
            f"DTSTART;TZID=Europe/Kaliningrad:{stamp}",
            f"DTEND;TZID=Europe/Kaliningrad:{end}",
            f"RRULE:FREQ=WEEKLY;COUNT={count}",
            f"SUMMARY:{summary}",
            "LOCATION:Гимназия\\, каб. 7",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )


def sample_events() -> dict[str, list[str]]:
    """Calendar id → iCalendar texts. Clashes, by design:

    - hard ``audience``: ``w-bfu-physics`` [10-11] × ``w-kgtu-lab`` [10А] (Monday)
    - hard ``venue``: ``w-school-concert`` × ``w-school-meeting`` (school only, Wednesday)
    - soft ``travel``: ``w-bfu-camp`` [11А] × ``w-kgtu-works`` [11А] (Friday, 10 minutes)
    """
    return {
        "bfu": [
            make_event(
                "w-bfu-physics",
                "Лекция по физике [10-11]",
                at(0, 15),
                at(0, 16, 30),
                location="БФУ, ул. Невского, 14, ауд. 112",
                description="Приходите с тетрадью.\n<b>Не HTML</b>",
            ),
            make_event(
                "w-bfu-camp",
                "Олимпиадные сборы [11А]",
                at(4, 14, 30),
                at(4, 16),
                location="БФУ, ул. Невского, 14",
            ),
            make_event(
                "w-xss-script",
                XSS_SCRIPT,
                at(3, 12),
                at(3, 13),
                description="<script>window.__xss = 3</script>",
            ),
        ],
        "kgtu": [
            make_event(
                "w-kgtu-lab", "Практикум [10А]", at(0, 15, 30), at(0, 17), location="КГТУ, корпус 3"
            ),
            make_event(
                "w-kgtu-trip", "Экскурсия [9Б]", at(1, 10), at(1, 12), location="КГТУ, корпус 3"
            ),
            make_event(
                "w-kgtu-works",
                "Лабораторная работа [11А]",
                at(4, 16, 10),
                at(4, 17, 40),
                location="КГТУ, Советский пр., 1",
            ),
            make_event("w-xss-img", XSS_IMG, at(3, 16), at(3, 17)),
        ],
        "school": [
            make_event(
                "w-school-concert", "Концерт [5]", at(2, 14), at(2, 15), location="Актовый зал"
            ),
            make_event(
                "w-school-meeting",
                "Собрание [6]",
                at(2, 14, 30),
                at(2, 15, 30),
                location="актовый зал",
            ),
            recurring_event("w-school-club", "Кружок [7]", at(1, 16), 4),
        ],
        "blackout": [
            make_event(
                "w-holiday", "Выходной", WEEK + dt.timedelta(days=6), WEEK + dt.timedelta(days=7)
            ),
        ],
    }


def csrf_in(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: Any, login: str, password: str | None = None, **request: Any) -> Any:
    """Sign in through the form, as a browser does; returns the response to the POST.
    ``request`` (base_url, headers) goes with both requests, e.g. for another host."""
    token = csrf_in(client.get("/login", **request).get_data(as_text=True))
    response = client.post(
        "/login",
        data={"csrf_token": token, "login": login, "password": password or PASSWORDS[login]},
        **request,
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response


def session_csrf(client: Any) -> str:
    with client.session_transaction() as session:
        token: str = session["csrf_token"]
    return token


def text(response: Any) -> str:
    body: str = response.get_data(as_text=True)
    return body
