"""TEXT properties with unescaped commas are stored and read whole (issue 10, point 7).

Radicale's parser (vobject 0.9.9) cut ``SUMMARY:Олимпиада [5, 7А]`` to ``Олимпиада [5``
when it read a PUT, and stored that: the audience tag was lost for the hub and for every
app syncing the event. ``calhub.dav.plugins.whole_text`` makes it read such values whole,
as icalendar and calendar apps do; CATEGORIES and RESOURCES stay lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import icalendar
import pytest
from clash_support import at, own_week, put_text, rules_between
from helpers import PASSWORDS, make_event
from radicale import item as radicale_item

from calhub.dav.plugins import whole_text
from calhub.engine import AudienceParser, EngineConfig, expand_calendar

ICS = Path(__file__).resolve().parent / "ics"


@pytest.fixture(autouse=True)
def _installed() -> Iterator[None]:
    whole_text.install()  # as the hub's storage does when it is built
    yield


def stored(text: str) -> str:
    """The text Radicale stores for an uploaded body (what GET returns afterwards)."""
    [component] = radicale_item.read_components(text)
    item = radicale_item.Item(collection_path="bfu/calendar", vobject_item=component)
    return str(item.serialize())


def event_with(*lines: str) -> str:
    """An event with these lines instead of its SUMMARY, and the Kaliningrad VTIMEZONE: its
    RDATE lists are no TEXT, and vobject's time-zone code needs them read as before."""
    start = dt.datetime(2025, 3, 12, 10)
    text = make_event("probe@tests", "-", start, start + dt.timedelta(hours=1))
    return text.replace("SUMMARY:-\r\n", "".join(f"{line}\r\n" for line in lines))


def vobject_value(text: str, name: str) -> Any:
    [component] = radicale_item.read_components(text)
    return component.vevent.contents[name.lower()][0].value


# -- what Radicale reads and stores ---------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["SUMMARY", "LOCATION", "DESCRIPTION", "COMMENT", "CONTACT", "X-CALHUB-AUDIENCE"]
)
def test_single_valued_text_is_read_whole_and_stored_escaped(name: str) -> None:
    text = event_with(f"{name}:Каб. 12, корпус 2")
    assert vobject_value(text, name) == "Каб. 12, корпус 2"
    assert f"{name}:Каб. 12\\, корпус 2\r\n" in stored(text)


@pytest.mark.parametrize("name", ["CATEGORIES", "RESOURCES"])
def test_multi_valued_text_stays_a_list(name: str) -> None:
    text = event_with("SUMMARY:Игра", f"{name}:5,7А")
    assert vobject_value(text, name) == ["5", "7А"]
    assert f"{name}:5,7А\r\n" in stored(text)


def test_escaped_text_reads_and_stores_as_before() -> None:
    text = event_with(r"SUMMARY:Олимпиада [5\, 7А]", r"DESCRIPTION:Классы: 5\, 7А\nЗал\; 2")
    assert vobject_value(text, "DESCRIPTION") == "Классы: 5, 7А\nЗал; 2"
    assert r"SUMMARY:Олимпиада [5\, 7А]" in stored(text)
    assert r"DESCRIPTION:Классы: 5\, 7А\nЗал\; 2" in stored(text)


def test_a_value_of_another_type_is_kept_as_sent() -> None:
    # Apple's map pin: a URI, whose comma is no list separator and takes no escape.
    line = "X-APPLE-STRUCTURED-LOCATION;VALUE=URI;X-TITLE=БФУ:geo:54.71,20.51"
    assert f"{line}\r\n" in stored(event_with("SUMMARY:Лекция", line))


def test_stored_text_reads_like_the_text_sent() -> None:
    sent = (ICS / "summary_unescaped_comma.ics").read_text(encoding="utf-8")
    config = EngineConfig()
    parser = AudienceParser()
    now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)

    def read(text: str) -> list[tuple[str, str, str]]:
        found = expand_calendar(text, calendar="bfu", config=config, parser=parser, now=now)
        return sorted((o.uid, o.summary, o.audience.label()) for o in found)

    assert read(stored(sent)) == read(sent)
    assert ("olympiad-unescaped@bfu", "Олимпиада [5, 7А]", "5, 7А") in read(sent)


# -- through a real hub ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    return module_hubs()


def put_raw(
    hub: Any, login: str, uid: str, start: dt.datetime, lines: Sequence[str], hours: int = 1
) -> None:
    """PUT an event whose SUMMARY and other lines are sent exactly as given, unescaped."""
    text = make_event(uid, "-", start, start + dt.timedelta(hours=hours))
    text = text.replace("SUMMARY:-\r\n", "".join(f"{line}\r\n" for line in lines))
    response = put_text(hub, login, f"/{login}/calendar/", uid, text)
    assert response.status == 201, response.text


def get_event(hub: Any, login: str, uid: str) -> tuple[str, Any]:
    response = hub.request("GET", f"/dav/{login}/calendar/{uid}.ics", login, PASSWORDS[login])
    assert response.status == 200, response.text
    return response.text, icalendar.Calendar.from_ical(response.text).walk("VEVENT")[0]


def test_summary_audience_survives_a_put(hub: Any) -> None:
    day = own_week()
    put_raw(hub, "bfu", "olymp-uc", at(day, 10), ["SUMMARY:Олимпиада [5, 7А]"], hours=2)
    text, event = get_event(hub, "bfu", "olymp-uc")
    assert str(event["SUMMARY"]) == "Олимпиада [5, 7А]"
    assert "SUMMARY:Олимпиада [5\\, 7А]" in text
    put_raw(hub, "kgtu", "grade5-uc", at(day, 11), ["SUMMARY:Лекция [5]"])
    put_raw(hub, "kgtu", "grade10-uc", at(day, 11), ["SUMMARY:Лекция [10]"])
    put_raw(hub, "kgtu", "class7a-uc", at(day, 10), ["SUMMARY:Практикум [7А]"])
    assert "audience" in rules_between(hub, "olymp-uc", "grade5-uc")
    assert "audience" in rules_between(hub, "olymp-uc", "class7a-uc")
    # Cut to "Олимпиада [5" the event had no tag and was bfu's default: the whole school.
    assert "audience" not in rules_between(hub, "olymp-uc", "grade10-uc")


def test_audience_property_survives_a_put(hub: Any) -> None:
    day = own_week()
    put_raw(hub, "bfu", "trip-uc", at(day, 10), ["SUMMARY:Экскурсия", "X-CALHUB-AUDIENCE:5, 7А"])
    _, event = get_event(hub, "bfu", "trip-uc")
    assert str(event["X-CALHUB-AUDIENCE"]) == "5\\, 7А"  # icalendar leaves X- values escaped
    put_raw(hub, "kgtu", "grade7-uc", at(day, 10), ["SUMMARY:Лекция [7]"])
    put_raw(hub, "kgtu", "grade9-uc", at(day, 10), ["SUMMARY:Лекция [9]"])
    # Cut to "5" the trip would not have met grade 7.
    assert "audience" in rules_between(hub, "trip-uc", "grade7-uc")
    assert "audience" not in rules_between(hub, "trip-uc", "grade9-uc")


def test_location_survives_a_put(hub: Any) -> None:
    day = own_week()
    room = ["SUMMARY:Консультация [9]", "LOCATION:Каб. 12, корпус 2"]
    put_raw(hub, "bfu", "room-uc", at(day, 10), room)
    _, event = get_event(hub, "bfu", "room-uc")
    assert str(event["LOCATION"]) == "Каб. 12, корпус 2"
    other = ["SUMMARY:Кружок [10]", "LOCATION:Каб. 12, корпус 3"]
    put_raw(hub, "kgtu", "other-building-uc", at(day, 10), other)
    same = ["SUMMARY:Совещание [11]", "LOCATION:Кабинет 12, корпус 2"]
    put_raw(hub, "kgtu", "same-room-uc", at(day, 10), same)
    assert "venue" in rules_between(hub, "room-uc", "same-room-uc")
    # Cut at the comma both would be "Каб. 12", one room.
    assert "venue" not in rules_between(hub, "room-uc", "other-building-uc")
