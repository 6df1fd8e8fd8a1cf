"""``GET /api/slots`` on the sample week: signed-in only, the audience's events avoided,
and a readable 400 in Russian and English for every kind of bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import PASSWORDS, basic_auth
from web_support import WEEK, at, sign_in

ZONE = ZoneInfo("Europe/Kaliningrad")
AUTH = {"Authorization": basic_auth("coordinator", PASSWORDS["coordinator"])}
FRIDAY = WEEK + dt.timedelta(days=4)


def slots(client: Any, **params: str) -> Any:
    query = {"audience": "10А", "duration": "90", "from": str(WEEK), "to": str(FRIDAY)} | params
    return client.get("/api/slots", query_string=query, headers=AUTH)


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(ZONE).replace(tzinfo=None)


def test_the_first_slot_for_10a_follows_its_monday_events(web_client: Any) -> None:
    # Monday: Лекция по физике [10-11] 15:00-16:30 and Практикум [10А] 15:30-17:00.
    response = slots(web_client)
    assert response.status_code == 200, response.text
    body = response.get_json()
    assert body["audience"] == "10А" and body["duration_minutes"] == 90
    first = body["slots"][0]
    assert local(first["start"]) == at(0, 17, 5) and local(first["end"]) == at(0, 18, 35)
    assert first["grade"] == "green" and first["soft"] == []
    assert len(body["slots"]) == 10


def test_near_and_limit_and_another_grade(web_client: Any) -> None:
    near = at(2, 16).isoformat()
    body = slots(web_client, near=near, limit="3").get_json()
    assert [local(s["start"]) for s in body["slots"]] == [
        at(2, 16, 5),
        at(2, 15, 50),
        at(2, 16, 20),
    ]
    # Grade 9 is free from 14:30 (lessons_end) on Monday.
    nine = slots(web_client, audience="9Б", limit="1").get_json()
    assert local(nine["slots"][0]["start"]) == at(0, 14, 30)


def test_a_session_works_too_and_no_sign_in_is_401(web_client: Any) -> None:
    anonymous = web_client.get("/api/slots?audience=10А&duration=90&from=2027-02-01&to=2027-02-02")
    assert anonymous.status_code == 401
    sign_in(web_client, "bfu")
    query = {"audience": "10А", "duration": "90", "from": str(WEEK), "to": str(FRIDAY)}
    assert web_client.get("/api/slots", query_string=query).status_code == 200


@pytest.mark.parametrize(
    ("params", "ru", "en"),
    [
        ({"audience": ""}, "Аудитория", "Audience"),
        ({"audience": "кабинет 12"}, "не понята", "not understood"),
        ({"duration": "полтора"}, "Длительность", "Duration"),
        ({"duration": "0"}, "Длительность", "Duration"),
        ({"duration": "900"}, "Длительность", "Duration"),
        ({"from": "01.02.2027"}, "не дата", "is not a date"),
        ({"to": "завтра"}, "не дата", "is not a date"),
        ({"from": "2027-02-14", "to": "2027-02-01"}, "не раньше", "must not be before"),
        ({"from": "2027-01-01", "to": "2027-12-31"}, "62", "62 days"),
        ({"near": "вечером"}, "не дата и время", "not a date and time"),
        ({"limit": "0"}, "limit", "whole number"),
        ({"limit": "много"}, "limit", "whole number"),
    ],
)
def test_bad_input_is_a_400_in_both_languages(
    web_client: Any, params: dict[str, str], ru: str, en: str
) -> None:
    response = slots(web_client, **params)
    assert response.status_code == 400
    body = response.get_json()
    assert ru in body["error"] and en in body["error"]
    assert body["hint"]


def test_a_soft_clash_names_the_proposed_time_not_the_probe(web_client: Any) -> None:
    # Friday: Лабораторная работа [11А] ends 17:40 at КГТУ; БФУ from 17:50 is a short trip.
    body = slots(
        web_client,
        audience="11А",
        duration="60",
        venue="БФУ, ул. Невского, 14",
        near=f"{FRIDAY}T17:45",
        limit="1",
        **{"from": str(FRIDAY), "to": str(FRIDAY)},
    ).get_json()
    [slot] = body["slots"]
    assert slot["grade"] == "amber", slot
    [soft] = slot["soft"]
    assert "предлагаемое время" in soft["message_ru"] and "the proposed time" in soft["message_en"]
    assert "\x00" not in soft["message_ru"] + soft["message_en"]
