"""Hypothesis strategies for the clash engine's property tests: random occurrences
round a DST change, and random rule parameters and hub time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from calhub.engine import (
    AudienceParser,
    Clash,
    EngineConfig,
    Occurrence,
    RuleSettings,
    normalise_venue,
)

BASE = datetime(2025, 3, 24, tzinfo=UTC)  # Berlin switches to summer time on 30 March
SLOT = timedelta(minutes=15)
PARSER = AudienceParser()
CALENDARS = ("bfu", "school", "blackout")
AUDIENCES = ("10", "11", "10А", "10Б", "10-11", "9", "вся школа", "11А, 9Б")
LOCATIONS = (
    "",
    "ауд. 1",
    "Аудитория 1",
    "ауд. 2",
    "Онлайн",
    "Гимназия, спортзал",
    "БФУ",
    "Технопарк",
)
TITLES = ("Олимпиада", "олимпиада [10]", "Лекция", "", "ЛЕКЦИЯ!")
ZONES = ("Europe/Kaliningrad", "Europe/Moscow", "Europe/Berlin", "UTC", "Asia/Kolkata")


@st.composite
def occurrence_sets(draw: st.DrawFn) -> list[Occurrence]:
    items = []
    for number in range(draw(st.integers(0, 24))):
        event = draw(st.integers(0, 9))
        calendar = CALENDARS[event % 3]
        # half of the starts crowd round the night Berlin changes to summer time
        crowd = 4 * 24 * 6
        start = BASE + SLOT * draw(
            st.one_of(st.integers(0, 4 * 24 * 10), st.integers(crowd - 12, crowd + 12))
        )
        slots = draw(st.sampled_from((0, 1, 2, 3, 4, 8, 96, 96 * 3)))
        all_day = slots >= 96 and draw(st.booleans())
        location = draw(st.sampled_from(LOCATIONS))
        audience = PARSER.parse(draw(st.sampled_from(AUDIENCES)))
        assert audience is not None
        items.append(
            Occurrence(
                calendar=calendar,
                uid=f"e{event}",
                recurrence_id=str(number),
                summary=draw(st.sampled_from(TITLES)),
                start=start,
                end=start + SLOT * slots,
                all_day=all_day,
                location=location,
                venue=normalise_venue(location, {}),
                audience=audience,
                audience_source="test",
                is_blackout=calendar == "blackout",
            )
        )
    return items


@st.composite
def configs(draw: st.DrawFn) -> EngineConfig:
    rules = {
        "audience": RuleSettings(params={"ignore_all_day": draw(st.booleans())}),
        "venue": RuleSettings(params={"ignore_online": draw(st.booleans())}),
        "travel": RuleSettings(
            params={
                "gap_minutes": draw(st.sampled_from((0, 15, 30, 45, 120))),
                "ignore_all_day": draw(st.booleans()),
            }
        ),
        "overload": RuleSettings(
            params={
                "max_per_week": draw(st.integers(0, 4)),
                "count_all_day": draw(st.booleans()),
            }
        ),
    }
    return EngineConfig(tz=draw(st.sampled_from(ZONES)), rules=rules)


def by_id(clashes: list[Clash]) -> dict[str, Clash]:
    result = {clash.id: clash for clash in clashes}
    assert len(result) == len(clashes), "a clash id was reported twice"
    return result
