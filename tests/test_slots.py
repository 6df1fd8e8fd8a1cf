"""The slot finder end to end: a real server with events written through CalDAV, the slots
``GET /api/slots`` and ``calhub slots`` find, and the first slot written back through CalDAV
into a ``reject`` calendar, which refuses any new hard clash; the ``[schedule]`` settings."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from clash_support import at, conflicts, involving, own_week, past_week, put_event, set_policy
from helpers import PASSWORDS, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import event as tally
from hypothesis import strategies as st

from calhub.errors import ConfigError
from calhub.hub import configfile
from calhub.hub.settings import parse_settings

ZONE = ZoneInfo("Europe/Kaliningrad")
HALL = "Актовый зал"


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    hub = module_hubs()
    set_policy(hub, "kgtu", "reject")
    return hub


def busy_week(hub: Any, tag: str) -> dt.date:
    """A week where 10А cannot meet in the hall before Thursday: Monday its grade's lecture,
    Tuesday an exam blackout for grade 10, Wednesday the hall is booked; on Thursday 10А has a
    lecture at БФУ at 17:00."""
    monday = own_week()
    day = lambda n: monday + dt.timedelta(days=n)  # noqa: E731
    writes = [
        put_event(hub, "bfu", "/bfu/calendar/", f"{tag}-mon", "Лекция [10-11]",
                  at(day(0), 15), at(day(0), 18), location="БФУ"),
        put_event(hub, "coordinator", "/school/blackout/", f"{tag}-exam", "Экзамен [10]",
                  day(1), day(2)),
        put_event(hub, "coordinator", "/school/calendar/", f"{tag}-hall", "Концерт [5]",
                  at(day(2), 14), at(day(2), 19), location=HALL),
        put_event(hub, "bfu", "/bfu/calendar/", f"{tag}-thu", "Семинар [10А]",
                  at(day(3), 17), at(day(3), 18), location="БФУ"),
    ]  # fmt: skip
    assert [w.status for w in writes] == [201] * 4, [w.text for w in writes]
    return monday


def api_slots(hub: Any, monday: dt.date, **extra: str) -> list[dict[str, Any]]:
    query = {
        "audience": "10А",
        "duration": "90",
        "from": str(monday),
        "to": str(monday + dt.timedelta(days=4)),
        "venue": HALL,
    } | extra
    path = "/api/slots?" + urlencode(query)
    response = hub.request("GET", path, "coordinator", PASSWORDS["coordinator"])
    assert response.status == 200, response.text
    found: list[dict[str, Any]] = json.loads(response.text)["slots"]
    return found


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(ZONE).replace(tzinfo=None)


def write_slot(hub: Any, uid: str, slot: dict[str, Any]) -> Any:
    return put_event(
        hub, "kgtu", "/kgtu/calendar/", uid, "Мастер-класс [10А]",
        local(slot["start"]), local(slot["end"]), location=HALL,
    )  # fmt: skip


def test_the_first_slot_is_written_through_caldav_without_a_hard_clash(hub: Any) -> None:
    monday = busy_week(hub, "soft")
    found = api_slots(hub, monday)
    thursday = monday + dt.timedelta(days=3)
    first = found[0]
    # 15:20-16:50 leaves 10 minutes to reach БФУ: free, but amber with the travel rule.
    assert local(first["start"]) == at(thursday, 15, 20)
    assert first["grade"] == "amber"
    travel = [s for s in first["soft"] if s["rule"] == "travel"]
    assert travel and "Мало времени на дорогу" in travel[0]["message_ru"]
    assert "Too little travel time" in travel[0]["message_en"]
    assert all(local(s["start"]).date() >= thursday for s in found)
    # kgtu refuses new hard clashes (409): the slot is taken with 201.
    written = write_slot(hub, "soft-slot", first)
    assert written.status == 201, written.text
    records = involving(conflicts(hub), "soft-slot")
    assert records and {r["severity"] for r in records} == {"soft"}
    # The slot is taken now: the finder moves on, and never offers a time the same write
    # would be refused for.
    again = api_slots(hub, monday)
    assert local(again[0]["start"]) != at(thursday, 15, 20)
    refused = write_slot(hub, "soft-again", {**first, "start": first["start"]})
    assert refused.status == 409


def test_the_travel_gap_made_hard_takes_the_slot_away(hub: Any) -> None:
    document = configfile.read_document(hub.data_dir)
    document["rules"]["travel"]["severity"] = "hard"  # type: ignore[index]
    configfile.save_document(hub.data_dir, document)
    try:
        monday = busy_week(hub, "hard")
        found = api_slots(hub, monday, limit="3")
        # Thursday: 15:20 is too near the 17:00 seminar, later ones overlap it or end late.
        friday = monday + dt.timedelta(days=4)
        assert [local(s["start"]) for s in found] == [
            at(friday, 15, 20),
            at(friday, 15, 35),
            at(friday, 15, 50),
        ]
        written = write_slot(hub, "hard-slot", found[0])
        assert written.status == 201, written.text
        assert not [r for r in involving(conflicts(hub), "hard-slot") if r["severity"] == "hard"]
    finally:
        document["rules"]["travel"]["severity"] = "soft"  # type: ignore[index]
        configfile.save_document(hub.data_dir, document)


def test_the_cli_prints_the_same_slots_in_both_languages(hub: Any) -> None:
    monday = busy_week(hub, "cli")
    argv = [
        "slots", "--data", str(hub.data_dir), "--audience", "10А", "--duration", "1h30m",
        "--from", str(monday), "--to", str(monday + dt.timedelta(days=4)), "--venue", HALL,
    ]  # fmt: skip
    text = run_cli([*argv, "--limit", "2"])
    assert text.code == 0, text
    thursday = monday + dt.timedelta(days=3)
    lines = text.out.splitlines()
    assert lines[0].startswith(f"{thursday} Thu 15:20–16:50  есть замечания / soft clashes")
    assert any("Мало времени на дорогу" in line for line in lines)
    assert any("Too little travel time" in line for line in lines)
    as_json = run_cli([*argv, "--json", "--near", f"{thursday}T18:00"])
    assert as_json.code == 0, as_json
    slots = json.loads(as_json.out)
    assert slots == api_slots(hub, monday, near=f"{thursday}T18:00")
    nothing = run_cli([*argv, "--to", str(monday + dt.timedelta(days=2))])
    assert nothing.code == 0 and "No free time for 10А" in nothing.out
    assert "Свободного времени для 10А не найдено" in nothing.out


_EVENTS = st.lists(
    st.tuples(
        st.sampled_from(("bfu", "school", "blackout")),
        st.integers(0, 4),  # day
        st.integers(14 * 2, 18 * 2),  # start, half hours
        st.integers(1, 8),  # length, half hours
        st.sampled_from(("10", "10А", "11", "9-11", "10Б")),
        st.sampled_from(("", HALL, "БФУ")),
    ),
    max_size=6,
)
_WRITERS = {"bfu": ("bfu", "/bfu/calendar/"), "school": ("coordinator", "/school/calendar/"),
            "blackout": ("coordinator", "/school/blackout/")}  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=_EVENTS,
    who=st.sampled_from(("10А", "10", "11Б")),
    venue=st.sampled_from(("", HALL)),
    near=st.tuples(st.integers(0, 4), st.integers(15, 18)),
)
def test_every_slot_returned_is_written_through_caldav_without_a_hard_clash(
    hub: Any,
    events: list[tuple[str, int, int, int, str, str]],
    who: str,
    venue: str,
    near: tuple[int, int],
) -> None:
    # One week per example, from the past weeks: own_week()'s are the whole suite's.
    monday = past_week()
    tag = f"p{monday:%Y%m%d}"
    for number, (calendar, day, start, length, audience, location) in enumerate(events):
        login, path = _WRITERS[calendar]
        begin = at(monday + dt.timedelta(days=day), 0) + dt.timedelta(minutes=30 * start)
        written = put_event(
            hub, login, path, f"{tag}-{number}", f"Занятие [{audience}]",
            begin, begin + dt.timedelta(minutes=30 * length), location=location or None,
        )  # fmt: skip
        assert written.status == 201, written.text
    wished = at(monday + dt.timedelta(days=near[0]), near[1]).isoformat()
    found = api_slots(hub, monday, audience=who, venue=venue, near=wished, limit="3")
    tally(f"{len(found)} slots, {len(events)} events")
    for number, slot in enumerate(found):
        uid = f"{tag}-slot{number}"
        written = put_event(
            hub, "kgtu", "/kgtu/calendar/", uid, f"Мастер-класс [{who}]",
            local(slot["start"]), local(slot["end"]), location=venue or None,
        )  # fmt: skip
        assert written.status == 201, (slot, written.text)
        hard = [r for r in involving(conflicts(hub), uid) if r["severity"] == "hard"]
        assert not hard, hard
        # Taken away again, so the next slot is judged against the same events.
        gone = hub.request("DELETE", f"/dav/kgtu/calendar/{uid}.ics", "kgtu", PASSWORDS["kgtu"])
        assert gone.status in (200, 204)


@pytest.mark.parametrize(
    ("change", "ru", "en"),
    [
        (["--duration", "долго"], "Длительность", "Duration"),
        (["--audience", "всем подряд"], "Аудитория", "Audience"),
        (["--from", "1 февраля"], "не дата", "is not a date"),
        (["--limit", "0"], "limit", "whole number"),
    ],
)
def test_cli_bad_input_says_what_to_do(tmp_path: Path, hub_template: Path, change: list[str],
                                       ru: str, en: str) -> None:  # fmt: skip
    data = tmp_path / "data"
    shutil.copytree(hub_template, data)
    argv = ["slots", "--data", str(data), "--audience", "10А", "--duration", "90",
            "--from", "2027-02-01", "--to", "2027-02-14"]  # fmt: skip
    if change[0] in argv:
        argv[argv.index(change[0]) + 1] = change[1]
    else:
        argv.extend(change)
    result = run_cli(argv)
    assert result.code == 2
    assert ru in result.err and en in result.err
    assert (
        "calhub: For example" in result.err
        or "calhub: Name grades" in result.err
        or ("calhub: Write" in result.err)
    )


def test_schedule_defaults_fit_a_gymnasium_and_bad_values_name_the_key() -> None:
    schedule = parse_settings(Path("calhub.toml"), {}).schedule
    assert schedule.lesson_days == (0, 1, 2, 3, 4)
    assert (schedule.lessons_start, schedule.lessons_end) == (dt.time(8, 30), dt.time(14, 30))
    assert schedule.after_lessons[1] == dt.time(12, 40)
    assert schedule.after_lessons[11] == dt.time(15, 20)
    assert 7 not in schedule.after_lessons
    assert schedule.saturday_grades == frozenset(range(5, 12))
    assert schedule.latest_end == dt.time(19, 0) and schedule.step_minutes == 15
    six_days = parse_settings(
        Path("calhub.toml"), {"schedule": {"lesson_days": ["mon", "sat"], "step_minutes": 30}}
    ).schedule
    assert six_days.lesson_days == (0, 5) and six_days.step_minutes == 30
    for table, key in [
        ({"lesson_days": ["понедельник"]}, "schedule.lesson_days"),
        ({"lesson_days": "mon"}, "schedule.lesson_days"),
        ({"after_lessons": {"1-4": "1240"}}, "schedule.after_lessons"),
        ({"after_lessons": {"13": "12:40"}}, "schedule.after_lessons"),
        ({"saturday_grades": "все"}, "schedule.saturday_grades"),
        ({"latest_end": 19}, "schedule.latest_end"),
        ({"step_minutes": 1}, "schedule.step_minutes"),
        ({"lessons_start": "15:00"}, "schedule.lessons_end"),
        ({"lunch": "13:00"}, "schedule.lunch"),
    ]:
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            parse_settings(Path("calhub.toml"), {"schedule": table})


def test_every_schedule_key_is_documented_with_its_default() -> None:
    from calhub.hub.settings import SCHEDULE_SCHEMA

    doc = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = doc.split("## [schedule]", 1)[1].split("\n## ", 1)[0]
    for key, option in SCHEDULE_SCHEMA.items():
        default = option.default
        if isinstance(default, tuple):
            shown = "[" + ", ".join(f'"{day}"' for day in default) + "]"
        elif isinstance(default, dict):
            shown = "{ " + ", ".join(f'"{k}" = "{v}"' for k, v in default.items()) + " }"
        elif isinstance(default, str):
            shown = f'"{default}"'
        else:
            shown = str(default)
        assert f"| `{key}` | `{shown}` |" in section, key
