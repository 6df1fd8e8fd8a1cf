"""Shared by the feedback tests: a hub with events around now (one that has just ended, one
to come, one long past, a weekly series, a cancelled one), links to their forms, and
answering a form as a browser does."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from typing import Any

from helpers import make_event

from calhub.dav.importer import import_objects
from calhub.dav.maintenance import open_runtime
from calhub.feedback.links import LinkTarget, feedback_keys
from calhub.hub import Hub, configfile

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def utc(delta: dt.timedelta) -> dt.datetime:
    return NOW + delta


def weekly(uid: str, summary: str, start: dt.datetime, count: int) -> str:
    stamp = start.strftime("%Y%m%dT%H%M%SZ")
    end = (start + dt.timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//calhub tests//EN",
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20250101T000000Z",
            f"DTSTART:{stamp}",
            f"DTEND:{end}",
            f"RRULE:FREQ=WEEKLY;COUNT={count}",
            f"SUMMARY:{summary}",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )


def cancelled(uid: str, start: dt.datetime) -> str:
    text = make_event(uid, "Отменённая лекция [9]", start, start + dt.timedelta(hours=1))
    return text.replace("END:VEVENT", "STATUS:CANCELLED\r\nEND:VEVENT")


def feedback_events() -> dict[str, list[str]]:
    return {
        "bfu": [
            make_event(
                "fb-ended",
                "Лекция по физике [10-11]",
                utc(-dt.timedelta(hours=3)),
                utc(-dt.timedelta(hours=2)),
            ),
            make_event(
                "fb-coming",
                "Экскурсия в лабораторию [9]",
                utc(dt.timedelta(days=2)),
                utc(dt.timedelta(days=2, hours=2)),
            ),
            make_event(
                "fb-old",
                "Олимпиада [11]",
                utc(-dt.timedelta(days=40)),
                utc(-dt.timedelta(days=40) + dt.timedelta(hours=2)),
            ),
            weekly(
                "fb-series", "Кружок робототехники [8]", utc(-dt.timedelta(days=15, hours=5)), 6
            ),
            cancelled("fb-cancelled", utc(-dt.timedelta(days=1))),
        ],
        "kgtu": [
            make_event(
                "fb-kgtu",
                "Практикум КГТУ [10А]",
                utc(-dt.timedelta(days=1, hours=4)),
                utc(-dt.timedelta(days=1, hours=3)),
            ),
        ],
    }


def build_feedback_hub(template: Path, root: Path, **feedback: Any) -> Path:
    """A copy of the template hub with the events above and ``[feedback]`` set."""
    shutil.copytree(template, root)
    document = configfile.read_document(root)
    document["hub"]["failed_login_delay"] = 0.0  # type: ignore[index]
    document["feedback"] = {"min_form_seconds": 0, **feedback}
    configfile.save_document(root, document)
    runtime = open_runtime(Hub(root))
    try:
        for calendar_id, texts in feedback_events().items():
            calendar = runtime.settings.calendar(calendar_id)
            assert calendar is not None
            import_objects(runtime, calendar, texts)
    finally:
        runtime.close()
    return root


def set_feedback(root: Path, **feedback: Any) -> None:
    document = configfile.read_document(root)
    document["feedback"] = feedback
    configfile.save_document(root, document)


def link(hub: Hub, calendar: str, uid: str, rid: str | None = None) -> str:
    """The path of an event's form, ``/f/<token>``."""
    return "/f/" + feedback_keys(hub).token(LinkTarget(calendar, uid, rid))


def form_fields(html: str) -> dict[str, str]:
    """The hidden fields of the form page: its CSRF token and its stamp."""
    fields = dict(
        re.findall(r'<input type="hidden" name="(csrf_token|stamp)" value="([^"]+)"', html)
    )
    assert "csrf_token" in fields and "stamp" in fields, html[:2000]
    return fields


def answer(
    client: Any, path: str, environ_base: dict[str, str] | None = None, **values: str
) -> Any:
    """Open the form and send it with ``values`` (rating, recommend, comment, website...),
    from the client address and user agent in ``environ_base`` if given."""
    extra = {"environ_base": environ_base} if environ_base else {}
    page = client.get(path, **extra)
    assert page.status_code == 200, page.get_data(as_text=True)[:1000]
    data = form_fields(page.get_data(as_text=True)) | values
    return client.post(path, data=data, **extra)
