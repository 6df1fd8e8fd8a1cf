"""The small report term: the fixture events of tests/reports/small_term written to a real
hub through CalDAV, the venue clash approved through the API, and the figures a person
worked out by hand from those files (docs/reports.md's definitions).

The range is March 2027 (1st–28th, Europe/Kaliningrad); ``NOW`` is after it, so every
occurrence not cancelled has been held.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from helpers import PASSWORDS, request

TERM_DIR = Path(__file__).parent / "small_term"
FIRST, LAST = dt.date(2027, 3, 1), dt.date(2027, 3, 28)
NOW = dt.datetime(2027, 4, 1, 12, tzinfo=dt.UTC)
OWNERS = {"bfu": ("bfu", "/dav/bfu/calendar/"), "kgtu": ("kgtu", "/dav/kgtu/calendar/")}
SCHOOL = ("coordinator", "/dav/school/calendar/")


def write_term(base_url: str) -> None:
    """PUT every fixture file into its calendar, as the partner (the school's: the
    coordinator), then approve the venue clash of the open day and the choir."""
    for path in sorted(TERM_DIR.glob("*.ics")):
        calendar = path.name.split("--")[0]
        login, collection = OWNERS.get(calendar, SCHOOL)
        answer = request(
            base_url,
            "PUT",
            f"{collection}{path.stem}.ics",
            login,
            PASSWORDS[login],
            body=path.read_bytes(),
            headers={"Content-Type": "text/calendar; charset=utf-8"},
        )
        assert answer.status in (201, 204), (path.name, answer.status, answer.text)
    listing = request(base_url, "GET", "/api/conflicts", "coordinator", PASSWORDS["coordinator"])
    assert listing.status == 200, listing.text
    records = json.loads(listing.text)
    records = records["conflicts"] if isinstance(records, dict) else records
    venue = [r for r in records if r["rule"] == "venue"]
    assert len(venue) == 1, records
    approved = request(
        base_url,
        "POST",
        f"/api/conflicts/{venue[0]['id']}/approve",
        "coordinator",
        PASSWORDS["coordinator"],
        body=json.dumps({"comment": "Хор переходит в кабинет музыки"}),
        headers={"Content-Type": "application/json"},
    )
    assert approved.status == 200, approved.text


@dataclass(frozen=True)
class Answer:
    """A feedback answer as the feedback store gives it."""

    calendar: str
    uid: str
    occurrence: dt.datetime
    rating: int
    recommend: bool | None


class ListOfAnswers:
    """A ratings source over a list, as the feedback store's ``answers_between``."""

    def __init__(self, answers: list[Answer]) -> None:
        self.answers = answers

    def answers_between(self, start: dt.datetime, end: dt.datetime) -> list[Answer]:
        return [a for a in self.answers if start <= a.occurrence < end]


LECTURE_1 = dt.datetime(2027, 3, 2, 13, tzinfo=dt.UTC)
ROBOTICS = dt.datetime(2027, 3, 18, 13, tzinfo=dt.UTC)
ANSWERS = [
    Answer("bfu", "report-lecture@test", LECTURE_1, 5, True),
    Answer("bfu", "report-lecture@test", LECTURE_1, 4, True),
    Answer("bfu", "report-lecture@test", LECTURE_1, 2, False),
    Answer("bfu", "report-lecture@test", LECTURE_1, 5, None),
    Answer("kgtu", "report-robotics@test", ROBOTICS, 3, False),
    # About the fifth lecture (30 March): outside the range, not counted.
    Answer("bfu", "report-lecture@test", dt.datetime(2027, 3, 30, 13, tzinfo=dt.UTC), 1, False),
]

# Worked out by hand from the files (see the module docstring of test_report_small_term).
EXPECTED_PARTNERS = {
    # partner: events, cancelled, hours, grades, audience, classes, changed late,
    #          published on time, clashes found / open / approved / settled before
    "school": (2, 0, 2.0, [5, 6, 7], "5–7", 0, 0, 2, (1, 0, 1, 1)),
    "bfu": (5, 1, 9.5, [9, 10, 11], "9, 10А, 10Б, 11", 2, 1, 4, (2, 1, 1, 1)),
    "kgtu": (2, 1, 2.0, [9, 10], "9–10", 0, 1, 2, (1, 1, 0, 0)),
}
# grade: events, cancelled, hours, partners, classes, clashes, open clashes
EXPECTED_GRADES = {
    1: (0, 0, 0.0, [], [], 0, 0),
    5: (2, 0, 2.0, ["school"], [], 1, 0),
    6: (1, 0, 1.0, ["school"], [], 0, 0),
    7: (1, 0, 1.0, ["school"], [], 0, 0),
    8: (0, 1, 0.0, [], [], 0, 0),
    9: (2, 0, 4.0, ["bfu", "kgtu"], [], 1, 1),
    10: (4, 1, 4.5, ["bfu", "kgtu"], ["10А", "10Б"], 0, 0),
    11: (1, 0, 3.0, ["bfu"], [], 1, 0),
}
