"""The clash flood of issue 11 (finding 6), measured: records, /conflicts bytes and time.

A hub with a school year of partner lessons (weekly series for grades 5-11) gets one, then
three daily series in the assembly hall for grades 5-11 (written through the hub's storage
plugin, as a PUT is). After each, it counts the clash records in hub.sqlite and times the
coordinator's /conflicts page (the Flask app in-process, signed in through the form).
Run from the repository root: ``python -m bench.clash_flood`` (or with ``PYTHONPATH`` set
to another checkout to measure that code). Prints one JSON line per step.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PASSWORD = "flood-coordinator-1"
WEEKS = 35  # a school year of weekly lessons
HALL = "Актовый зал"


def _event(uid: str, summary: str, start: dt.datetime, rule: str, location: str = "") -> str:
    end = start + dt.timedelta(hours=1)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//calhub bench//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20250101T000000Z",
        f"DTSTART;TZID=Europe/Kaliningrad:{start:%Y%m%dT%H%M%S}",
        f"DTEND;TZID=Europe/Kaliningrad:{end:%Y%m%dT%H%M%S}",
        f"RRULE:{rule}",
        f"SUMMARY:{summary}",
    ]
    if location:
        lines.append(f"LOCATION:{location}")
    return "\r\n".join([*lines, "END:VEVENT", "END:VCALENDAR", ""])


def _hub(root: Path) -> Any:  # -> calhub.runtime.Runtime
    from calhub.cli.init import create_hub
    from calhub.dav.maintenance import open_runtime
    from calhub.hub import Hub, HubPaths

    create_hub(HubPaths(root), "Гимназия", "Europe/Kaliningrad", PASSWORD)
    return open_runtime(Hub(root))


def _monday() -> dt.date:
    today = dt.date.today()
    return today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=1)


def _lessons(monday: dt.date) -> list[str]:
    """Weekly lessons at 10:00 and 12:00 on weekdays, one grade each, some in the hall."""
    texts = []
    for weekday in range(5):
        for hour in (10, 12):
            for grade in range(5, 12):
                start = dt.datetime.combine(monday + dt.timedelta(days=weekday), dt.time(hour))
                if (weekday + hour + grade) % 3:
                    continue  # about a third of the slots taken
                place = HALL if grade == 5 + weekday else ""
                texts.append(
                    _event(
                        f"lesson-{weekday}-{hour}-{grade}",
                        f"Урок [{grade}]",
                        start,
                        f"FREQ=WEEKLY;COUNT={WEEKS}",
                        place,
                    )
                )
    return texts


def _page(app: Any) -> tuple[int, float, int]:
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert token is not None
    signed = client.post(
        "/login", data={"csrf_token": token.group(1), "login": "coordinator", "password": PASSWORD}
    )
    assert signed.status_code == 303, signed.status_code
    began = time.perf_counter()
    response = client.get("/conflicts?status=all")
    took = time.perf_counter() - began
    assert response.status_code == 200, response.status_code
    return len(response.get_data()), took, response.status_code


def _count(root: Path) -> dict[str, int]:
    with sqlite3.connect(root / "hub.sqlite") as db:
        rows = db.execute("SELECT rule, count(*) FROM clashes GROUP BY rule").fetchall()
    db.close()
    return dict(rows)


def main() -> int:
    from calhub.dav.importer import import_objects
    from calhub.web import create_app

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        runtime = _hub(root)
        school = runtime.settings.calendar("school")
        assert school is not None
        monday = _monday()
        import_objects(runtime, school, _lessons(monday))
        app = create_app(test_config={"TESTING": True, "CALHUB_DATA": str(root)})
        steps = []
        for n in range(3):
            start = dt.datetime.combine(monday, dt.time(10 + 2 * n))
            flood = _event(f"flood-{n}", "Репетиция [5-11]", start, "FREQ=DAILY", HALL)
            began = time.perf_counter()
            import_objects(runtime, school, [flood])
            write = time.perf_counter() - began
            counts = _count(root)
            size, took, _ = _page(app)
            step = {
                "daily series": n + 1,
                "records": sum(counts.values()),
                "by rule": counts,
                "write s": round(write, 2),
                "/conflicts bytes": size,
                "/conflicts s": round(took, 3),
            }
            steps.append(step)
            print(json.dumps(step, ensure_ascii=False), flush=True)
        app.extensions["calhub_runtime"].close()
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
