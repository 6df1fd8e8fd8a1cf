"""Realistic, repeatable hub data for the benchmarks: the school's calendars and N partners.

Every event is one VCALENDAR with one UID, as calendar apps store them:

- titles carry audiences the way partners write them (``[10-11]``, ``[9А, 9Б]``,
  ``[инженерный профиль]``) or none (the partner's default audience applies);
- real venues (with spelling variants the hub's aliases fold), some online;
- time zones: mostly ``Europe/Kaliningrad`` with its VTIMEZONE (made by
  ``icalendar.Timezone.from_tzid``, as clients include it), some ``Europe/Moscow`` (also
  with a VTIMEZONE), some UTC, some all-day (``VALUE=DATE``, one to three days);
- about 10% weekly series (``RRULE`` with ``COUNT`` or ``UNTIL``), a third of them with
  ``EXDATE`` s;
- spread over the school year that contains today (1 September to 31 May), so they lie in
  the hub's expansion horizon whenever the benchmark runs.

Event ``n`` of a calendar depends only on (seed, calendar id, n), so the first S events of a
calendar are the same whatever total is asked for: a calendar can be grown step by step.

Command line: writes ``OUT/<owner>/<calendar>/<uid>.ics`` (the layout of Radicale's
``collection-root``) and ``OUT/manifest.json``::

    python -m bench.generate --partners 6 --events 500 --seed 32 --out /tmp/calhub-data
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import icalendar

from calhub.demo import partners as demo_partners

DEFAULT_SEED = 32
HUB_TZ = "Europe/Kaliningrad"
DTSTAMP = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)

# Audience groups and venue aliases the titles use: the demo hub's, so both speak alike.
GROUPS = demo_partners.GROUPS
VENUE_ALIASES = demo_partners.VENUE_ALIASES


@dataclass(frozen=True, slots=True)
class CalendarSpec:
    """One hub calendar: ``role`` is school, blackout or partner (as in calhub.toml)."""

    id: str
    name: str
    role: str = "partner"
    audience: str = ""

    @property
    def owner(self) -> str:
        return "school" if self.role in ("school", "blackout") else self.id

    @property
    def slug(self) -> str:
        return "blackout" if self.role == "blackout" else "calendar"

    @property
    def path(self) -> str:
        """Path below ``collection-root`` (and below ``/dav/`` on the hub)."""
        return f"{self.owner}/{self.slug}"


SCHOOL = CalendarSpec("school", "Гимназия №32", "school")
BLACKOUT = CalendarSpec("blackout", "Гимназия №32: экзамены и каникулы", "blackout")
KNOWN_PARTNERS = (
    CalendarSpec("bfu", "БФУ им. И. Канта", audience="8-11"),
    CalendarSpec("kgtu", "КГТУ", audience="9-11"),
    CalendarSpec("ranepa", "РАНХиГС", audience="10-11"),
    CalendarSpec("kfruk", "КФ РУК", audience="9-11"),
    CalendarSpec("pedcollege", "Педагогический колледж", audience="7-11"),
    CalendarSpec("kodyutsekt", "КОДЮЦЭКТ", audience="5-9"),
)
PARTNER_AUDIENCES = ("8-11", "9-11", "10-11", "7-11", "5-9", "")


def partner_specs(count: int) -> list[CalendarSpec]:
    """The school's six real partners first, then made-up ones (``partner07`` ...)."""
    specs = list(KNOWN_PARTNERS[:count])
    for number in range(len(specs) + 1, count + 1):
        audience = PARTNER_AUDIENCES[number % len(PARTNER_AUDIENCES)]
        specs.append(CalendarSpec(f"partner{number:02d}", f"Партнёр №{number}", audience=audience))
    return specs


def hub_calendars(partners: int) -> list[CalendarSpec]:
    return [SCHOOL, BLACKOUT, *partner_specs(partners)]


def school_year(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """1 September to 31 May of the school year that contains ``today`` (or starts next)."""
    today = today or dt.date.today()
    first = today.year if today.month >= 7 else today.year - 1
    return dt.date(first, 9, 1), dt.date(first + 1, 5, 31)


TITLES = {
    "partner": (
        "Лекция по робототехнике",
        "Мастер-класс по 3D-моделированию",
        "Олимпиада по физике: отборочный тур",
        "Профориентационная встреча",
        "День открытых дверей",
        "Экскурсия в лабораторию",
        "Хакатон «Умный город»",
        "Семинар по финансовой грамотности",
        "Практикум по химии",
        "Занятие кружка программирования",
        "Научное кафе",
        "Дебаты: экономика и общество",
        "Подготовка к олимпиаде по математике",
        "Лабораторная работа: микробиология",
        "Встреча с выпускниками",
        "Интенсив по английскому языку",
        "Мастерская журналистики",
        "Экологический квест",
    ),
    "school": (
        "Родительское собрание",
        "Классный час",
        "Консультация к ЕГЭ по математике",
        "Консультация к ОГЭ по русскому языку",
        "Школьный этап олимпиады",
        "Спортивные соревнования",
        "Концерт",
        "Линейка",
        "Пробное тестирование",
        "Педсовет",
    ),
}
AUDIENCE_TAGS = (
    "[10-11]",
    "[9-11]",
    "[8-9]",
    "[11]",
    "[10]",
    "[9А, 9Б]",
    "[10А]",
    "[11Б, 11В]",
    "[7А, 7Б, 7В]",
    "[5-6]",
    "[инженерный профиль]",
    "[социально-экономический профиль]",
    "[естественно-научный профиль]",
)
VENUES = {
    "bfu": ("БФУ, ул. Невского 14, ауд. 231", "БФУ, корпус 2, ауд. 105", "Технопарк БФУ"),
    "kgtu": ("КГТУ, Советский пр. 1, корп. 2", "КГТУ, лабораторный корпус"),
    "ranepa": ("РАНХиГС, ул. Артиллерийская 62",),
    "kfruk": ("КФ РУК, ул. Ген. Толстикова 1",),
    "pedcollege": ("Педагогический колледж, ул. Чайковского 48",),
    "kodyutsekt": ("КОДЮЦЭКТ, ул. Пугачёва 12", "Парк Южный, вход с ул. Пугачёва"),
    "school": ("Актовый зал гимназии", "актовый зал", "Спортзал", "Гимназия, каб. 12"),
    "common": (
        "Актовый зал гимназии",
        "гимназия, актовый зал",
        "Кванториум, пр. Мира 9",
        "Библиотека им. Чехова",
        "Онлайн (Zoom)",
        "https://telemost.yandex.ru/j/123456",
    ),
}
DURATIONS = (45, 60, 60, 90, 90, 120, 180)


@functools.cache
def vtimezone(tzid: str) -> str:
    """The VTIMEZONE text of ``tzid`` (serialised once: it is the same in every object)."""
    return icalendar.Timezone.from_tzid(tzid).to_ical().decode()


def vcalendar(event: icalendar.Event, tzids: Sequence[str] = ()) -> str:
    """One VCALENDAR: the VTIMEZONEs the event uses, then the event."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calhub bench//generate.py//RU\r\n"
        + "".join(vtimezone(tzid) for tzid in tzids)
        + event.to_ical().decode()
        + "END:VCALENDAR\r\n"
    )


@dataclass(frozen=True, slots=True)
class GeneratedEvent:
    calendar: str
    uid: str
    text: str
    recurring: bool
    kind: str  # kaliningrad | moscow | utc | allday

    @property
    def href(self) -> str:
        return f"{self.uid}.ics"


class EventFactory:
    """Event ``n`` of one calendar, deterministic in (seed, calendar, n)."""

    def __init__(
        self,
        calendar: CalendarSpec,
        seed: int = DEFAULT_SEED,
        year: tuple[dt.date, dt.date] | None = None,
        recurring_share: float = 0.10,
    ) -> None:
        self.calendar = calendar
        self.seed = seed
        self.year = year or school_year()
        self.days = (self.year[1] - self.year[0]).days + 1
        self.recurring_share = recurring_share
        self.titles = TITLES["school" if calendar.role == "school" else "partner"]
        own = VENUES.get(calendar.owner if calendar.role != "partner" else calendar.id, ())
        self.venues = (*own, *own, *VENUES["common"])

    def uid(self, n: int) -> str:
        return f"{self.calendar.id}-{n:06d}-s{self.seed}@bench.calhub.example"

    def event(self, n: int, version: int = 0) -> GeneratedEvent:
        """Event ``n``; ``version`` > 0 gives the same UID with another title and time."""
        rng = random.Random(f"{self.seed}:{self.calendar.id}:{n}:{version}")
        uid = self.uid(n)
        title = rng.choice(self.titles)
        if rng.random() < 0.65:
            title = f"{title} {rng.choice(AUDIENCE_TAGS)}"
        if version:
            title = f"{title} (перенос {version})"
        day = self.year[0] + dt.timedelta(days=rng.randrange(self.days))
        if day.weekday() == 6:  # nothing on Sundays
            day += dt.timedelta(days=1)
        roll = rng.random()
        kind = (
            "kaliningrad"
            if roll < 0.65
            else "moscow"
            if roll < 0.80
            else "utc"
            if roll < 0.92
            else "allday"
        )
        recurring = kind != "allday" and rng.random() < self.recurring_share / 0.92
        event = icalendar.Event()
        event.add("uid", uid)
        event.add("dtstamp", DTSTAMP)
        event.add("summary", title)
        event.add("location", rng.choice(self.venues))
        if rng.random() < 0.3:
            event.add("description", "Запись у классного руководителя. Сменная обувь.")
        timezones: list[str] = []
        if kind == "allday":
            event.add("dtstart", day)
            event.add("dtend", day + dt.timedelta(days=rng.choice((1, 1, 1, 2, 3))))
            event.add("transp", "TRANSPARENT" if rng.random() < 0.3 else "OPAQUE")
        else:
            minutes = 8 * 60 + 15 * rng.randrange(44)  # 08:00 .. 18:45 Kaliningrad time
            local = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60))
            duration = dt.timedelta(minutes=rng.choice(DURATIONS))
            start = self._in_zone(local, kind)
            if kind in ("kaliningrad", "moscow"):
                timezones.append(str(start.tzinfo))
            event.add("dtstart", start)
            event.add("dtend", start + duration)
            weeks_left = (self.year[1] - day).days // 7 + 1
            if recurring and weeks_left >= 4:
                self._add_rule(event, rng, start, weeks_left)
            else:
                recurring = False
        return GeneratedEvent(self.calendar.id, uid, vcalendar(event, timezones), recurring, kind)

    @staticmethod
    def _in_zone(local_kaliningrad: dt.datetime, kind: str) -> dt.datetime:
        from zoneinfo import ZoneInfo

        moment = local_kaliningrad.replace(tzinfo=ZoneInfo(HUB_TZ))
        if kind == "moscow":
            return moment.astimezone(ZoneInfo("Europe/Moscow"))
        if kind == "utc":
            return moment.astimezone(dt.UTC)
        return moment

    def _add_rule(
        self, event: icalendar.Event, rng: random.Random, start: dt.datetime, weeks_left: int
    ) -> None:
        weeks = rng.randint(4, min(16, weeks_left))
        if rng.random() < 0.6:
            event.add("rrule", {"freq": "weekly", "count": weeks})
        else:
            until = (start + dt.timedelta(weeks=weeks - 1, hours=23)).astimezone(dt.UTC)
            event.add("rrule", {"freq": "weekly", "until": until})
        if rng.random() < 0.33:
            for week in sorted(rng.sample(range(1, weeks), k=min(2, weeks - 1))):
                event.add("exdate", start + dt.timedelta(weeks=week))

    def events(self, start: int, count: int) -> Iterator[GeneratedEvent]:
        for n in range(start, start + count):
            yield self.event(n)


def blackout_events(seed: int = DEFAULT_SEED, year: tuple[dt.date, dt.date] | None = None):
    """Holidays and exam days of the school year, all-day, as the school enters them."""
    first, last = year or school_year()
    y0, y1 = first.year, last.year
    periods = [
        ("Осенние каникулы", dt.date(y0, 10, 26), dt.date(y0, 11, 4), ""),
        ("Зимние каникулы", dt.date(y0, 12, 29), dt.date(y1, 1, 11), ""),
        ("Весенние каникулы", dt.date(y1, 3, 23), dt.date(y1, 3, 31), ""),
        ("Пробный ЕГЭ по математике", dt.date(y1, 2, 12), dt.date(y1, 2, 12), "[11]"),
        ("Пробный ОГЭ по русскому языку", dt.date(y1, 2, 19), dt.date(y1, 2, 19), "[9]"),
        ("Всероссийские проверочные работы", dt.date(y1, 4, 14), dt.date(y1, 4, 17), "[5-8]"),
        ("ОГЭ: основной период", dt.date(y1, 5, 20), dt.date(y1, 5, 31), "[9]"),
        ("ЕГЭ: резервные дни", dt.date(y1, 5, 26), dt.date(y1, 5, 29), "[11]"),
    ]
    found = []
    for n, (title, start, end, tag) in enumerate(periods):
        uid = f"blackout-{n:06d}-s{seed}@bench.calhub.example"
        event = icalendar.Event()
        event.add("uid", uid)
        event.add("dtstamp", DTSTAMP)
        event.add("summary", f"{title} {tag}".strip())
        event.add("dtstart", start)
        event.add("dtend", end + dt.timedelta(days=1))
        found.append(GeneratedEvent("blackout", uid, vcalendar(event), False, "allday"))
    return found


def calendar_events(
    spec: CalendarSpec,
    count: int,
    seed: int = DEFAULT_SEED,
    start: int = 0,
    year: tuple[dt.date, dt.date] | None = None,
) -> list[GeneratedEvent]:
    if spec.role == "blackout":
        return blackout_events(seed, year)[start : start + count]
    return list(EventFactory(spec, seed, year).events(start, count))


def write_events(root: Path, spec: CalendarSpec, events: Sequence[GeneratedEvent]) -> None:
    """Write events as ``root/<owner>/<slug>/<uid>.ics`` (Radicale's collection layout)."""
    folder = root / spec.owner / spec.slug
    folder.mkdir(parents=True, exist_ok=True)
    for event in events:
        (folder / event.href).write_text(event.text, encoding="utf-8", newline="")


def generate(
    out: Path, partners: int, events: int, school_events: int, seed: int
) -> dict[str, int]:
    counts = {}
    year = school_year()
    for spec in hub_calendars(partners):
        wanted = {"school": school_events, "blackout": 8}.get(spec.role, events)
        found = calendar_events(spec, wanted, seed, year=year)
        write_events(out, spec, found)
        counts[spec.id] = len(found)
    manifest = {
        "seed": seed,
        "school_year": [year[0].isoformat(), year[1].isoformat()],
        "groups": GROUPS,
        "venue_aliases": VENUE_ALIASES,
        "calendars": [
            asdict(spec) | {"events": counts[spec.id]} for spec in hub_calendars(partners)
        ],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=6, help="partner calendars (%(default)s)")
    parser.add_argument("--events", type=int, default=500, help="events per partner")
    parser.add_argument("--school-events", type=int, default=200, help="school calendar events")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args(argv)
    counts = generate(args.out, args.partners, args.events, args.school_events, args.seed)
    print(f"Wrote {sum(counts.values())} events in {len(counts)} calendars to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
