"""The school's real partners (from its own report on the problem calhub solves)."""

from __future__ import annotations

from calhub.hub.settings import CalendarSettings

SCHOOL_NAME = "МАОУ гимназия №32 г. Калининграда"

SCHOOL_CALENDARS = (
    CalendarSettings(id="school", name="Гимназия №32", color="#1F6FEB", role="school"),
    CalendarSettings(
        id="blackout", name="Гимназия №32: экзамены и каникулы", color="#6E7781", role="blackout"
    ),
)

# Partner colours from calhub.hub.palette: none can be taken for the red, amber and green
# that mean clashes (БФУ was red, КГТУ green and КФ РУК amber before issue 15).
PARTNERS = (
    CalendarSettings(id="bfu", name="БФУ им. И. Канта", color="#BF3989", audience="8-11"),
    CalendarSettings(id="kgtu", name="КГТУ", color="#00A3C4", audience="9-11"),
    CalendarSettings(id="ranepa", name="РАНХиГС", color="#8250DF", audience="10-11"),
    CalendarSettings(id="kfruk", name="КФ РУК", color="#88AAFF", audience="9-11"),
    CalendarSettings(
        id="pedcollege", name="Педагогический колледж", color="#444466", audience="7-11"
    ),
    CalendarSettings(id="kodyutsekt", name="КОДЮЦЭКТ", color="#1B7C83", audience="5-9"),
)

GROUPS = {
    "инженерный профиль": "10А, 11А",
    "социально-экономический профиль": "10Б, 11Б",
    "естественно-научный профиль": "10В, 11В",
}

VENUE_ALIASES = {
    "актовый зал": "Актовый зал гимназии",
    "гимназия, актовый зал": "Актовый зал гимназии",
    "спортзал": "Спортивный зал гимназии",
}
