"""The hub's own answer to a phone's calendar-multiget (calhub.dav.multiget) is Radicale's,
byte for byte, and every other REPORT is still Radicale's.

Each request goes through the hub's whole WSGI stack in this process, twice: as the hub
answers it, and with the shortcut turned off, as Radicale's own REPORT does. The answers
are compared whole where Radicale's order is defined (one object asked for, or none
stored), response by response where it is its set's order. tests/test_poll_answers.py
compares the served hub with a plain Radicale over random histories.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from helpers import PASSWORDS, make_event

from bench.profile_hub import InProcess
from calhub.dav.multiget import MultigetApplication, parse_multiget

CALENDAR = "bfu/calendar"
BASE = f"/dav/{CALENDAR}/"
HEAD = '<?xml version="1.0" encoding="utf-8"?>'
SPACES = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"'


def body(props: str, hrefs: list[str], extra: str = "") -> str:
    links = "".join(f"<D:href>{href}</D:href>" for href in hrefs)
    inside = f"<D:prop>{props}</D:prop>{extra}{links}"
    return f"{HEAD}<C:calendar-multiget {SPACES}>{inside}</C:calendar-multiget>"


BOTH = "<D:getetag/><C:calendar-data/>"


def event_text(uid: str, day: int, summary: str) -> str:
    start = dt.datetime(2027, 4, day, 9, tzinfo=dt.UTC)
    return make_event(uid, summary, start, start + dt.timedelta(minutes=45))


class Stack(InProcess):
    """The hub's whole WSGI stack, in this process, signed in as a partner."""

    def __init__(self, root: Path, login: str = "bfu") -> None:
        super().__init__(root, login, PASSWORDS[login])
        self.root = root

    def send(
        self, method: str, path: str, text: str = "", **headers: str
    ) -> tuple[str, dict[str, str], bytes]:
        named = {name.replace("_", "-"): value for name, value in headers.items()}
        status, found, answer = self.request(method, path, text, named)
        found.pop("date", None)
        return status, found, answer

    def put(self, name: str, text: str) -> None:
        status, _, answer = self.send(
            "PUT", BASE + name, text, Content_Type="text/calendar; charset=utf-8"
        )
        assert status.startswith(("201", "204")), (status, answer)


@pytest.fixture(scope="module")
def stack(module_hubs: Any) -> Stack:
    hub = Stack(module_hubs.create())
    hub.put("plain.ics", event_text("plain", 1, "Лекция"))
    hub.put("marks.ics", event_text("marks", 2, 'Физика & химия <углублённо> "ЕГЭ"'))
    hub.put("пробел и ё.ics", event_text("cyrillic", 3, "Экскурсия"))
    for n in range(12):
        hub.put(f"bulk-{n}.ics", event_text(f"bulk-{n}", 4 + n, f"Занятие {n}"))
    return hub


def both_ways(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, text: str, path: str = BASE
) -> tuple[tuple[str, dict[str, str], bytes], tuple[str, dict[str, str], bytes]]:
    """(the hub's answer, Radicale's own answer) to one REPORT."""
    hub = stack.send("REPORT", path, text, Depth="1", Content_Type="application/xml")
    with monkeypatch.context() as patched:
        patched.setattr(MultigetApplication, "_multiget", lambda *args: None)
        radicale = stack.send("REPORT", path, text, Depth="1", Content_Type="application/xml")
    return hub, radicale


def pieces(answer: bytes) -> tuple[bytes, list[bytes]]:
    """The answer's envelope and its responses, sorted."""
    assert answer.endswith((b"</multistatus>", b" />")), answer[-40:]
    head, *responses = answer.removesuffix(b"</multistatus>").split(b"<response>")
    return head, sorted(responses)


@pytest.mark.parametrize(
    "props",
    [BOTH, "<C:calendar-data/><D:getetag/>", "<D:getetag/>", "<C:calendar-data/>"],
    ids=["etag-then-data", "data-then-etag", "etag-only", "data-only"],
)
def test_one_object_is_answered_as_radicale_answers_it(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, props: str
) -> None:
    for name in (
        "plain.ics",
        "marks.ics",
        "%D0%BF%D1%80%D0%BE%D0%B1%D0%B5%D0%BB%20%D0%B8%20%D1%91.ics",
    ):
        hub, radicale = both_ways(stack, monkeypatch, body(props, [BASE + name]))
        assert hub == radicale
        assert hub[0].startswith("207")


def test_missing_objects_come_first_as_radicale_puts_them(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One object and one never stored: Radicale writes the 404s first, so the order is its.
    hub, radicale = both_ways(
        stack, monkeypatch, body(BOTH, [BASE + "plain.ics", BASE + "gone.ics"])
    )
    assert hub == radicale
    assert hub[2].index(b"404 Not Found") < hub[2].index(b"200 OK")
    # Only objects never stored: no CalDAV namespace on the envelope, as ElementTree writes it.
    hub, radicale = both_ways(stack, monkeypatch, body(BOTH, [BASE + "a.ics", BASE + "b.ics"]))
    assert pieces(hub[2]) == pieces(radicale[2]) and hub[:2] == radicale[:2]
    assert b"xmlns:C" not in hub[2]
    # No href at all: an empty multistatus, written as ElementTree writes it.
    hub, radicale = both_ways(stack, monkeypatch, body(BOTH, []))
    assert hub == radicale and hub[2].endswith(b'<multistatus xmlns="DAV:" />')


def test_many_objects_repeats_and_full_urls_answer_as_radicale(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"bulk-{n}.ics" for n in range(12)] + ["marks.ics", "bulk-3.ics", "nope.ics"]
    hrefs = [BASE + name for name in names] + [f"http://127.0.0.1{BASE}plain.ics"]
    hrefs += [BASE + "marks.ics;v=1", BASE + "bulk-0.ics?x=1", BASE + "bulk%2D1.ics"]
    hub, radicale = both_ways(stack, monkeypatch, body(BOTH, hrefs))
    assert hub[:2] == radicale[:2]
    assert pieces(hub[2]) == pieces(radicale[2])
    assert hub[2].count(b"<response>") == 15  # each object once, the missing one too
    # What a phone reads out of it: every text as stored, the marks escaped and read back.
    root = ET.fromstring(hub[2])
    data = root.findall(".//{urn:ietf:params:xml:ns:caldav}calendar-data")
    assert any('Физика & химия <углублённо> "ЕГЭ"' in (d.text or "") for d in data)


def test_compressed_answer_is_radicales(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    text = body(BOTH, [BASE + "plain.ics"])
    hub = stack.send("REPORT", BASE, text, Depth="1", Accept_Encoding="gzip")
    with monkeypatch.context() as patched:
        patched.setattr(MultigetApplication, "_multiget", lambda *args: None)
        radicale = stack.send("REPORT", BASE, text, Depth="1", Accept_Encoding="gzip")
    assert hub[1].get("content-encoding") == "gzip"
    assert hub == radicale


OTHER_FORMS = {
    "a component asked for": body(
        "<D:getetag/><C:calendar-data><C:comp name='VCALENDAR'/></C:calendar-data>",
        [BASE + "plain.ics"],
    ),
    "expanded": body(
        "<D:getetag/><C:calendar-data><C:expand start='20270401T000000Z' "
        "end='20270501T000000Z'/></C:calendar-data>",
        [BASE + "plain.ics"],
    ),
    "another property": body(BOTH + "<D:getcontenttype/>", [BASE + "plain.ics"]),
    "no property": body("", [BASE + "plain.ics"]),
    "a filter": body(
        BOTH, [BASE + "plain.ics"], "<C:filter><C:comp-filter name='VCALENDAR'/></C:filter>"
    ),
    "the collection itself": body(BOTH, [BASE]),
    "another calendar's object": body(BOTH, ["/dav/kgtu/calendar/plain.ics"]),
    "a dotted path": body(BOTH, [BASE + "../calendar/plain.ics"]),
    "a hidden file": body(BOTH, [BASE + ".Radicale.props"]),
}


@pytest.mark.parametrize("form", sorted(OTHER_FORMS))
def test_every_other_form_is_radicales_own(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    """Radicale's REPORT answers them (its xml_report runs), as it does without the hub."""
    from radicale.app import report

    calls: list[str] = []
    real = report.xml_report

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(form)
        return real(*args, **kwargs)

    monkeypatch.setattr(report, "xml_report", counted)
    hub, radicale = both_ways(stack, monkeypatch, OTHER_FORMS[form])
    assert calls == [form, form]
    assert hub[:2] == radicale[:2]
    assert pieces(hub[2]) == pieces(radicale[2])


def test_the_common_form_does_not_go_through_radicales_report(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from radicale.app import report

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("Radicale's REPORT was asked")

    monkeypatch.setattr(report, "xml_report", refuse)
    status, _, answer = stack.send(
        "REPORT", BASE, body(BOTH, [BASE + "plain.ics"]), Depth="1", Content_Type="application/xml"
    )
    assert status.startswith("207"), answer
    assert b"UID:plain" in answer


def test_rights_and_limits_stay_radicales(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another partner reads bfu's calendar as Radicale lets it (hub calendars are readable
    # by every partner): the same answer either way.
    other = Stack(stack.root, login="kgtu")
    text = body(BOTH, [BASE + "plain.ics"])
    assert both_ways(other, monkeypatch, text)[0] == both_ways(other, monkeypatch, text)[1]
    # Over Radicale's occurrence limit (one event here): Radicale's refusal, not an answer.
    from radicale import config as radicale_config

    real_get = radicale_config.Configuration.get

    def one_event(self: Any, section: str, option: str) -> Any:
        if (section, option) == ("reporting", "max_expand_occurrence"):
            return 1
        return real_get(self, section, option)

    monkeypatch.setattr(radicale_config.Configuration, "get", one_event)
    two = body(BOTH, [BASE + "plain.ics", BASE + "marks.ics"])
    hub, radicale = both_ways(stack, monkeypatch, two)
    assert hub[0].startswith("400") and hub == radicale
    assert both_ways(stack, monkeypatch, text)[0][0].startswith("207")


def test_parse_takes_only_the_common_form() -> None:
    def parsed(text: str) -> Any:
        return parse_multiget(ET.fromstring(text), "/dav", CALENDAR)

    asked = parsed(body(BOTH, [BASE + "a.ics", BASE + "b.ics", BASE + "a.ics"]))
    assert asked is not None and asked.names == ["a.ics", "b.ics"]
    assert parsed(body(BOTH, [BASE + "%D1%91.ics"])).names == ["ё.ics"]
    assert parsed(body("<D:getetag/><D:getetag/>", [BASE + "a.ics"])) is None
    assert parsed(body(BOTH, [BASE + "sub/a.ics"])) is None
    assert parsed(body(BOTH, [BASE + "a.ics~"])) is None
    assert parsed(body(BOTH, [""])) is None
    assert (
        parsed(f"{HEAD}<D:propfind xmlns:D='DAV:'><D:prop><D:getetag/></D:prop></D:propfind>")
        is None
    )


def test_the_occurrence_limit_counts_what_radicale_counts() -> None:
    """Radicale counts the lines reading BEGIN:VEVENT, in any case; words elsewhere in a
    line bound the count from above but are not counted."""
    from calhub.dav.multiget import over_limit

    two = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nbegin:vevent\r\nEND:VCALENDAR\r\n"
    assert over_limit([two], 1) and not over_limit([two], 2)
    worded = "BEGIN:VEVENT\r\nDESCRIPTION:BEGIN:VEVENT begin:vevent\r\n"
    assert not over_limit([worded, worded], 2) and over_limit([worded, worded], 1)
