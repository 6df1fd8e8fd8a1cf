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
# Descriptions and joint projects (the public projects page, /public/projects) are the
# demo's own wording, after the profiles the school's report names (early profiling,
# pre-profile and profile classes).
PARTNERS = (
    CalendarSettings(
        id="bfu",
        name="БФУ им. И. Канта",
        color="#BF3989",
        audience="8-11",
        description="Балтийский федеральный университет: лекции преподавателей, олимпиадные "
        "сборы и лабораторные практикумы для 8–11 классов.",
        projects=("Инженерный класс", "Университетские субботы", "Олимпиадные сборы по физике"),
    ),
    CalendarSettings(
        id="kgtu",
        name="КГТУ",
        color="#00A3C4",
        audience="9-11",
        description="Калининградский государственный технический университет: практикумы, "
        "экскурсии в лаборатории и на производства.",
        projects=("Морская инженерия для старшеклассников", "Робототехника"),
    ),
    CalendarSettings(
        id="ranepa",
        name="РАНХиГС",
        color="#8250DF",
        audience="10-11",
        description="Калининградский филиал РАНХиГС: экономика, право и управление для "
        "социально-экономического профиля.",
        projects=("Школа юного экономиста",),
    ),
    CalendarSettings(
        id="kfruk",
        name="КФ РУК",
        color="#88AAFF",
        audience="9-11",
        description="Калининградский филиал Российского университета кооперации: "
        "профориентация и деловые игры.",
        projects=("Деловые игры",),
    ),
    CalendarSettings(
        id="pedcollege",
        name="Педагогический колледж",
        color="#444466",
        audience="7-11",
        description="Калининградский педагогический колледж: вожатские смены и "
        "психолого-педагогический класс.",
        projects=("Психолого-педагогический класс", "Школа вожатых"),
    ),
    CalendarSettings(
        id="kodyutsekt",
        name="КОДЮЦЭКТ",
        color="#1B7C83",
        audience="5-9",
        description="Областной детско-юношеский центр экологии, краеведения и туризма: "
        "экскурсии, походы и исследовательские проекты.",
        projects=("Юные краеведы", "Экологический патруль"),
    ),
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
