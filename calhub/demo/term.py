"""A deterministic demo term: about 150 events of the gymnasium and its partners.

``demo_events(start)`` lays the catalogue out over twelve weeks from ``start``. The pinned
events (blackout periods and the clashes shown on purpose) go first; every other template
is then put on the first slot, in a seeded random order, that a deliberately stricter
version of the clash rules accepts. So the red clashes a coordinator sees in the demo are
exactly the intended ones, whatever the date, and ``plan_term`` reports them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import logging
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone

from calhub.demo import catalogue as cat
from calhub.demo.partners import GROUPS, PARTNERS, SCHOOL_CALENDARS, VENUE_ALIASES

logger = logging.getLogger(__name__)

DEMO_SEED = 32
TERM_WEEKS = 12
# The engine's default overload limit. The other margins are wider than its defaults
# (travel 30 min, duplicates: equal titles on one day), so free events stay clear of the
# rules even when a school tunes them.
MAX_PER_WEEK = 5
SAFE_GAP = dt.timedelta(minutes=90)
DUPLICATE_WINDOW_DAYS = 1
SIMILAR_TITLES = 0.85
MAX_SKIPPED = 2  # dates a series may drop for days off and exams

Audience = frozenset[tuple[int, str]]  # (grade, class letter); "" is the whole grade
WHOLE_SCHOOL: Audience = frozenset((grade, "") for grade in range(1, 12))
_LATIN_LOOKALIKES = str.maketrans("ABCEHKMOPTX", "АВСЕНКМОРТХ")


@functools.cache
def parse_audience(text: str) -> Audience:
    """The catalogue's own audience texts (not user input: the engine has the real parser)."""
    found: set[tuple[int, str]] = set()
    for piece in re.split(r"[,;]", text):
        piece = piece.strip()
        if piece.lower() in GROUPS:
            found |= parse_audience(GROUPS[piece.lower()])
        elif match := re.fullmatch(r"(\d{1,2})\s*-\s*(\d{1,2})", piece):
            found |= {(grade, "") for grade in range(int(match[1]), int(match[2]) + 1)}
        elif match := re.fullmatch(r"(\d{1,2})\s*([^\W\d_])", piece):
            found.add((int(match[1]), match[2].upper().translate(_LATIN_LOOKALIKES)))
        elif piece.isdigit():
            found.add((int(piece), ""))
        else:
            raise ValueError(f"catalogue audience {text!r} is not understood")
    return frozenset(found)


DEFAULT_AUDIENCE: dict[str, Audience] = {
    c.id: parse_audience(c.audience) if c.audience else WHOLE_SCHOOL
    for c in (*SCHOOL_CALENDARS, *PARTNERS)
}


def overlaps(a: Audience, b: Audience) -> bool:
    return any(
        grade == other and (not letter or not other_letter or letter == other_letter)
        for grade, letter in a
        for other, other_letter in b
    )


@functools.cache
def site(venue: str | None) -> str:
    """A venue reduced to its building, so near-misses count as the same place."""
    if not venue:
        return ""
    name = " ".join(venue.casefold().split())
    name = VENUE_ALIASES.get(name, name).casefold()
    return "гимназия" if "гимназ" in name else name.split(",")[0]


@functools.cache
def comparable_title(title: str) -> str:
    title = re.sub(r"\[[^\]]*\]", " ", title.casefold().replace("ё", "е"))
    return " ".join(re.sub(r"[^\w\s]", " ", title).split())


@dataclass(frozen=True, slots=True)
class Slot:
    """One occurrence as the stricter rules see it, in hub-local time."""

    uid: str
    start: dt.datetime
    end: dt.datetime
    audience: Audience
    title: str
    site: str
    blackout: bool
    counted: bool  # whether it counts towards overload (cancelled, transparent do not)

    @property
    def days(self) -> list[dt.date]:
        first, last = self.start.date(), (self.end - dt.timedelta(seconds=1)).date()
        return (
            [first]
            if first == last
            else [first + dt.timedelta(n) for n in range((last - first).days + 1)]
        )


Conflict = tuple[str, frozenset[str]]


def _pair_rules(a: Slot, b: Slot) -> Iterator[str]:
    if a.uid == b.uid:
        return
    same_day = bool(set(a.days) & set(b.days))
    related = overlaps(a.audience, b.audience)
    concurrent = a.start < b.end and b.start < a.end
    if a.blackout or b.blackout:
        if a.blackout != b.blackout and concurrent and related:
            yield "blackout"
        return
    if concurrent and related:
        yield "audience"
    if concurrent and a.site and a.site == b.site:
        yield "venue"
    if (
        related
        and same_day
        and not concurrent
        and max(a.start, b.start) - min(a.end, b.end) < SAFE_GAP
    ):
        yield "travel"
    if abs((a.start.date() - b.start.date()).days) <= DUPLICATE_WINDOW_DAYS:
        similar = difflib.SequenceMatcher(None, a.title, b.title)
        if similar.quick_ratio() >= SIMILAR_TITLES and similar.ratio() >= SIMILAR_TITLES:
            yield "duplicate"


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(day.weekday())


class Planner:
    """Placed occurrences, indexed by day, with per-grade weekly counts."""

    def __init__(self) -> None:
        self._by_day: dict[dt.date, list[Slot]] = defaultdict(list)
        self._week_load: dict[tuple[int, dt.date], list[str]] = defaultdict(list)

    def _near(self, slot: Slot) -> Iterator[Slot]:
        days = slot.days
        first = days[0] - dt.timedelta(DUPLICATE_WINDOW_DAYS)
        seen: set[int] = set()
        for offset in range((days[-1] - first).days + DUPLICATE_WINDOW_DAYS + 1):
            for other in self._by_day.get(first + dt.timedelta(offset), ()):
                if id(other) not in seen:
                    seen.add(id(other))
                    yield other

    @staticmethod
    def _load_keys(slot: Slot) -> set[tuple[int, dt.date]]:
        if not slot.counted:
            return set()
        return {(grade, _monday(day)) for day in slot.days for grade, _ in slot.audience}

    def pressure(self, slots: Sequence[Slot]) -> int:
        """How full the fullest grade-week these slots touch already is."""
        keys = set().union(*(self._load_keys(slot) for slot in slots))
        return max((len(self._week_load.get(key, ())) for key in keys), default=0)

    def fits(self, slots: Sequence[Slot]) -> bool:
        added: dict[tuple[int, dt.date], int] = defaultdict(int)
        for slot in slots:
            for key in self._load_keys(slot):
                added[key] += 1
        if any(len(self._week_load.get(key, ())) + n > MAX_PER_WEEK for key, n in added.items()):
            return False
        return not any(
            next(_pair_rules(slot, other), None) for slot in slots for other in self._near(slot)
        )

    def add(self, slots: Iterable[Slot]) -> None:
        for slot in slots:
            for day in slot.days:
                self._by_day[day].append(slot)
            for key in self._load_keys(slot):
                self._week_load[key].append(slot.uid)

    def blacked_out(self, start: dt.datetime, end: dt.datetime, audience: Audience) -> bool:
        return any(
            other.blackout and other.start < end and start < other.end
            for other in self._by_day.get(start.date(), ())
            if overlaps(audience, other.audience)
        )

    def week_uids(self, grade: int, week: dt.date) -> frozenset[str]:
        return frozenset(self._week_load.get((grade, week), ()))

    def audit(self) -> list[Conflict]:
        """Every conflict the stricter rules see among everything placed."""
        found: set[Conflict] = set()
        for day_slots in list(self._by_day.values()):
            for slot in day_slots:
                for other in self._near(slot):
                    found |= {
                        (rule, frozenset({slot.uid, other.uid}))
                        for rule in _pair_rules(slot, other)
                    }
        for (grade, _), uids in self._week_load.items():
            if len(uids) > MAX_PER_WEEK and 5 <= grade <= 11:
                found.add(("overload", frozenset(uids)))
        return sorted(found, key=lambda c: (c[0], sorted(c[1])))


@dataclass(frozen=True, slots=True)
class IntendedClash:
    rule: str
    what: str
    day: dt.date
    uids: frozenset[str]


@dataclass(frozen=True, slots=True)
class Placement:
    uid: str
    template: cat.Template
    occurrences: tuple[tuple[dt.datetime, dt.datetime], ...]  # as they happen, hub-local
    start: dt.datetime  # DTSTART of the master
    end: dt.datetime
    rrule: dict[str, object] | None = None
    exdates: tuple[dt.datetime, ...] = ()
    moved: tuple[dt.datetime, dt.datetime] | None = None  # (RECURRENCE-ID, new start)


@dataclass(frozen=True, slots=True)
class Term:
    start: dt.date
    end: dt.date  # exclusive
    events: dict[str, list[str]]
    intended: tuple[IntendedClash, ...]
    stray: tuple[Conflict, ...]  # conflicts outside the intended ones: must stay empty
    unplaced: tuple[str, ...]


class _Frame:
    """The term's calendar: weeks, holidays, days off, and where things may go."""

    def __init__(self, start: dt.date, tz: ZoneInfo) -> None:
        self.tz = tz
        self.start = start
        self.end = start + dt.timedelta(weeks=TERM_WEEKS)
        self.holiday_start, self.holiday_end, self.holiday_title = self._holidays()
        weeks = [start + dt.timedelta(weeks=n) for n in range(TERM_WEEKS)]
        self.teaching = [w for w in weeks if not self.holiday_start <= w < self.holiday_end]
        # Pinned events go to weeks without public holidays first, so a pinned day never
        # has to move and bump into another pinned event.
        clean = [
            w for w in self.teaching if not any(self.day_off(w + dt.timedelta(d)) for d in range(6))
        ]
        self.pinnable = clean + [w for w in self.teaching if w not in clean]

    def _holidays(self) -> tuple[dt.date, dt.date, str]:
        # Winter holidays: the two weeks from the Monday before 29 December, when in term.
        for year in (self.start.year - 1, self.start.year):
            winter = _monday(dt.date(year, 12, 29))
            first = max(winter, self.start)
            last = min(winter + dt.timedelta(weeks=2), self.end)
            if (last - first).days >= 7:
                return first, last, "Зимние каникулы"
        first = self.start + dt.timedelta(weeks=6)
        season = {12: "Зимние", 1: "Зимние", 2: "Зимние", 3: "Весенние", 4: "Весенние"}
        name = season.get(first.month, "Осенние" if first.month >= 9 else "Летние")
        return first, first + dt.timedelta(weeks=1), f"{name} каникулы"

    def day_off(self, day: dt.date) -> bool:
        return (
            (day.month, day.day) in cat.PUBLIC_HOLIDAYS
            or self.holiday_start <= day < self.holiday_end
            or day.weekday() == 6
        )

    def pin(self, week: int, weekday: int) -> dt.date:
        """``weekday`` of a teaching week (or of the holidays), dodging public holidays."""
        monday = self.holiday_start if week == cat.HOLIDAYS else self.pinnable[week]
        for shift in (0, -1, 1, -2, 2):
            day = monday + dt.timedelta(weekday + shift)
            if 0 <= weekday + shift <= 5 and ((day.month, day.day) not in cat.PUBLIC_HOLIDAYS):
                return day
        return monday + dt.timedelta(weekday)

    def at(self, day: dt.date, clock: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, clock, tzinfo=self.tz)

    def candidate_days(self, kind: str) -> list[dt.date]:
        wanted = (5,) if kind in (cat.SATURDAY, cat.ALLDAY, cat.WEEKEND) else (0, 1, 2, 3, 4)
        days = [self.start + dt.timedelta(n) for n in range((self.end - self.start).days)]
        return [d for d in days if d.weekday() in wanted and not self.day_off(d)]


@functools.cache
def _times(kind: str, minutes: int) -> tuple[dt.time | None, ...]:
    """Start times of a template of this kind and length; None for all-day."""
    if kind in (cat.ALLDAY, cat.WEEKEND):
        return (None,)
    latest = dt.datetime.combine(dt.date.min, cat.LATEST_END[kind]) - dt.timedelta(minutes=minutes)
    starts = (dt.time.fromisoformat(t) for t in cat.START_TIMES[kind])
    return tuple(t for t in starts if t <= latest.time())


def _span(
    frame: _Frame, tpl: cat.Template, day: dt.date, clock: dt.time | None
) -> tuple[dt.datetime, dt.datetime]:
    if clock is None:
        start = frame.at(day, dt.time())
        return start, frame.at(day + dt.timedelta(tpl.days), dt.time())
    start = frame.at(day, clock)
    return start, start + dt.timedelta(minutes=tpl.minutes)


def _place(
    frame: _Frame,
    uid: str,
    tpl: cat.Template,
    day: dt.date,
    clock: dt.time | None,
    weekly: cat.Weekly | None = None,
    move_to: dt.date | None = None,
    blocked: Callable[[dt.datetime, dt.datetime], bool] | None = None,
) -> Placement | None:
    """Where ``tpl`` lands if it starts on ``day``; None if its series cannot fit the term.

    A series skips (EXDATE) days off and, through ``blocked``, exam and holiday periods of
    its audience, as a partner who looked at the school's calendar would.
    """
    weekly = weekly or tpl.weekly
    start, end = _span(frame, tpl, day, clock)
    if weekly is None:
        return Placement(uid, tpl, ((start, end),), start, end)
    weekdays = [("MO", "TU", "WE", "TH", "FR", "SA").index(d) for d in weekly.byday] or [
        day.weekday()
    ]
    if day.weekday() not in weekdays:
        return None  # DTSTART always counts as an occurrence, so it must match BYDAY
    dates: list[dt.date] = []
    week = _monday(day)
    while len(dates) < weekly.count:
        dates += [week + dt.timedelta(wd) for wd in weekdays if week + dt.timedelta(wd) >= day][
            : weekly.count - len(dates)
        ]
        week += dt.timedelta(weeks=weekly.interval)
    if dates[-1] >= frame.end:
        return None
    length = end - start
    if dates[0] >= frame.end or (blocked and blocked(start, end)):
        return None
    exdates, occurrences, moved = [], [], None
    for index, date in enumerate(dates):
        when = frame.at(date, clock or dt.time())
        if (
            index == weekly.skip
            or frame.day_off(date)
            or (blocked and blocked(when, when + length))
        ):
            exdates.append(when)
        elif index == weekly.move:
            target = move_to or date + dt.timedelta(1)
            if frame.day_off(target) or target >= frame.end:
                return None
            new_start = frame.at(target, when.time())
            moved = (when, new_start)
            occurrences.append((new_start, new_start + length))
        else:
            occurrences.append((when, when + length))
    if len(exdates) - (weekly.skip is not None) > MAX_SKIPPED:
        return None
    rule: dict[str, object] = {"freq": "weekly"}
    if weekly.interval > 1:
        rule["interval"] = weekly.interval
    if weekly.byday:
        rule["byday"] = list(weekly.byday)
    if weekly.until:
        rule["until"] = frame.at(dates[-1], clock or dt.time()).astimezone(dt.UTC)
    else:
        rule["count"] = weekly.count
    return Placement(uid, tpl, tuple(occurrences), start, end, rule, tuple(exdates), moved)


def _slots(placement: Placement) -> list[Slot]:
    tpl = placement.template
    audience = _audience(tpl)
    title, where = comparable_title(tpl.title), site(tpl.venue)
    blackout = tpl.calendar == "blackout"
    counted = not (blackout or tpl.cancelled or tpl.transparent)
    return [
        Slot(placement.uid, s, e, audience, title, where, blackout, counted)
        for s, e in placement.occurrences
    ]


def _numbered() -> list[tuple[str, cat.Template, cat.Fixed | None]]:
    """Catalogue order decides the UIDs, so they stay put whatever the start date."""
    seen: dict[str, int] = defaultdict(int)
    out: list[tuple[str, cat.Template, cat.Fixed | None]] = []
    items = [(f.template, f) for f in cat.FIXED] + [(t, None) for t in cat.FREE]
    for tpl, fixed in items:
        seen[tpl.calendar] += 1
        out.append((f"demo-{tpl.calendar}-{seen[tpl.calendar]}@calhub", tpl, fixed))
    return out


def _place_fixed(
    frame: _Frame, planner: Planner, uid: str, fixed: cat.Fixed
) -> tuple[Placement, dt.date]:
    tpl, day, weekly, move_to = fixed.template, frame.pin(fixed.week, fixed.weekday), None, None
    if fixed.week == cat.HOLIDAYS and fixed.at is None:
        span = (frame.holiday_end - frame.holiday_start).days
        tpl, day = replace(tpl, title=frame.holiday_title, days=span), frame.holiday_start
    if fixed.until_week is not None and fixed.moved_week is not None:
        weeks_to = (frame.pinnable[fixed.until_week] - _monday(day)).days // 7
        move_to = frame.pin(fixed.moved_week, fixed.weekday - 1)
        moved = (_monday(move_to) - _monday(day)).days // 7
        weekly = cat.Weekly(weeks_to + 1, until=True, move=moved)
    audience = _audience(tpl)
    placement = _place(
        frame,
        uid,
        tpl,
        day,
        fixed.at,
        weekly,
        move_to,
        lambda start, end: planner.blacked_out(start, end, audience),
    )
    if placement is None:
        raise RuntimeError(f"pinned event {uid} does not fit the term")
    return placement, move_to or day


def _audience(tpl: cat.Template) -> Audience:
    return parse_audience(tpl.audience) if tpl.audience else DEFAULT_AUDIENCE[tpl.calendar]


def _breadth(tpl: cat.Template) -> int:
    return len({grade for grade, _ in _audience(tpl)})


def _place_free(
    frame: _Frame, planner: Planner, rng: random.Random, uid: str, tpl: cat.Template
) -> Placement | None:
    """Put ``tpl`` on the first slot, least crowded weeks first, that breaks no rule."""
    options = [
        (d, t) for d in frame.candidate_days(tpl.kind) for t in _times(tpl.kind, tpl.minutes)
    ]
    rng.shuffle(options)
    audience = _audience(tpl)

    def blocked(start: dt.datetime, end: dt.datetime) -> bool:
        return planner.blacked_out(start, end, audience)

    candidates = [
        (c, _slots(c))
        for day, clock in options
        if (c := _place(frame, uid, tpl, day, clock, blocked=blocked)) is not None
    ]
    # The stable sort keeps the shuffle among equals; crowding first spreads the little room
    # grades 9-11 have over the whole term instead of using it up in the first weeks.
    for placement, slots in sorted(candidates, key=lambda pair: planner.pressure(pair[1])):
        if planner.fits(slots):
            planner.add(slots)
            return placement
    return None


def plan_term(start: dt.date, tz: str = "Europe/Kaliningrad") -> Term:
    """The demo term with what it is meant to show; ``demo_events`` returns its events."""
    if start.weekday() != 0:
        raise ValueError(f"the term starts on a Monday, not on {start:%A %Y-%m-%d}")
    rng = random.Random(DEMO_SEED)  # noqa: S311 - a demo needs repeatability, not secrecy
    frame, planner = _Frame(start, ZoneInfo(tz)), Planner()
    placements: list[Placement] = []
    scenario_uids: dict[str, set[str]] = defaultdict(set)
    scenario_day: dict[str, dt.date] = {}
    free: list[tuple[str, cat.Template]] = []
    for uid, tpl, fixed in _numbered():
        if fixed is None:
            free.append((uid, tpl))
            continue
        placement, day = _place_fixed(frame, planner, uid, fixed)
        planner.add(_slots(placement))
        placements.append(placement)
        if fixed.scenario:
            scenario_uids[fixed.scenario].add(uid)
            scenario_day[fixed.scenario] = max(day, scenario_day.get(fixed.scenario, day))
    # Series and wide audiences first: they are the hardest to fit around the rest.
    free.sort(key=lambda item: (item[1].weekly is None, -_breadth(item[1])))
    unplaced: list[str] = []
    for uid, tpl in free:
        placed = _place_free(frame, planner, rng, uid, tpl)
        if placed is None:
            unplaced.append(uid)
            logger.warning("demo term: no free slot for %s (%s)", uid, tpl.title)
        else:
            placements.append(placed)
    overload_week = _monday(scenario_day["overload"])
    scenario_uids["overload"] = set(planner.week_uids(cat.OVERLOAD_GRADE, overload_week))
    intended = tuple(
        IntendedClash(
            cat.SCENARIOS[sid].rule, cat.SCENARIOS[sid].what, scenario_day[sid], frozenset(uids)
        )
        for sid, uids in scenario_uids.items()
    )
    found = planner.audit()
    stray = tuple(c for c in found if not any(c[1] <= clash.uids for clash in intended))
    if stray:
        logger.warning("demo term from %s has unintended conflicts: %s", start, stray)
    return Term(
        start, frame.end, _render_all(frame, placements, rng), intended, stray, tuple(unplaced)
    )


def demo_events(start: dt.date, tz: str = "Europe/Kaliningrad") -> dict[str, list[str]]:
    """calendar id -> list of iCalendar texts, one VCALENDAR per event UID (a master plus
    optional RECURRENCE-ID overrides, with a VTIMEZONE)."""
    return plan_term(start, tz).events


def intended_clashes(start: dt.date, tz: str = "Europe/Kaliningrad") -> tuple[IntendedClash, ...]:
    return plan_term(start, tz).intended


def count_events(events: dict[str, list[str]]) -> int:
    """Events as a person counts them: a recurring series with its overrides is one."""
    return len(
        {
            (calendar, str(component["UID"]))
            for calendar, texts in events.items()
            for text in texts
            for component in Calendar.from_ical(text).walk("VEVENT")
        }
    )


def _style(tpl: cat.Template, rng: random.Random) -> str:
    if tpl.audience is None or "[" in tpl.title:
        return ""
    if tpl.style:
        return tpl.style
    simple = "-" not in tpl.audience and tpl.audience.lower() not in GROUPS
    roll = rng.random()
    if simple and roll < 0.15:
        return cat.CATEGORIES
    return cat.DESCRIPTION if roll < 0.27 else cat.TAG


def _render_all(
    frame: _Frame, placements: list[Placement], rng: random.Random
) -> dict[str, list[str]]:
    stamp = dt.datetime.combine(frame.start - dt.timedelta(weeks=4), dt.time(9), tzinfo=dt.UTC)
    zones: dict[str, Timezone] = {}

    def zone(tzid: str) -> Timezone:
        if tzid not in zones:
            first, last = frame.start - dt.timedelta(7), frame.end + dt.timedelta(7)
            zones[tzid] = Timezone.from_tzid(tzid, first_date=first, last_date=last)
        return zones[tzid]

    events: dict[str, list[str]] = {c.id: [] for c in (*SCHOOL_CALENDARS, *PARTNERS)}
    order = {uid: n for n, (uid, _, _) in enumerate(_numbered())}
    # Styles are drawn in catalogue order so they do not depend on the placement order.
    styles = {uid: (_style(tpl, rng), rng.random() < 0.3) for uid, tpl, _ in _numbered()}
    for placement in sorted(placements, key=lambda p: order[p.uid]):
        calendar = Calendar()
        calendar.add("prodid", "-//calhub//demo term//RU")
        calendar.add("version", "2.0")
        tzids = {frame.tz.key} | ({placement.template.tz} - {"", cat.UTC})
        for tzid in sorted(tzids):
            calendar.add_component(zone(tzid))
        for component in _components(frame, placement, stamp, *styles[placement.uid]):
            calendar.add_component(component)
        events[placement.template.calendar].append(calendar.to_ical().decode("utf-8"))
    return events


def _components(
    frame: _Frame, placement: Placement, stamp: dt.datetime, style: str, tag_first: bool
) -> list[Event]:
    tpl = placement.template
    zone = frame.tz if not tpl.tz else dt.UTC if tpl.tz == cat.UTC else ZoneInfo(tpl.tz)
    all_day = tpl.kind in (cat.ALLDAY, cat.WEEKEND)

    def when(moment: dt.datetime) -> dt.date | dt.datetime:
        return moment.date() if all_day else moment.astimezone(zone)

    audience = tpl.audience or ""
    summary = tpl.title
    if style == cat.TAG:
        summary = f"[{audience}] {tpl.title}" if tag_first else f"{tpl.title} [{audience}]"
    lines = [tpl.about] + ([f"Классы: {audience}"] if style == cat.DESCRIPTION else [])
    lines.append(cat.CONTACTS[tpl.calendar])

    def event(start: dt.datetime, end: dt.datetime, note: str = "") -> Event:
        component = Event()
        component.add("uid", placement.uid)
        component.add("dtstamp", stamp)
        component.add("summary", summary)
        component.add("dtstart", when(start))
        if tpl.duration and not all_day:
            component.add("duration", end - start)
        else:
            component.add("dtend", when(end))
        if tpl.venue:
            component.add("location", tpl.venue)
        component.add("description", "\n".join(([note] if note else []) + lines))
        if style == cat.CATEGORIES:
            component.add("categories", [part.strip() for part in audience.split(",")])
        if style == cat.XPROP:
            component.add("x-calhub-audience", audience)
        if tpl.cancelled:
            component.add("status", "CANCELLED")
        if tpl.transparent:
            component.add("transp", "TRANSPARENT")
        return component

    master = event(placement.start, placement.end)
    if placement.rrule:
        master.add("rrule", placement.rrule)
    if placement.exdates:
        master.add("exdate", [when(moment) for moment in placement.exdates])
    components = [master]
    if placement.moved:
        original, new_start = placement.moved
        note = f"Занятие перенесено с {original:%d.%m} на {new_start:%d.%m}."
        override = event(new_start, new_start + (placement.end - placement.start), note)
        override.add("recurrence-id", when(original))
        override.add("sequence", 1)
        components.append(override)
    return components
