"""Helpers for the clash tests: a week of its own per test, PUT through the real server,
and reading the hub's clash records through the API and the CLI."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

from helpers import PASSWORDS, make_event

_weeks = itertools.count()

# Inside the default horizon (a year back, two ahead of today) and clear of the demo term.
_TODAY = dt.date.today()
FIRST_MONDAY = _TODAY - dt.timedelta(days=_TODAY.weekday()) + dt.timedelta(weeks=9)


# Weeks counted back from a month ago, for a test that needs many weeks of its own (a
# property test takes one per example): the forward weeks of own_week() must stay inside
# the horizon (two years ahead) for every other test of the process.
_past_weeks = itertools.count(1)
LAST_FREE_MONDAY = _TODAY - dt.timedelta(days=_TODAY.weekday()) - dt.timedelta(weeks=4)


def past_week() -> dt.date:
    """A Monday in the past (inside the horizon's year back) no other test uses."""
    return LAST_FREE_MONDAY - dt.timedelta(weeks=next(_past_weeks))


def own_week() -> dt.date:
    """A Monday no other test in this process uses, so rules such as overload (events per
    grade per week) only ever see the events of one test."""
    monday = FIRST_MONDAY + dt.timedelta(weeks=next(_weeks))
    # Past the horizon (730 days ahead by default) nothing is clash-checked: a test would
    # pass or fail for the wrong reason. Take weeks from past_week() instead.
    assert monday + dt.timedelta(weeks=1) < _TODAY + dt.timedelta(days=730), (
        "own_week() ran out of weeks inside the horizon; use past_week() for tests that need many"
    )
    return monday


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A naive local time, written with TZID=Europe/Kaliningrad by ``make_event``."""
    return dt.datetime.combine(day, dt.time(hour, minute))


def put_event(hub: Any, login: str, calendar_path: str, uid: str, *args: Any, **kwargs: Any) -> Any:
    """PUT ``make_event(uid, *args, **kwargs)`` into ``/dav<calendar_path><uid>.ics``."""
    return put_text(hub, login, calendar_path, uid, make_event(uid, *args, **kwargs))


def put_text(hub: Any, login: str, calendar_path: str, uid: str, text: str) -> Any:
    return hub.request(
        "PUT",
        f"/dav{calendar_path}{uid}.ics",
        login,
        PASSWORDS[login],
        body=text,
        headers={"Content-Type": "text/calendar; charset=utf-8"},
    )


def conflicts(hub: Any, login: str = "coordinator", query: str = "") -> list[dict[str, Any]]:
    response = hub.request("GET", f"/api/conflicts{query}", login, PASSWORDS[login])
    assert response.status == 200, response.text
    records: list[dict[str, Any]] = json.loads(response.text)
    return records


def involving(records: list[dict[str, Any]], *uids: str) -> list[dict[str, Any]]:
    """Records whose occurrences include every one of ``uids``."""
    return [r for r in records if set(uids) <= {o["uid"] for o in r["occurrences"]}]


def rules_between(hub: Any, *uids: str, status: str | None = None) -> set[str]:
    records = involving(conflicts(hub), *uids)
    return {r["rule"] for r in records if status is None or r["status"] == status}


def set_policy(hub: Any, calendar_id: str, policy: str) -> None:
    """Change a calendar's clash policy in calhub.toml; the running server re-reads it."""
    from calhub.hub import configfile

    document = configfile.read_document(hub.data_dir)
    configfile.set_calendar_key(document, calendar_id, "policy", policy)
    configfile.save_document(hub.data_dir, document)


def approve(hub: Any, clash_id: str, comment: str = "Группы в разных корпусах") -> None:
    """Approve a clash as the coordinator does, through the API."""
    response = hub.request(
        "POST",
        f"/api/conflicts/{clash_id}/approve",
        "coordinator",
        PASSWORDS["coordinator"],
        body=json.dumps({"comment": comment}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 200, response.text
